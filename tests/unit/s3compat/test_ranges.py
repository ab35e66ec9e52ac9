from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3compat.errors import S3Error
from s3compat.ranges import content_range, parse_copy_source_range, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=0-9", 10, (0, 9)),
        ("bytes=2-5", 10, (2, 5)),
        ("bytes=5-100", 10, (5, 9)),
        ("bytes=5-", 10, (5, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-30", 10, (0, 9)),
        ("Bytes=1-2", 10, (1, 2)),
        (" bytes=1-2 ", 10, (1, 2)),
        # ignored: not parseable or several ranges
        ("bytes=5-3", 10, None),
        ("bytes=-", 10, None),
        ("bytes=0-1,3-4", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes=+1-2", 10, None),
        ("bytes=1 -2", 10, None),
        ("items=0-1", 10, None),
        ("0-1", 10, None),
        ("", 10, None),
        ("bytes=1_0-20", 100, None),
        ("bytes=٣-4", 10, None),
    ],
)
def test_parse_range_table(header, size, expected):
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=10-", 10),
        ("bytes=10-20", 10),
        ("bytes=-0", 10),
        ("bytes=0-", 0),
        ("bytes=-5", 0),
        ("bytes=0-0", 0),
    ],
)
def test_unsatisfiable_range_is_invalid_range_416(header, size):
    with pytest.raises(S3Error) as info:
        parse_range(header, size)
    err = info.value
    assert err.code == "InvalidRange"
    assert err.status == 416
    assert err.extra == {"RangeRequested": header, "ActualObjectSize": str(size)}
    assert err.headers == {"Content-Range": f"bytes */{size}"}


def _model(header: str, size: int) -> tuple[int, int] | str | None:
    """Brute force: the set of selected byte offsets, from RFC 7233's definitions."""
    m = re.fullmatch(r"bytes=([0-9]*)-([0-9]*)", header.strip(), re.IGNORECASE)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    a, b = m.group(1), m.group(2)
    if a and b and int(b) < int(a):
        return None
    if a:
        selected = [i for i in range(size) if int(a) <= i <= (int(b) if b else size)]
    else:
        selected = [i for i in range(size) if i >= size - int(b)]
    if not selected:
        return "416"
    return selected[0], selected[-1]


@given(
    a=st.none() | st.integers(0, 40),
    b=st.none() | st.integers(0, 40),
    size=st.integers(0, 30),
)
def test_parse_range_agrees_with_brute_force_model(a, b, size):
    header = f"bytes={'' if a is None else a}-{'' if b is None else b}"
    expected = _model(header, size)
    try:
        got: object = parse_range(header, size)
    except S3Error as exc:
        assert exc.code == "InvalidRange"
        got = "416"
    assert got == expected


@given(header=st.text(max_size=40), size=st.integers(0, 10**12))
def test_parse_range_never_raises_other_errors(header, size):
    try:
        result = parse_range(header, size)
    except S3Error as exc:
        assert exc.code == "InvalidRange"
        return
    if result is not None:
        first, last = result
        assert 0 <= first <= last < size


def test_content_range_format():
    assert content_range(0, 9, 100) == "bytes 0-9/100"


def test_copy_source_range_is_strict():
    assert parse_copy_source_range("bytes=0-4", 10) == (0, 4)
    for bad in ("0-4", "bytes=4-", "bytes=-4", "bytes=5-4", "bytes=0-1,2-3"):
        with pytest.raises(S3Error) as info:
            parse_copy_source_range(bad, 10)
        assert info.value.code == "InvalidArgument"
    with pytest.raises(S3Error) as info:
        parse_copy_source_range("bytes=0-10", 10)
    assert info.value.code == "InvalidRange"
