"""Large single-part objects: streamed through the transport in chunks.

Bodies above SANGRAHA_MAX_INLINE_BYTES (16 MiB) travel as credit-controlled
chunk frames.  These tests pin what the client sees: the content MD5 as ETag,
ranges read from the middle of a streamed object, and — when anything breaks
mid-stream — an error, never a short body reported as complete, and no
half-written object.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import time
import uuid
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Target, make_client
from tests.integration.rawhttp import sign

pytestmark = pytest.mark.services

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big() -> bytes:
    return os.urandom(40 * MiB + 123)


def test_large_single_put_has_content_md5_etag_and_reads_back(s3, bucket, big):
    put = s3.put_object(Bucket=bucket, Key="big.bin", Body=big)
    md5 = hashlib.md5(big).hexdigest()
    assert put["ETag"] == f'"{md5}"'
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ETag"] == f'"{md5}"'
    assert head["ContentLength"] == len(big)
    got = s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read()
    assert hashlib.md5(got).hexdigest() == md5
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["ETag"], o["Size"]) for o in listed] == [("big.bin", f'"{md5}"', len(big))]


def test_range_spanning_chunks_of_a_streamed_object(s3, bucket, big):
    s3.put_object(Bucket=bucket, Key="big.bin", Body=big)
    first, last = 3 * MiB - 7, 23 * MiB + 11  # 20 MiB: itself streamed
    got = s3.get_object(Bucket=bucket, Key="big.bin", Range=f"bytes={first}-{last}")
    assert got["ContentRange"] == f"bytes {first}-{last}/{len(big)}"
    assert got["Body"].read() == big[first : last + 1]
    tail = s3.get_object(Bucket=bucket, Key="big.bin", Range="bytes=-1000")["Body"].read()
    assert tail == big[-1000:]


def _send_partial_put(target, path: str, size: int, sent: int) -> None:
    """A signed PUT announcing ``size`` bytes that sends ``sent`` and hangs up."""
    signed = sign(
        target,
        "PUT",
        path,
        payload_hash="UNSIGNED-PAYLOAD",
        headers={"Content-Length": str(size)},
    )
    parts = urlsplit(target.endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        headers = list(signed.headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.append(("Host", parts.netloc))
        head = f"PUT {signed.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers
        )
        sock.sendall(head.encode() + b"\r\n")
        block = os.urandom(MiB)
        for _ in range(sent // MiB):
            sock.sendall(block)
        time.sleep(0.5)


def _stream_queues() -> set[str]:
    out = subprocess.run(
        [
            "rabbitmqctl",
            "-q",
            "-n",
            os.environ.get("SANGRAHA_RABBITMQ_NODENAME", "rabbit@localhost"),
            "list_queues",
            "name",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        check=True,
    ).stdout
    return {line.strip() for line in out.splitlines() if line.startswith("amq.gen-")}


def test_client_disconnect_mid_upload_leaves_no_object_and_no_queue(target, s3, bucket):
    before = _stream_queues() if target.mode == "distributed" else set()
    _send_partial_put(target, f"/{bucket}/abandoned.bin", 64 * MiB, 24 * MiB)
    # The stream is abandoned: nothing becomes visible, now or later.
    deadline = time.monotonic() + 15
    leftover: set[str] = set()
    while time.monotonic() < deadline:
        if target.mode == "distributed":
            leftover = _stream_queues() - before
        if not leftover:
            break
        time.sleep(0.5)
    assert not leftover, f"stream queues left behind: {leftover}"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="abandoned.bin")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_bad_checksum_on_streamed_body_stores_nothing(s3, bucket, big):
    # Content-MD5 is checked over the whole stream; the last chunk is held
    # back until it is, so the store never completes the object.
    wrong = hashlib.md5(b"something else").digest()
    with pytest.raises(ClientError) as exc:
        s3.put_object(
            Bucket=bucket, Key="bad.bin", Body=big, ContentMD5=base64.b64encode(wrong).decode()
        )
    assert exc.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad.bin")


@contextlib.contextmanager
def _scratch_bucket(client):
    """A bucket removed afterwards with patience: MinIO keeps an object
    locked for a while after a reader vanished mid-GET (measured: ~25 s for a
    DeleteObject behind an idle reader, on MinIO directly)."""
    name = f"kill-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        deadline = time.monotonic() + 120
        while True:
            try:
                for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
                    client.delete_object(Bucket=name, Key=obj["Key"])
                client.delete_bucket(Bucket=name)
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)


@pytest.mark.heavy
def test_getter_killed_mid_download_is_an_error_not_a_short_success(isolated_stack):
    stack = isolated_stack
    client = make_client(stack.endpoint, stack.access_key, stack.secret_key)
    with _scratch_bucket(client) as bucket:
        _getter_killed(stack, client, bucket)


def _getter_killed(stack, client, bucket):
    data = os.urandom(96 * MiB)
    client.put_object(Bucket=bucket, Key="victim.bin", Body=data)
    getter = stack.by_role("getter")[0]
    try:
        response = client.get_object(Bucket=bucket, Key="victim.bin")
        body = response["Body"]
        first = body.read(4 * MiB)
        assert first == data[: 4 * MiB]
        getter.stop(signal.SIGKILL)
        with pytest.raises(Exception) as exc:
            rest = body.read()
            assert len(first) + len(rest) == len(data), "short body"  # pragma: no cover
            pytest.fail("a download from a killed getter completed")  # pragma: no cover
        assert "pytest" not in type(exc.value).__module__
    finally:
        getter.start()


@pytest.mark.heavy
def test_receiver_killed_mid_upload_fails_cleanly(isolated_stack):
    stack = isolated_stack
    client = make_client(stack.endpoint, stack.access_key, stack.secret_key, read_timeout=120)
    with _scratch_bucket(client) as bucket:
        _receiver_killed(stack, client, bucket)


def _receiver_killed(stack, client, bucket):
    receiver = stack.by_role("receiver")[0]
    target = Target("distributed", stack.endpoint, stack.access_key, stack.secret_key)
    size = 64 * MiB
    signed = sign(
        target,
        "PUT",
        f"/{bucket}/half.bin",
        payload_hash="UNSIGNED-PAYLOAD",
        headers={"Content-Length": str(size)},
    )
    parts = urlsplit(stack.endpoint)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=60) as sock:
            head = f"PUT {signed.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n" + "".join(
                f"{name}: {value}\r\n" for name, value in signed.headers
            )
            sock.sendall(head.encode() + b"\r\n")
            block = os.urandom(MiB)
            for _ in range(24):  # well past the inline limit: the stream is open
                sock.sendall(block)
            time.sleep(0.5)
            receiver.stop(signal.SIGKILL)
            with contextlib.suppress(OSError):
                for _ in range(40):
                    sock.sendall(block)
            reply = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    reply += chunk
        status_line = reply.split(b"\r\n", 1)[0]
        # Either an S3 error or a dropped connection; never a success.
        assert not status_line.startswith(b"HTTP/1.1 2"), reply[:300]
        if status_line:
            assert status_line.split()[1] in (b"500", b"503"), reply[:300]
    finally:
        receiver.start()
    with pytest.raises(ClientError) as exc:
        client.head_object(Bucket=bucket, Key="half.bin")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
