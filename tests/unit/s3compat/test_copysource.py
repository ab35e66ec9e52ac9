"""x-amz-copy-source parsing: encodings, leading slash, versionId, bad values."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3compat.copysource import CopySource, parse_copy_source
from s3compat.errors import S3Error


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bucket/key", CopySource("bucket", "key")),
        ("/bucket/key", CopySource("bucket", "key")),
        ("/bucket/dir/sub/key.txt", CopySource("bucket", "dir/sub/key.txt")),
        ("bucket/a%20b%2Bc", CopySource("bucket", "a b+c")),
        ("bucket/a+b", CopySource("bucket", "a+b")),  # a path: '+' is a plus
        ("bucket/%C3%BC%2F%E6%97%A5", CopySource("bucket", "ü/日")),
        ("bucket/key?versionId=null", CopySource("bucket", "key", "null")),
        ("/bucket/k%3Fx?versionId=3/L4kqtJl", CopySource("bucket", "k?x", "3/L4kqtJl")),
        ("bucket/trailing/", CopySource("bucket", "trailing/")),
        ("bucket//double", CopySource("bucket", "/double")),
        ("bucket/q?x=1", CopySource("bucket", "q?x=1")),  # unencoded '?' of a key
    ],
)
def test_parse_copy_source(value, expected):
    assert parse_copy_source(value) == expected


def test_raw_utf8_header_bytes_are_decoded():
    raw = "bucket/ü日".encode().decode("latin-1")  # how the gateway holds header values
    assert parse_copy_source(raw) == CopySource("bucket", "ü日")


@pytest.mark.parametrize("value", ["", "/", "bucket", "bucket/", "/bucket", "/bucket/"])
def test_a_source_without_bucket_and_key_is_invalid_argument(value):
    with pytest.raises(S3Error) as info:
        parse_copy_source(value)
    assert info.value.code == "InvalidArgument"


def test_bad_percent_encoding_is_invalid_argument():
    with pytest.raises(S3Error) as info:
        parse_copy_source("bucket/%FF%FE")
    assert info.value.code == "InvalidArgument"


def test_a_key_over_1024_bytes_is_key_too_long():
    with pytest.raises(S3Error) as info:
        parse_copy_source("bucket/" + "k" * 1025)
    assert info.value.code == "KeyTooLongError"


@given(
    bucket=st.from_regex(r"[a-z0-9][a-z0-9.-]{1,30}[a-z0-9]", fullmatch=True),
    key=st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=100),
)
def test_botocore_style_encoding_round_trips(bucket, key):
    # botocore quotes "bucket/key" with safe "/~-._"
    value = quote(f"{bucket}/{key}", safe="/~")
    assert parse_copy_source(value) == CopySource(bucket, key)
