"""A TLS listener: boto3 over HTTPS really uses aws-chunked bodies with a
trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER), and signed streaming
uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) work over TLS too.
Both modes, with a self-signed certificate made for the test."""

from __future__ import annotations

import hashlib
import io
import os
import ssl
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.configured import MODES, configured_target, self_signed_certificate
from tests.integration.conftest import Target
from tests.integration.rawhttp import put_signed_streaming

pytestmark = pytest.mark.services

SIZES = [0, 1, 100 * 1024, 3 * 1024 * 1024 + 7]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_context(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture(scope="module", params=MODES)
def tls_target(request, tmp_path_factory, certificate, tls_context) -> Target:
    cert, key = certificate
    workdir = tmp_path_factory.mktemp(f"tls-{request.param}")
    with configured_target(
        request,
        request.param,
        workdir,
        scheme="https",
        context=tls_context,
        SANGRAHA_TLS_CERT_FILE=str(cert),
        SANGRAHA_TLS_KEY_FILE=str(key),
    ) as target:
        yield target


def _client(target: Target, certificate, **config):
    """boto3 with its default configuration, trusting the test certificate."""
    return boto3.client(
        "s3",
        endpoint_url=target.endpoint,
        aws_access_key_id=target.access_key,
        aws_secret_access_key=target.secret_key,
        region_name="us-east-1",
        verify=str(certificate[0]),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}, **config),
    )


@pytest.fixture
def tls_bucket(tls_target, certificate):
    s3 = _client(tls_target, certificate)
    name = f"tls-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


class _SentHeaders:
    """Record the headers of every PutObject request botocore sends."""

    def __init__(self, client) -> None:
        self.seen: list[dict[str, str]] = []
        client.meta.events.register("before-send.s3.PutObject", self._record)

    def _record(self, request, **_kwargs) -> None:
        self.seen.append({k.lower(): v for k, v in request.headers.items()})

    @property
    def last(self) -> dict[str, str]:
        return {
            k: v.decode() if isinstance(v, bytes) else v for k, v in self.seen[-1].items()
        }


def test_plain_http_is_not_served_on_the_tls_port(tls_target):
    plain = tls_target.endpoint.replace("https://", "http://")
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(plain + "/_sangraha/health", timeout=5)


@pytest.mark.parametrize("size", SIZES, ids=[f"{s}B" for s in SIZES])
def test_boto3_default_over_https_sends_unsigned_aws_chunked_with_crc32_trailer(
    tls_target, certificate, tls_bucket, size
):
    s3 = _client(tls_target, certificate)
    sent = _SentHeaders(s3)
    data = os.urandom(size)
    put = s3.put_object(Bucket=tls_bucket, Key="obj", Body=data)
    headers = sent.last
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert "aws-chunked" in headers["content-encoding"]
    assert headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert headers["x-amz-decoded-content-length"] == str(size)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert "ChecksumCRC32" in put
    got = s3.get_object(Bucket=tls_bucket, Key="obj", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ContentLength"] == size
    assert got["ETag"] == put["ETag"]
    # aws-chunked is the upload's framing, never the object's encoding.
    assert "aws-chunked" not in got["ResponseMetadata"]["HTTPHeaders"].get("content-encoding", "")


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"])
def test_boto3_over_https_sends_every_checksum_algorithm_as_a_trailer(
    tls_target, certificate, tls_bucket, algorithm
):
    s3 = _client(tls_target, certificate)
    sent = _SentHeaders(s3)
    data = os.urandom(200_000)
    put = s3.put_object(Bucket=tls_bucket, Key="obj", Body=data, ChecksumAlgorithm=algorithm)
    assert sent.last["x-amz-trailer"] == f"x-amz-checksum-{algorithm.lower()}"
    assert sent.last["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert f"Checksum{algorithm}" in put
    got = s3.get_object(Bucket=tls_bucket, Key="obj", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got.get(f"Checksum{algorithm}") == put[f"Checksum{algorithm}"]


def test_boto3_upload_fileobj_over_https_round_trips(tls_target, certificate, tls_bucket):
    s3 = _client(tls_target, certificate)
    data = os.urandom(2 * 1024 * 1024 + 3)
    s3.upload_fileobj(io.BytesIO(data), tls_bucket, "file.bin")
    out = io.BytesIO()
    s3.download_fileobj(tls_bucket, "file.bin", out)
    assert out.getvalue() == data


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"request_checksum_calculation": "when_required"}, "sha256"),
        (
            {
                "request_checksum_calculation": "when_required",
                "s3": {"payload_signing_enabled": False},
            },
            "UNSIGNED-PAYLOAD",
        ),
    ],
    ids=["when-required-signed", "when-required-unsigned"],
)
def test_boto3_without_checksums_over_https_uses_plain_payload_modes(
    tls_target, certificate, tls_bucket, config, expected
):
    s3 = _client(tls_target, certificate, **config)
    sent = _SentHeaders(s3)
    data = os.urandom(70_000)
    s3.put_object(Bucket=tls_bucket, Key="obj", Body=data)
    mode = sent.last["x-amz-content-sha256"]
    if expected == "sha256":
        assert mode == hashlib.sha256(data).hexdigest()
    else:
        assert mode == expected
    assert "content-encoding" not in sent.last
    assert s3.get_object(Bucket=tls_bucket, Key="obj")["Body"].read() == data


@pytest.mark.parametrize("trailer", [False, True], ids=["signed", "signed-trailer"])
def test_signed_streaming_upload_over_tls_round_trips(
    tls_target, certificate, tls_context, tls_bucket, trailer
):
    data = os.urandom(300_000)
    reply = put_signed_streaming(
        tls_target, f"/{tls_bucket}/signed", data, trailer=trailer, context=tls_context
    )
    assert reply.status == 200, reply.body
    s3 = _client(tls_target, certificate)
    assert s3.get_object(Bucket=tls_bucket, Key="signed")["Body"].read() == data


def test_a_tampered_chunk_over_tls_writes_nothing(
    tls_target, certificate, tls_context, tls_bucket
):
    reply = put_signed_streaming(
        tls_target, f"/{tls_bucket}/bad", os.urandom(200_000), tamper_chunk=3,
        context=tls_context,
    )
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch")
    s3 = _client(tls_target, certificate)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=tls_bucket, Key="bad")
