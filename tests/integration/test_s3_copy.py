"""CopyObject through boto3, in both modes: directives, conditions, sources."""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.services


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


@pytest.fixture
def other_bucket(s3):
    name = f"t-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def _put(s3, bucket, key, data=b"payload", **kwargs):
    return s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType="text/x-source",
        Metadata={"mtime": "1700000000", "md5chksum": "abc"},
        CacheControl="max-age=60",
        **kwargs,
    )


def test_copy_within_bucket_keeps_bytes_etag_and_metadata(s3, bucket):
    data = os.urandom(300_000)
    _put(s3, bucket, "src", data)
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == _md5(data)
    assert isinstance(result["CopyObjectResult"]["LastModified"], datetime)
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == data
    assert got["ETag"] == _md5(data)
    assert got["ContentType"] == "text/x-source"
    assert got["CacheControl"] == "max-age=60"
    assert got["Metadata"] == {"mtime": "1700000000", "md5chksum": "abc"}
    # The source is untouched.
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == data


def test_copy_across_buckets(s3, bucket, other_bucket):
    _put(s3, bucket, "dir/src", b"across")
    s3.copy_object(
        Bucket=other_bucket, Key="elsewhere/dst", CopySource={"Bucket": bucket, "Key": "dir/src"}
    )
    got = s3.get_object(Bucket=other_bucket, Key="elsewhere/dst")
    assert got["Body"].read() == b"across"
    assert got["Metadata"]["mtime"] == "1700000000"


def test_copy_then_delete_is_a_server_side_move(s3, bucket):
    _put(s3, bucket, "old/name", b"moving")
    s3.copy_object(
        Bucket=bucket,
        Key="new/name",
        CopySource={"Bucket": bucket, "Key": "old/name"},
        MetadataDirective="COPY",
    )
    s3.delete_object(Bucket=bucket, Key="old/name")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["new/name"]
    assert s3.get_object(Bucket=bucket, Key="new/name")["Body"].read() == b"moving"


def test_copy_with_replace_takes_metadata_from_the_request(s3, bucket):
    _put(s3, bucket, "src", b"data")
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        ContentType="application/x-new",
        Metadata={"fresh": "yes"},
    )
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "application/x-new"
    assert head["Metadata"] == {"fresh": "yes"}
    assert "CacheControl" not in head
    assert head["ETag"] == _md5(b"data")


def test_copy_onto_itself_without_replace_is_illegal(s3, bucket):
    _put(s3, bucket, "self", b"x")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    assert _error(exc) == ("InvalidRequest", 400)
    assert "copy an object to itself" in exc.value.response["Error"]["Message"]


def test_copy_onto_itself_with_replace_sets_mtime_like_rclone(s3, bucket):
    _put(s3, bucket, "self", b"keep these bytes")
    before = s3.head_object(Bucket=bucket, Key="self")
    time.sleep(1.1)
    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource={"Bucket": bucket, "Key": "self"},
        MetadataDirective="REPLACE",
        ContentType="text/x-source",
        Metadata={"mtime": "1800000000.25", "md5chksum": "abc"},
    )
    after = s3.get_object(Bucket=bucket, Key="self")
    assert after["Body"].read() == b"keep these bytes"
    assert after["Metadata"] == {"mtime": "1800000000.25", "md5chksum": "abc"}
    assert after["ETag"] == before["ETag"]
    assert after["LastModified"] > before["LastModified"]


def test_copy_source_if_match_and_if_none_match(s3, bucket):
    etag = _put(s3, bucket, "src", b"cond")["ETag"]
    src = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="a", CopySource=src, CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="b", CopySource=src, CopySourceIfMatch='"0000"')
    assert _error(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=src, CopySourceIfNoneMatch=etag)
    assert _error(exc) == ("PreconditionFailed", 412)
    s3.copy_object(Bucket=bucket, Key="d", CopySource=src, CopySourceIfNoneMatch='"0000"')
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"src", "a", "d"}


def test_copy_source_date_conditions(s3, bucket):
    _put(s3, bucket, "src", b"dated")
    src = {"Bucket": bucket, "Key": "src"}
    past = datetime.now(UTC) - timedelta(days=1)
    future = datetime.now(UTC) + timedelta(days=1)
    s3.copy_object(Bucket=bucket, Key="a", CopySource=src, CopySourceIfModifiedSince=past)
    s3.copy_object(Bucket=bucket, Key="b", CopySource=src, CopySourceIfUnmodifiedSince=future)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=src, CopySourceIfUnmodifiedSince=past)
    assert _error(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="c", CopySource=src, CopySourceIfModifiedSince=future)
    assert _error(exc) == ("PreconditionFailed", 412)


def test_copy_source_if_match_wins_over_if_unmodified_since(s3, bucket):
    # AWS: if-match true and if-unmodified-since false -> the copy proceeds.
    etag = _put(s3, bucket, "src", b"both")["ETag"]
    past = datetime.now(UTC) - timedelta(days=1)
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceIfMatch=etag,
        CopySourceIfUnmodifiedSince=past,
    )
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"both"


@pytest.mark.parametrize(
    "key", ["with space", "plus+sign", "per%cent", "ü/日本語", "q?x=1&y", "dir/trailing/"]
)
def test_copy_source_keys_are_url_decoded(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.copy_object(Bucket=bucket, Key=f"copy/{key}", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=f"copy/{key}")["Body"].read() == key.encode()


def test_copy_source_as_string_with_null_version_id(s3, bucket):
    # botocore percent-encodes a string CopySource itself.
    s3.put_object(Bucket=bucket, Key="a b", Body=b"v")
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource=f"/{bucket}/a b?versionId=null")
    assert result["CopyObjectResult"]["ETag"] == _md5(b"v")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"v"


def test_copy_source_with_another_version_id_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"v")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src", "VersionId": "v1"}
        )
    assert _error(exc) == ("InvalidArgument", 400)


def test_copy_source_without_a_key_is_invalid_argument(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=bucket)
    assert _error(exc) == ("InvalidArgument", 400)


def test_copy_of_missing_source_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "absent"})
    assert _error(exc) == ("NoSuchKey", 404)


def test_copy_from_or_to_missing_bucket_is_no_such_bucket(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"v")
    missing = f"absent-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": missing, "Key": "src"})
    assert _error(exc) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=missing, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert _error(exc) == ("NoSuchBucket", 404)


def test_unknown_metadata_directive_is_invalid_argument(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"v")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(
            Bucket=bucket,
            Key="dst",
            CopySource={"Bucket": bucket, "Key": "src"},
            MetadataDirective="MERGE",
        )
    assert _error(exc) == ("InvalidArgument", 400)


def test_copy_tagging_directive_copy_and_replace(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"t", Tagging="team=blue&tier=1")
    src = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="same-tags", CopySource=src)
    s3.copy_object(
        Bucket=bucket,
        Key="new-tags",
        CopySource=src,
        TaggingDirective="REPLACE",
        Tagging="team=red",
    )
    same = s3.get_object_tagging(Bucket=bucket, Key="same-tags")["TagSet"]
    new = s3.get_object_tagging(Bucket=bucket, Key="new-tags")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in same) == [("team", "blue"), ("tier", "1")]
    assert new == [{"Key": "team", "Value": "red"}]


def test_conditional_copy_if_none_match_protects_the_destination(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"new")
    s3.put_object(Bucket=bucket, Key="taken", Body=b"old")
    src = {"Bucket": bucket, "Key": "src"}
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="taken", CopySource=src, IfNoneMatch="*")
    assert _error(exc) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="taken")["Body"].read() == b"old"
    s3.copy_object(Bucket=bucket, Key="free", CopySource=src, IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="free")["Body"].read() == b"new"


def test_copy_keeps_the_stored_checksum(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="src", Body=b"checked", ChecksumAlgorithm="SHA256")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    head = s3.head_object(Bucket=bucket, Key="dst", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == put["ChecksumSHA256"]


def test_copy_overwrites_an_existing_destination(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"winner")
    s3.put_object(Bucket=bucket, Key="dst", Body=b"loser", Metadata={"old": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"winner"
    assert got["Metadata"] == {}
