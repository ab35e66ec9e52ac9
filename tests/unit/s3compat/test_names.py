from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3compat.errors import S3Error
from s3compat.names import validate_bucket_name, validate_key, validate_metadata


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "my-bucket",
        "my.bucket.name",
        "a" * 63,
        "0bucket9",
        "docexamplebucket1",
        "1.2.3",
        "192.168.5.4a",
        "xn-abc",
        "bucket-s3alias-x",
    ],
)
def test_valid_bucket_names_pass(name):
    validate_bucket_name(name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("ab", "between 3 and 63"),
        ("a" * 64, "between 3 and 63"),
        ("", "between 3 and 63"),
        ("MyBucket", "lowercase"),
        ("my_bucket", "lowercase"),
        ("my bucket", "lowercase"),
        ("bücket", "lowercase"),
        ("-bucket", "begin and end"),
        ("bucket-", "begin and end"),
        (".bucket", "begin and end"),
        ("bucket.", "begin and end"),
        ("my..bucket", "adjacent periods"),
        ("192.168.5.4", "IP address"),
        ("xn--bucket", "xn--"),
        ("sthree-bucket", "sthree-"),
        ("sthree-configurator", "sthree-"),
        ("amzn-s3-demo-bucket", "amzn-s3-demo-"),
        ("bucket-s3alias", "-s3alias"),
        ("bucket--ol-s3", "--ol-s3"),
        ("bucket.mrap", ".mrap"),
        ("bucket--x-s3", "--x-s3"),
        ("bucket--table-s3", "--table-s3"),
    ],
)
def test_invalid_bucket_names_say_which_rule(name, why):
    with pytest.raises(S3Error) as info:
        validate_bucket_name(name)
    assert info.value.code == "InvalidBucketName"
    assert info.value.status == 400
    assert why in info.value.message


@given(st.text(max_size=70))
def test_bucket_name_validation_matches_a_model(name):
    import re

    ok = (
        3 <= len(name) <= 63
        and re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name) is not None
        and ".." not in name
        and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name, re.ASCII) is None
        and not name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        and not name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
    )
    try:
        validate_bucket_name(name)
    except S3Error as exc:
        assert exc.code == "InvalidBucketName"
        assert not ok
    else:
        assert ok


def test_key_of_1024_utf8_bytes_is_accepted():
    validate_key("a" * 1024)
    validate_key("é" * 512)


def test_key_over_1024_utf8_bytes_is_too_long():
    with pytest.raises(S3Error) as info:
        validate_key("é" * 512 + "a")
    assert info.value.code == "KeyTooLongError"
    assert info.value.extra == {"Size": "1025", "MaxSizeAllowed": "1024"}


def test_empty_key_is_invalid_argument():
    with pytest.raises(S3Error) as info:
        validate_key("")
    assert info.value.code == "InvalidArgument"


def test_key_with_lone_surrogate_is_invalid_uri():
    with pytest.raises(S3Error) as info:
        validate_key("a\udcff")
    assert info.value.code == "InvalidURI"


@given(st.text(min_size=1, max_size=300))
def test_any_short_unicode_key_is_accepted(key):
    validate_key(key)


def test_metadata_extracts_lowercased_names_without_prefix():
    headers = {
        "x-amz-meta-Color": "blue",
        "x-amz-meta-a-b": "",
        "content-type": "text/plain",
        "x-amz-metadata-directive": "COPY",
        "x-amz-meta-": "ignored",
    }
    assert validate_metadata(headers) == {"color": "blue", "a-b": ""}


def test_metadata_at_2kb_is_accepted_and_over_is_too_large():
    validate_metadata({"x-amz-meta-k": "v" * 2047})
    with pytest.raises(S3Error) as info:
        validate_metadata({"x-amz-meta-k": "v" * 2047, "x-amz-meta-x": ""})
    assert info.value.code == "MetadataTooLarge"
    assert info.value.extra["Size"] == "2049"
