"""Virtual-host-style addressing (``<bucket>.<domain>``) with SANGRAHA_DOMAIN set.

The test process resolves ``*.s3.localtest`` to 127.0.0.1 by wrapping
``socket.getaddrinfo``, so boto3 (``addressing_style="virtual"``) and urllib
really send ``Host: <bucket>.s3.localtest:<port>``.
"""

from __future__ import annotations

import os
import socket
import urllib.request
import uuid
from urllib.parse import urlsplit

import pytest

from tests.integration.configured import MODES, configured_target
from tests.integration.conftest import Target, make_client
from tests.integration.rawhttp import send, sign

pytestmark = pytest.mark.services

DOMAIN = "s3.localtest"


@pytest.fixture(scope="module", autouse=True)
def local_dns():
    """Resolve the test domain and its subdomains to loopback."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and (host == DOMAIN or host.endswith("." + DOMAIN)):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    yield
    socket.getaddrinfo = real


@pytest.fixture(scope="module", params=MODES)
def vhost_target(request, tmp_path_factory) -> Target:
    workdir = tmp_path_factory.mktemp(f"vhost-{request.param}")
    with configured_target(request, request.param, workdir, SANGRAHA_DOMAIN=DOMAIN) as target:
        yield target


def _domain_endpoint(target: Target) -> str:
    return f"http://{DOMAIN}:{urlsplit(target.endpoint).port}"


def _client(target: Target, style: str, endpoint: str | None = None, **config):
    return make_client(
        endpoint or _domain_endpoint(target),
        target.access_key,
        target.secret_key,
        s3={"addressing_style": style},
        **config,
    )


class _Hosts:
    """The Host of every request a client sends."""

    def __init__(self, client) -> None:
        self.hosts: list[str] = []
        client.meta.events.register("before-send.s3", self._record)

    def _record(self, request, **_kwargs) -> None:
        self.hosts.append(urlsplit(request.url).netloc)


@pytest.fixture
def vbucket(vhost_target):
    s3 = _client(vhost_target, "path")
    name = f"vh-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    yield name
    for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
        s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def test_boto3_virtual_host_style_round_trip(vhost_target):
    s3 = _client(vhost_target, "virtual")
    hosts = _Hosts(s3)
    bucket = f"vh-{uuid.uuid4().hex[:16]}"
    data = os.urandom(10_000)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/a b+c.bin", Body=data)
    assert s3.head_object(Bucket=bucket, Key="dir/a b+c.bin")["ContentLength"] == len(data)
    assert s3.get_object(Bucket=bucket, Key="dir/a b+c.bin")["Body"].read() == data
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a b+c.bin"]
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_object(Bucket=bucket, Key="dir/a b+c.bin")
    s3.delete_bucket(Bucket=bucket)
    port = urlsplit(vhost_target.endpoint).port
    assert f"{bucket}.{DOMAIN}:{port}" in hosts.hosts
    assert f"{DOMAIN}:{port}" in hosts.hosts  # ListBuckets goes to the bare domain


def test_path_style_still_works_with_a_domain_set(vhost_target, vbucket):
    for endpoint in (_domain_endpoint(vhost_target), vhost_target.endpoint):
        s3 = _client(vhost_target, "path", endpoint=endpoint)
        s3.put_object(Bucket=vbucket, Key="p", Body=b"path")
        assert s3.get_object(Bucket=vbucket, Key="p")["Body"].read() == b"path"


def test_virtual_and_path_style_address_the_same_objects(vhost_target, vbucket):
    _client(vhost_target, "virtual").put_object(Bucket=vbucket, Key="shared", Body=b"one")
    assert (
        _client(vhost_target, "path").get_object(Bucket=vbucket, Key="shared")["Body"].read()
        == b"one"
    )


def test_dotted_bucket_names_work_virtual_host_style(vhost_target):
    s3 = _client(vhost_target, "virtual")
    bucket = f"my.dotted.{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"dots")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"dots"
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)


def test_virtual_host_presigned_url_is_fetched_with_urllib(vhost_target, vbucket):
    s3 = _client(vhost_target, "virtual", signature_version="s3v4")
    s3.put_object(Bucket=vbucket, Key="doc.txt", Body=b"presigned vhost")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": vbucket, "Key": "doc.txt"}, ExpiresIn=60
    )
    assert urlsplit(url).hostname == f"{vbucket}.{DOMAIN}"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"presigned vhost"


def test_a_host_outside_the_domain_is_path_style(vhost_target, vbucket):
    _client(vhost_target, "path").put_object(Bucket=vbucket, Key="k", Body=b"v")
    port = urlsplit(vhost_target.endpoint).port
    target = Target(
        vhost_target.mode,
        f"http://{vbucket}.elsewhere.test:{port}",
        vhost_target.access_key,
        vhost_target.secret_key,
    )
    # Sent to 127.0.0.1 with a foreign Host header: the path names the bucket.
    signed = sign(target, "GET", f"/{vbucket}/k")
    signed.headers.append(("Host", urlsplit(target.endpoint).netloc))
    reply = send(
        Target(target.mode, vhost_target.endpoint, target.access_key, target.secret_key),
        signed,
    )
    assert reply.status == 200, reply.body
    assert reply.body == b"v"


def test_without_a_domain_the_host_never_names_the_bucket(target, bucket, s3):
    """The default gateway has no domain: a bucket in the Host is ignored and
    ``GET /k`` means the (absent) bucket "k", never the object."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    port = urlsplit(target.endpoint).port
    virtual = Target(
        target.mode, f"http://{bucket}.{DOMAIN}:{port}", target.access_key, target.secret_key
    )
    signed = sign(virtual, "GET", "/k")
    signed.headers.append(("Host", urlsplit(virtual.endpoint).netloc))
    reply = send(target, signed)
    assert reply.status in (400, 404), reply.body
    assert reply.body != b"v"
