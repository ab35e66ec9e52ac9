"""Request heads are bounded in time and size while they arrive
(gateway/protocol.py): a client trickling header bytes or sending a huge head
gets an S3 error and loses the connection; well-behaved clients, including
ones idling on a kept-alive connection, are unaffected.

The deadline tests run a gateway of their own with a 2 s head deadline (the
protocol is the same code in embedded mode: both use one uvicorn config)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
import xmltodict

from tests.integration.conftest import Target
from tests.integration.rawhttp import response_complete, sign

pytestmark = pytest.mark.services

HEAD_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def short_deadline(stack):
    return stack.gateway(SANGRAHA_HEAD_TIMEOUT=str(HEAD_TIMEOUT))


def _connect(endpoint: str) -> socket.socket:
    parts = urlsplit(endpoint)
    return socket.create_connection((parts.hostname, parts.port), timeout=15)


def _read_until_close(sock: socket.socket, limit: float = 15.0) -> bytes:
    sock.settimeout(limit)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def _read_response(sock: socket.socket) -> bytes:
    """One whole response: its head, and as many body bytes as it announces."""
    received = b""
    while not response_complete(received):
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received


def _status_and_code(response: bytes) -> tuple[int, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, xmltodict.parse(body)["Error"]["Code"]


def test_a_client_that_sends_nothing_is_answered_request_timeout(short_deadline):
    with _connect(short_deadline) as sock:
        started = time.monotonic()
        response = _read_until_close(sock)
        waited = time.monotonic() - started
    assert _status_and_code(response) == (400, "RequestTimeout")
    assert HEAD_TIMEOUT - 0.5 <= waited < HEAD_TIMEOUT + 8


def test_a_trickled_head_is_cut_off_at_the_deadline(short_deadline):
    host = urlsplit(short_deadline).netloc
    with _connect(short_deadline) as sock:
        sock.sendall(f"GET /_sangraha/health HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
        started = time.monotonic()
        sock.settimeout(0.3)
        response = b""
        # One byte every 0.3 s: the connection is never idle, the head never ends.
        while time.monotonic() - started < HEAD_TIMEOUT + 8:
            try:
                sock.sendall(b"a")
            except OSError:
                break
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            response += chunk
        waited = time.monotonic() - started
    assert _status_and_code(response) == (400, "RequestTimeout")
    assert waited < HEAD_TIMEOUT + 8


def test_a_slow_head_within_the_deadline_is_served(short_deadline, stack):
    host = urlsplit(short_deadline).netloc
    signed = sign_list_buckets(short_deadline, stack)
    lines = ["GET / HTTP/1.1", f"Host: {host}", *(f"{n}: {v}" for n, v in signed.headers)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with _connect(short_deadline) as sock:
        for piece in (head[:20], head[20:40], head[40:]):  # ~1 s in all
            sock.sendall(piece)
            time.sleep(HEAD_TIMEOUT / 4)
        response = _read_response(sock)
    assert response.startswith(b"HTTP/1.1 200"), response[:300]


def test_idling_on_a_kept_alive_connection_is_not_a_slow_head(short_deadline):
    """The deadline runs from a request's first byte: a client that idles
    longer than it between two requests (uvicorn's keep-alive allows 30 s)
    keeps its connection."""
    host = urlsplit(short_deadline).netloc
    request = f"GET /_sangraha/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with _connect(short_deadline) as sock:
        sock.sendall(request)
        first = _read_response(sock)
        time.sleep(HEAD_TIMEOUT + 1.5)
        sock.sendall(request)
        second = _read_response(sock)
    assert first.startswith(b"HTTP/1.1 200"), first[:200]
    assert second.startswith(b"HTTP/1.1 200"), second[:200]


@pytest.mark.parametrize("size", [100 * 1024, 4 * 1024 * 1024])
def test_a_huge_head_is_refused_while_it_arrives(target, size):
    """httptools alone accepts a 16 MiB header; the gateway stops reading at
    64 KiB and answers before the client has finished sending."""
    host = urlsplit(target.endpoint).netloc
    head = f"PUT /bucket/key HTTP/1.1\r\nHost: {host}\r\nX-Amz-Meta-Big: ".encode()
    with _connect(target.endpoint) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < size:
                sent += sock.send(b"a" * 65536)
        except OSError:
            pass  # the server stopped reading and closed: also a refusal
        response = _read_until_close(sock)
    assert _status_and_code(response) == (400, "RequestHeaderSectionTooLarge")
    # The gateway is still serving.
    with _connect(target.endpoint) as sock:
        sock.sendall(f"GET /_sangraha/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert _read_response(sock).startswith(b"HTTP/1.1 200")


def sign_list_buckets(endpoint: str, stack):
    return sign(Target("distributed", endpoint, stack.access_key, stack.secret_key), "GET", "/")
