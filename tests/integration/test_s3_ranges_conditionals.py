"""Range GET and conditional GET/HEAD/PUT as AWS answers them, in both modes."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.services

DATA = bytes(range(256)) * 40  # 10,240 bytes
PAST = datetime(2000, 1, 1, tzinfo=UTC)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def obj(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="obj", Body=DATA)["ETag"]
    return bucket, "obj", etag


# ------------------------------------------------------------------ ranges


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, len(DATA) - 1),
        ("bytes=-100", len(DATA) - 100, len(DATA) - 1),
        ("bytes=10200-99999", 10200, len(DATA) - 1),  # the end is clamped
        ("bytes=-99999", 0, len(DATA) - 1),  # a suffix longer than the object
    ],
)
def test_range_get_answers_206_with_content_range(s3, obj, header, first, last):
    bucket, key, etag = obj
    got = s3.get_object(Bucket=bucket, Key=key, Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == f"bytes {first}-{last}/{len(DATA)}"
    assert got["ContentLength"] == last - first + 1
    assert got["Body"].read() == DATA[first : last + 1]
    assert got["ETag"] == etag


@pytest.mark.parametrize("header", ["bytes=10240-", "bytes=20000-30000", "bytes=-0"])
def test_unsatisfiable_range_is_416_with_content_range_star(s3, obj, header):
    bucket, key, _ = obj
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, Range=header)
    assert _error(exc) == ("InvalidRange", 416)
    headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=-5", "bytes=0-0"])
def test_any_range_of_an_empty_object_is_416(s3, bucket, header):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="empty", Range=header)
    assert _error(exc) == ("InvalidRange", 416)
    headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-range"] == "bytes */0"


@pytest.mark.parametrize("header", ["bytes=abc", "bytes=50-10", "bytes=0-1,5-6", "items=0-1"])
def test_malformed_or_multiple_ranges_are_ignored(s3, obj, header):
    bucket, key, _ = obj
    got = s3.get_object(Bucket=bucket, Key=key, Range=header)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "ContentRange" not in got
    assert got["Body"].read() == DATA


def test_head_with_range_answers_206_and_the_range_length(s3, obj):
    bucket, key, _ = obj
    head = s3.head_object(Bucket=bucket, Key=key, Range="bytes=5-9")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert head["ContentLength"] == 5
    assert head["ContentRange"] == f"bytes 5-9/{len(DATA)}"


def test_head_with_unsatisfiable_range_is_416(s3, obj):
    bucket, key, _ = obj
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key=key, Range="bytes=99999-")
    assert _status(exc) == 416


def test_range_reads_of_a_larger_object_reassemble_it(s3, bucket):
    data = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    step = 1024 * 1024
    parts = [
        s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={i}-{i + step - 1}")["Body"].read()
        for i in range(0, len(data), step)
    ]
    assert b"".join(parts) == data


# ------------------------------------------------------------------ conditional reads


def test_if_none_match_with_current_etag_is_304_with_validators(s3, obj):
    bucket, key, etag = obj
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket, Key=key, IfNoneMatch=etag)
        assert _status(exc) == 304
        headers = exc.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["etag"] == etag
        assert "last-modified" in headers


def test_if_none_match_star_is_304_for_an_existing_object(s3, obj):
    bucket, key, _ = obj
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, IfNoneMatch="*")
    assert _status(exc) == 304


def test_if_match_with_another_etag_is_412(s3, obj):
    bucket, key, _ = obj
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket, Key=key, IfMatch='"0123456789abcdef0123456789abcdef"')
        assert _status(exc) == 412


def test_matching_conditions_serve_the_object(s3, obj):
    bucket, key, etag = obj
    got = s3.get_object(
        Bucket=bucket,
        Key=key,
        IfMatch=etag,
        IfNoneMatch='"other"',
        IfModifiedSince=PAST,
        IfUnmodifiedSince=datetime.now(UTC) + timedelta(days=1),
    )
    assert got["Body"].read() == DATA


def test_if_modified_since_future_is_304_and_past_is_200(s3, obj):
    bucket, key, _ = obj
    with pytest.raises(ClientError) as exc:
        s3.get_object(
            Bucket=bucket, Key=key, IfModifiedSince=datetime.now(UTC) + timedelta(hours=1)
        )
    assert _status(exc) == 304
    assert s3.head_object(Bucket=bucket, Key=key, IfModifiedSince=PAST)["ContentLength"] == len(
        DATA
    )


def test_if_unmodified_since_past_is_412(s3, obj):
    bucket, key, _ = obj
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket, Key=key, IfUnmodifiedSince=PAST)
        assert _status(exc) == 412


def test_if_match_true_overrides_if_unmodified_since_false(s3, obj):
    # RFC 7232 section 6 as S3 documents it: 200 and the object.
    bucket, key, etag = obj
    got = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag, IfUnmodifiedSince=PAST)
    assert got["Body"].read() == DATA
    head = s3.head_object(Bucket=bucket, Key=key, IfMatch=etag, IfUnmodifiedSince=PAST)
    assert head["ETag"] == etag


def test_if_none_match_false_with_if_modified_since_true_is_304(s3, obj):
    bucket, key, etag = obj
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as exc:
            call(Bucket=bucket, Key=key, IfNoneMatch=etag, IfModifiedSince=PAST)
        assert _status(exc) == 304


def test_failed_condition_comes_before_an_unsatisfiable_range(s3, obj):
    bucket, key, _ = obj
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key=key, IfMatch='"nope"', Range="bytes=99999-")
    assert _status(exc) == 412


def test_condition_with_range_serves_the_range(s3, obj):
    bucket, key, etag = obj
    got = s3.get_object(Bucket=bucket, Key=key, IfMatch=etag, Range="bytes=0-9")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == DATA[:10]


# ------------------------------------------------------------------ conditional PUT


def test_put_if_none_match_star_creates_only_once(s3, bucket):
    first = s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    assert first["ETag"] == f'"{hashlib.md5(b"first").hexdigest()}"'
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert _error(exc) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"


def test_put_if_match_replaces_only_the_expected_version(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="cas", Body=b"v1")["ETag"]
    etag2 = s3.put_object(Bucket=bucket, Key="cas", Body=b"v2", IfMatch=etag)["ETag"]
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="cas", Body=b"v3", IfMatch=etag)  # stale
    assert _error(exc) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="cas")["ETag"] == etag2


def test_put_if_match_on_a_missing_key_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="absent", Body=b"x", IfMatch='"abc"')
    assert _error(exc) == ("NoSuchKey", 404)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="absent")


def test_concurrent_create_if_absent_has_exactly_one_winner(s3, bucket):
    from concurrent.futures import ThreadPoolExecutor

    def attempt(i: int) -> bool:
        try:
            s3.put_object(Bucket=bucket, Key="lock", Body=f"{i}".encode(), IfNoneMatch="*")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "PreconditionFailed"
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(16)))
    assert outcomes.count(True) == 1
    winner = outcomes.index(True)
    assert s3.get_object(Bucket=bucket, Key="lock")["Body"].read() == f"{winner}".encode()


def test_put_if_none_match_other_than_star_is_not_implemented(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", IfNoneMatch='"abc"')
    assert _error(exc) == ("NotImplemented", 501)
