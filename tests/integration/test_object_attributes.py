"""GetObjectAttributes in both modes: ETag, size, storage class, stored
checksums and a multipart object's part count, from one HEAD."""

from __future__ import annotations

import base64
import zlib

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client

pytestmark = pytest.mark.services

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_a_single_part_object(s3, bucket):
    data = b"attributes of a small object"
    put = s3.put_object(Bucket=bucket, Key="k", Body=data, ChecksumAlgorithm="CRC32")
    got = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL)
    assert got["ETag"] == put["ETag"].strip('"')
    assert got["ObjectSize"] == len(data)
    assert got["StorageClass"] == "STANDARD"
    assert got["Checksum"]["ChecksumCRC32"] == _crc32(data)
    assert got["Checksum"]["ChecksumType"] == "FULL_OBJECT"
    assert "ObjectParts" not in got
    head = s3.head_object(Bucket=bucket, Key="k")
    assert got["LastModified"] == head["LastModified"]


def test_only_the_attributes_asked_for(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"12345")
    got = s3.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=["ObjectSize"])
    assert got["ObjectSize"] == 5
    assert "ETag" not in got and "StorageClass" not in got and "Checksum" not in got


def test_an_object_stored_without_checksums_has_no_checksum_element(target, bucket):
    plain = make_client(
        target.endpoint,
        target.access_key,
        target.secret_key,
        request_checksum_calculation="when_required",
    )
    plain.put_object(Bucket=bucket, Key="k", Body=b"no checksum sent")
    got = plain.get_object_attributes(Bucket=bucket, Key="k", ObjectAttributes=ALL)
    assert "Checksum" not in got
    assert got["ObjectSize"] == len(b"no checksum sent")


def test_a_multipart_object_reports_its_part_count(s3, bucket):
    part = b"p" * (5 * 1024 * 1024)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")
    parts = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=n, Body=part
            )["ETag"],
        }
        for n in (1, 2)
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts}
    )
    got = s3.get_object_attributes(Bucket=bucket, Key="mp", ObjectAttributes=ALL)
    assert got["ETag"] == done["ETag"].strip('"')
    assert got["ETag"].endswith("-2")
    assert got["ObjectParts"]["TotalPartsCount"] == 2
    assert got["ObjectSize"] == 2 * len(part)


def _error(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_errors(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert _error(
        s3.get_object_attributes, Bucket=bucket, Key="missing", ObjectAttributes=ALL
    ) == (404, "NoSuchKey")
    assert _error(
        s3.get_object_attributes, Bucket=bucket, Key="k", ObjectAttributes=["Bogus"]
    ) == (400, "InvalidArgument")
