"""x-amz-checksum-* in both modes: verified on upload, stored with the object,
returned on GET and HEAD when the client asks (x-amz-checksum-mode: ENABLED),
for whole-object answers only -- as AWS does."""

from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client

pytestmark = pytest.mark.services

ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_is_stored_and_returned_when_asked(s3, bucket, algorithm):
    data = os.urandom(70_000)
    put = s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm=algorithm)
    field = f"Checksum{algorithm}"
    value = put[field]
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got[field] == value
    assert got["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head[field] == value


def test_default_boto3_crc32_is_the_stored_checksum(s3, bucket):
    data = b"default client checksum"
    s3.put_object(Bucket=bucket, Key="k", Body=data)
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == _crc32(data)


def test_checksums_are_not_sent_unless_asked(target, s3, bucket):
    # boto3's default configuration asks on every GET; this client does not.
    client = make_client(
        target.endpoint,
        target.access_key,
        target.secret_key,
        response_checksum_validation="when_required",
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"quiet", ChecksumAlgorithm="SHA256")
    got = client.get_object(Bucket=bucket, Key="k")
    got["Body"].read()
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    assert not any(n.startswith("x-amz-checksum-") for n in headers)
    head = client.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert not any(n.startswith("x-amz-checksum-") for n in head)


def test_a_range_get_carries_no_whole_object_checksum(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789", ChecksumAlgorithm="CRC32")
    got = s3.get_object(Bucket=bucket, Key="k", Range="bytes=2-5", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"2345"
    assert "ChecksumCRC32" not in got


def test_explicit_checksum_value_from_a_when_required_client(target, bucket):
    client = make_client(
        target.endpoint,
        target.access_key,
        target.secret_key,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    data = b"explicit"
    sha1 = base64.b64encode(hashlib.sha1(data).digest()).decode()
    client.put_object(Bucket=bucket, Key="k", Body=data, ChecksumSHA1=sha1)
    head = client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumSHA1"] == sha1


def test_object_uploaded_without_checksum_reports_none(target, bucket):
    client = make_client(
        target.endpoint,
        target.access_key,
        target.secret_key,
        request_checksum_calculation="when_required",
    )
    client.put_object(Bucket=bucket, Key="k", Body=b"plain")
    head = client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert not any(k.startswith("Checksum") and k != "ChecksumType" for k in head)


def test_wrong_checksum_is_bad_digest_and_stores_nothing(target, s3, bucket):
    client = make_client(
        target.endpoint,
        target.access_key,
        target.secret_key,
        request_checksum_calculation="when_required",
    )
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket=bucket, Key="k", Body=b"data", ChecksumCRC32=_crc32(b"other"))
    assert _error(exc) == ("BadDigest", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")


def test_checksum_of_an_overwritten_object_is_the_new_one(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"one", ChecksumAlgorithm="CRC32")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two", ChecksumAlgorithm="CRC32")
    head = s3.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == _crc32(b"two")


def test_client_side_validation_of_a_larger_get(s3, bucket):
    # boto3 validates the body against the returned checksum when it is sent.
    data = os.urandom(5 * 1024 * 1024 + 3)
    s3.put_object(Bucket=bucket, Key="big", Body=data, ChecksumAlgorithm="CRC32")
    got = s3.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ChecksumCRC32"] == _crc32(data)
