"""boto3 as applications use it, with the default configuration (CRC32
checksums on every upload since botocore 1.36) and with
``request_checksum_calculation="when_required"``.  Both modes."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client

pytestmark = pytest.mark.services

CONFIGS = {
    "default": {},
    "when-required": {
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
    },
}


@dataclass
class Boto:
    """A boto3 client, its configuration's name, and the headers it sent."""

    s3: object
    config_name: str
    sent: list[dict[str, str]] = field(default_factory=list)

    def __getattr__(self, name: str):
        return getattr(self.s3, name)

    def _record(self, request, **_kwargs) -> None:
        self.sent.append({k.lower(): v for k, v in request.headers.items()})


@pytest.fixture(params=sorted(CONFIGS))
def client(request, target) -> Boto:
    s3 = make_client(
        target.endpoint, target.access_key, target.secret_key, **CONFIGS[request.param]
    )
    boto = Boto(s3, request.param)
    s3.meta.events.register("before-send.s3", boto._record)
    return boto


def _last_headers(client: Boto) -> dict[str, str]:
    return client.sent[-1]


@pytest.mark.parametrize("size", [0, 1, 70_000, 5 * 1024 * 1024 + 1])
def test_put_get_head_round_trip(client, bucket, size):
    data = os.urandom(size)
    put = client.put_object(Bucket=bucket, Key="obj", Body=data, Metadata={"k": "v"})
    sent = _last_headers(client)
    if client.config_name == "default":
        assert "x-amz-checksum-crc32" in sent
        assert "ChecksumCRC32" in put
    else:
        assert not any(h.startswith("x-amz-checksum-") for h in sent)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = client.get_object(Bucket=bucket, Key="obj", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"k": "v"}
    if client.config_name == "default":
        assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
    head = client.head_object(Bucket=bucket, Key="obj")
    assert head["ContentLength"] == size
    assert head["ETag"] == put["ETag"]


def test_transfer_manager_multipart_upload_and_ranged_download(client, bucket):
    data = os.urandom(12 * 1024 * 1024 + 5)
    config = TransferConfig(
        multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
    )
    client.upload_fileobj(io.BytesIO(data), bucket, "big.bin", Config=config)
    head = client.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")
    out = io.BytesIO()
    client.download_fileobj(bucket, "big.bin", out, Config=config)  # ranged GETs
    assert out.getvalue() == data


def test_ranged_get(client, bucket):
    data = os.urandom(10_000)
    client.put_object(Bucket=bucket, Key="r", Body=data)
    got = client.get_object(Bucket=bucket, Key="r", Range="bytes=100-199")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == "bytes 100-199/10000"
    assert got["Body"].read() == data[100:200]
    assert client.get_object(Bucket=bucket, Key="r", Range="bytes=-10")["Body"].read() == data[-10:]


def test_copy_object_and_managed_copy(client, bucket):
    client.put_object(Bucket=bucket, Key="src", Body=b"copy me", Metadata={"a": "1"})
    client.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    got = client.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"copy me"
    assert got["Metadata"] == {"a": "1"}
    client.copy({"Bucket": bucket, "Key": "src"}, bucket, "managed")
    assert client.get_object(Bucket=bucket, Key="managed")["Body"].read() == b"copy me"


def test_delete_objects_without_content_md5(client, bucket):
    keys = [f"d/{i}" for i in range(25)]
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = client.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]}
    )
    sent = _last_headers(client)
    if client.config_name == "default":
        assert "content-md5" not in sent  # botocore >= 1.36 sends a CRC32 instead
    assert sorted(d["Key"] for d in result["Deleted"]) == sorted(keys)
    assert client.list_objects_v2(Bucket=bucket, Prefix="d/")["KeyCount"] == 0


def test_paginated_listing(client, bucket):
    keys = sorted(f"p/{i:03d}" for i in range(23))
    for key in keys:
        client.put_object(Bucket=bucket, Key=key, Body=b"")
    pages = list(
        client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="p/", PaginationConfig={"PageSize": 5}
        )
    )
    assert len(pages) == 5
    assert [o["Key"] for page in pages for o in page.get("Contents", [])] == keys


def test_errors_are_s3_errors(client, bucket):
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket, Key="missing")
    assert exc.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=bucket + "-missing", Key="k")
    assert exc.value.response["Error"]["Code"] == "NoSuchBucket"
