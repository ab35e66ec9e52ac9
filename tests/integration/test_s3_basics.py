"""The foundation's S3 operations through boto3, over RabbitMQ to MinIO."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client

pytestmark = pytest.mark.services

SIZES = [0, 1, 100 * 1024, 5 * 1024 * 1024]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_bucket_is_listed_and_heads(s3, bucket):
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket in names
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_create_existing_bucket_is_already_owned_by_you(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=bucket)
    assert _error(exc) == ("BucketAlreadyOwnedByYou", 409)


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}B" for s in SIZES])
def test_put_get_head_delete_round_trip_with_md5_etag(s3, bucket, size):
    data = os.urandom(size)
    md5 = hashlib.md5(data).hexdigest()
    key = f"dir/obj-{size}"
    put = s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType="application/x-test",
        Metadata={"color": "blue", "mtime": "1700000000.5"},
    )
    assert put["ETag"] == f'"{md5}"'

    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{md5}"'
    assert got["ContentLength"] == size
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"color": "blue", "mtime": "1700000000.5"}

    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ETag"] == f'"{md5}"'
    assert head["ContentLength"] == size
    assert head["Metadata"] == {"color": "blue", "mtime": "1700000000.5"}

    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]
    assert [(o["Key"], o["ETag"], o["Size"]) for o in listed] == [(key, f'"{md5}"', size)]

    assert s3.delete_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key=key)
    assert _error(exc)[1] == 404


def test_overwrite_replaces_content_and_etag(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second"
    assert got["ETag"] == f'"{hashlib.md5(b"second").hexdigest()}"'


def test_missing_key_is_no_such_key(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="absent")
    assert _error(exc) == ("NoSuchKey", 404)


def test_missing_bucket_is_no_such_bucket(s3):
    name = f"absent-{uuid.uuid4().hex[:12]}"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=name, Key="k")
    assert _error(exc) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as exc:
        s3.list_objects_v2(Bucket=name)
    assert _error(exc) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=name, Key="k", Body=b"x")
    assert _error(exc) == ("NoSuchBucket", 404)


def test_delete_non_empty_bucket_is_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=bucket)
    assert _error(exc) == ("BucketNotEmpty", 409)


def test_wrong_secret_is_signature_does_not_match(target, bucket):
    bad = make_client(target.endpoint, target.access_key, target.secret_key + "x")
    with pytest.raises(ClientError) as exc:
        bad.get_object(Bucket=bucket, Key="k")
    assert _error(exc) == ("SignatureDoesNotMatch", 403)


def test_unknown_access_key_is_invalid_access_key_id(target, bucket):
    bad = make_client(target.endpoint, "AKUNKNOWN000", target.secret_key)
    with pytest.raises(ClientError) as exc:
        bad.list_objects_v2(Bucket=bucket)
    assert _error(exc) == ("InvalidAccessKeyId", 403)


def test_failed_put_with_bad_signature_stores_nothing(target, s3, bucket):
    bad = make_client(target.endpoint, target.access_key, "wrong-secret")
    with pytest.raises(ClientError):
        bad.put_object(Bucket=bucket, Key="forged", Body=b"evil")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_error_response_carries_request_id_header(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="absent")
    meta = exc.value.response["ResponseMetadata"]
    assert len(meta["RequestId"]) == 16
    assert meta["HTTPHeaders"]["x-amz-request-id"] == meta["RequestId"]
