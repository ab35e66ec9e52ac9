"""The streaming multipart/form-data parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.native.multipart import (
    MultipartError,
    MultipartParser,
    PartBegin,
    PartData,
    PartEnd,
    boundary_of,
    parse_header_params,
)

B = b"XyZ-boundary-123"


def body(*parts: tuple[bytes, bytes], preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    out = preamble
    for headers, data in parts:
        out += b"--" + B + b"\r\n" + headers + b"\r\n\r\n" + data + b"\r\n"
    return out + b"--" + B + b"--\r\n" + epilogue


def parse(data: bytes, chunks: list[int] | None = None) -> list[tuple[dict[str, str], bytes]]:
    parser = MultipartParser(B)
    events = []
    if chunks is None:
        events = parser.feed(data)
    else:
        at = 0
        for size in chunks:
            events += parser.feed(data[at : at + size])
            at += size
        events += parser.feed(data[at:])
    parser.close()
    parts: list[tuple[dict[str, str], bytes]] = []
    for event in events:
        if isinstance(event, PartBegin):
            parts.append((event.headers, b""))
        elif isinstance(event, PartData):
            parts[-1] = (parts[-1][0], parts[-1][1] + event.data)
        else:
            assert isinstance(event, PartEnd)
    return parts


FILE_HEADERS = (
    b'Content-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png'
)


def test_parses_fields_and_file_with_preamble_and_epilogue():
    data = body(
        (b'Content-Disposition: form-data; name="note"', b"hello"),
        (FILE_HEADERS, b"\x89PNG\r\n--not-the-boundary\r\n"),
        preamble=b"ignored preamble\r\n",
        epilogue=b"ignored epilogue",
    )
    parts = parse(data)
    assert [p[1] for p in parts] == [b"hello", b"\x89PNG\r\n--not-the-boundary\r\n"]
    assert parts[1][0]["content-type"] == "image/png"


def test_part_begin_carries_name_filename_and_type():
    parser = MultipartParser(B)
    events = parser.feed(body((FILE_HEADERS, b"x")))
    begin = events[0]
    assert isinstance(begin, PartBegin)
    assert (begin.name, begin.filename, begin.content_type) == ("file", "a.png", "image/png")


@given(
    content=st.binary(max_size=3000),
    cuts=st.lists(st.integers(min_value=1, max_value=97), max_size=60),
)
def test_any_chunking_gives_the_same_parts(content, cuts):
    data = body((b'Content-Disposition: form-data; name="a"', b"1"), (FILE_HEADERS, content))
    assert parse(data, cuts) == parse(data)
    assert parse(data, cuts)[1][1] == content


def test_one_byte_at_a_time():
    content = b"\r\n--XyZ-boundary-12" * 10
    data = body((FILE_HEADERS, content))
    assert parse(data, [1] * len(data))[0][1] == content


def test_data_streams_without_buffering_the_part():
    parser = MultipartParser(B)
    parser.feed(b"--" + B + b"\r\n" + FILE_HEADERS + b"\r\n\r\n")
    events = parser.feed(b"a" * 100_000)
    assert sum(len(e.data) for e in events if isinstance(e, PartData)) >= 100_000 - len(B) - 4


def test_empty_part_headers_are_allowed():
    data = b"--" + B + b"\r\n\r\ndata\r\n--" + B + b"--"
    assert parse(data) == [({}, b"data")]


def test_missing_closing_boundary_is_an_error():
    data = body((FILE_HEADERS, b"x"))[: -len(b"--" + B + b"--\r\n")]
    parser = MultipartParser(B)
    parser.feed(data)
    with pytest.raises(MultipartError):
        parser.close()


def test_no_boundary_at_all_is_an_error():
    parser = MultipartParser(B)
    parser.feed(b"just some bytes")
    with pytest.raises(MultipartError):
        parser.close()


def test_oversized_part_headers_are_refused():
    parser = MultipartParser(B, max_header_bytes=100)
    with pytest.raises(MultipartError, match="too large"):
        parser.feed(b"--" + B + b"\r\nX-Long: " + b"a" * 200)


def test_too_many_parts_are_refused():
    data = body(*[(b'Content-Disposition: form-data; name="a"', b"1")] * 5)
    parser = MultipartParser(B, max_parts=4)
    with pytest.raises(MultipartError, match="more than 4"):
        parser.feed(data)


def test_malformed_part_header_is_refused():
    with pytest.raises(MultipartError):
        MultipartParser(B).feed(b"--" + B + b"\r\nno colon here\r\n\r\nx")


def test_garbage_after_boundary_is_refused():
    with pytest.raises(MultipartError):
        MultipartParser(B).feed(b"--" + B + b"garbage\r\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('form-data; name="file"; filename="a b.png"', {"name": "file", "filename": "a b.png"}),
        ('form-data; name="f"; filename="x;y.pdf"', {"name": "f", "filename": "x;y.pdf"}),
        (r'form-data; filename="say \"hi\".gif"', {"filename": 'say "hi".gif'}),
        ("form-data; filename=plain.png", {"filename": "plain.png"}),
        (
            "form-data; filename=\"fallback.png\"; filename*=UTF-8''caf%C3%A9.png",
            {"filename": "café.png"},
        ),
    ],
)
def test_header_params(value, expected):
    main, params = parse_header_params(value)
    assert main == "form-data"
    for name, want in expected.items():
        assert params[name] == want


def test_boundary_of_accepts_quoted_and_plain():
    assert boundary_of('multipart/form-data; boundary="abc def"') == b"abc def"
    assert boundary_of("Multipart/Form-Data; boundary=abc") == b"abc"


@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "multipart/form-data", "multipart/form-data; boundary=" + "x" * 71],
)
def test_boundary_of_refuses(content_type):
    with pytest.raises(MultipartError):
        boundary_of(content_type)
