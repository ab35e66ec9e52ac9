"""s3compat.multipart: part numbers, the multipart ETag, completion checks,
checksum types, list parameters and the ListMultipartUploads pager."""

from __future__ import annotations

import base64
import hashlib
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3compat.errors import S3Error
from s3compat.multipart import (
    MIN_PART_SIZE,
    CompletionPart,
    StoredPart,
    check_completion,
    composite_checksum,
    multipart_etag,
    page_uploads,
    parse_checksum_algorithm,
    parse_list_parts,
    parse_list_uploads,
    parse_part_number,
    resolve_checksum_type,
)


def code_of(fn, *args, **kwargs) -> str:
    with pytest.raises(S3Error) as info:
        fn(*args, **kwargs)
    return info.value.code


@pytest.mark.parametrize(("value", "number"), [("1", 1), ("10000", 10000), (" 42 ", 42)])
def test_part_numbers_in_range(value, number):
    assert parse_part_number(value) == number


@pytest.mark.parametrize("value", [None, "", "0", "10001", "-1", "1.5", "x", "\u0661"])
def test_part_numbers_out_of_range_are_invalid_argument(value):
    assert code_of(parse_part_number, value) == "InvalidArgument"


def test_multipart_etag_is_md5_of_binary_md5s_with_count():
    parts = [b"a" * 10, b"b" * 20, b"c"]
    etags = [hashlib.md5(p).hexdigest() for p in parts]
    expected = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert multipart_etag(etags) == f"{expected}-3"
    assert multipart_etag([f'"{e}"' for e in etags]) == f"{expected}-3"


def test_composite_crc32():
    values = [base64.b64encode(zlib.crc32(p).to_bytes(4, "big")).decode() for p in (b"x", b"y")]
    binary = zlib.crc32(zlib.crc32(b"x").to_bytes(4, "big") + zlib.crc32(b"y").to_bytes(4, "big"))
    assert composite_checksum("CRC32", values) == (
        base64.b64encode(binary.to_bytes(4, "big")).decode() + "-2"
    )


BIG = StoredPart(etag="a" * 32, size=MIN_PART_SIZE)
SMALL = StoredPart(etag="b" * 32, size=1)


def test_completion_returns_the_chosen_parts_in_order():
    stored = {1: BIG, 3: BIG, 4: SMALL}
    chosen = check_completion(
        [CompletionPart(1, "a" * 32), CompletionPart(4, '"' + "B" * 32 + '"')], stored
    )
    assert chosen == [BIG, SMALL]


@pytest.mark.parametrize(
    ("requested", "code"),
    [
        ([], "MalformedXML"),
        ([CompletionPart(2, "a" * 32)], "InvalidPart"),
        ([CompletionPart(1, "c" * 32)], "InvalidPart"),
        ([CompletionPart(3, "b" * 32), CompletionPart(1, "a" * 32)], "InvalidPartOrder"),
        ([CompletionPart(1, "a" * 32), CompletionPart(1, "a" * 32)], "InvalidPartOrder"),
        ([CompletionPart(3, "b" * 32), CompletionPart(4, "a" * 32)], "EntityTooSmall"),
        ([CompletionPart(1, "a" * 32, {"CRC32": "other"})], "InvalidPart"),
    ],
)
def test_completion_errors(requested, code):
    stored = {
        1: StoredPart(etag="a" * 32, size=MIN_PART_SIZE, checksums={"CRC32": "AAAAAA=="}),
        3: SMALL,
        4: BIG,
    }
    assert code_of(check_completion, requested, stored) == code


def test_checksum_algorithm_and_type():
    assert parse_checksum_algorithm(None) == ""
    assert parse_checksum_algorithm("crc32c") == "CRC32C"
    assert code_of(parse_checksum_algorithm, "md5") == "InvalidRequest"
    assert resolve_checksum_type("", None) == ""
    assert resolve_checksum_type("CRC32", None) == "COMPOSITE"
    assert resolve_checksum_type("CRC64NVME", None) == "FULL_OBJECT"
    assert resolve_checksum_type("CRC32", "full_object") == "FULL_OBJECT"
    assert code_of(resolve_checksum_type, "SHA256", "FULL_OBJECT") == "InvalidRequest"
    assert code_of(resolve_checksum_type, "CRC64NVME", "COMPOSITE") == "InvalidRequest"
    assert code_of(resolve_checksum_type, "", "COMPOSITE") == "InvalidRequest"


def test_list_parameters():
    assert parse_list_parts({}).max_parts == 1000
    params = parse_list_parts({"max-parts": "5000", "part-number-marker": "7"})
    assert (params.max_parts, params.part_number_marker) == (1000, 7)
    assert code_of(parse_list_parts, {"max-parts": "-1"}) == "InvalidArgument"
    assert code_of(parse_list_parts, {"part-number-marker": "x"}) == "InvalidArgument"
    uploads = parse_list_uploads({"upload-id-marker": "u", "max-uploads": "3"})
    assert (uploads.upload_id_marker, uploads.max_uploads) == ("", 3)  # no key-marker: ignored
    uploads = parse_list_uploads({"key-marker": "k", "upload-id-marker": "u"})
    assert (uploads.key_marker, uploads.upload_id_marker) == ("k", "u")
    assert code_of(parse_list_uploads, {"encoding-type": "base64"}) == "InvalidArgument"


KEYS = st.text(alphabet="ab/", min_size=1, max_size=4)
ENTRIES = st.lists(st.tuples(KEYS, st.text(alphabet="0123", min_size=1, max_size=2)), unique=True)


def _reference(entries, prefix, delimiter):
    """Every item of the listing in order: ("upload", entry) or ("prefix", p)."""
    items: list[tuple[str, object]] = []
    for entry in sorted(entries):
        key = entry[0]
        if not key.startswith(prefix):
            continue
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        if at >= 0:
            group = key[: at + len(delimiter)]
            if ("prefix", group) not in items:
                items.append(("prefix", group))
        else:
            items.append(("upload", entry))
    return items


@given(
    ENTRIES,
    st.sampled_from(["", "a", "b/", "a/"]),
    st.sampled_from(["", "/"]),
    st.integers(1, 4),
)
def test_paging_with_the_next_markers_lists_everything_once_in_order(
    entries, prefix, delimiter, page_size
):
    ordered = sorted(entries)
    seen: list[tuple[str, object]] = []
    key_marker = upload_id_marker = ""
    for _ in range(len(entries) + 2):
        page = page_uploads(
            ordered,
            ident=lambda e: e,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            upload_id_marker=upload_id_marker,
            max_uploads=page_size,
        )
        assert len(page.uploads) + len(page.common_prefixes) <= page_size
        seen += [("upload", u) for u in page.uploads]
        seen += [("prefix", p) for p in page.common_prefixes]
        if not page.is_truncated:
            break
        key_marker = page.next_key_marker or ""
        upload_id_marker = page.next_upload_id_marker or ""
    else:
        pytest.fail("paging did not end")
    expected = _reference(entries, prefix, delimiter)
    assert sorted(seen, key=str) == sorted(expected, key=str)
    assert len(seen) == len(expected)


def test_key_marker_alone_skips_every_upload_of_that_key():
    entries = [("a", "1"), ("a", "2"), ("b", "1")]
    page = page_uploads(entries, ident=lambda e: e, key_marker="a")
    assert page.uploads == [("b", "1")]
    page = page_uploads(entries, ident=lambda e: e, key_marker="a", upload_id_marker="1")
    assert page.uploads == [("a", "2"), ("b", "1")]
