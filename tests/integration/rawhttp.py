"""Hand-made S3 requests: signed with botocore's own SigV4 signer, sent with
http.client exactly as built (no header added behind our back).

The aws-chunked encoder here is written from the AWS documentation,
independently of ``s3compat``, so the gateway's decoder is checked against a
second implementation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import re
import ssl
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
REGION = "us-east-1"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def code(self) -> str | None:
        match = re.search(rb"<Code>(.*?)</Code>", self.body)
        return match.group(1).decode() if match else None


@dataclass
class Signed:
    """A request signed by botocore: the headers to send and its signature."""

    method: str
    path: str  # path and query, as sent
    headers: list[tuple[str, str]]
    signature: str = ""
    amz_date: str = ""


def sign(
    target,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    payload_hash: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> Signed:
    """Sign ``method path`` (path may carry a query) with SigV4 header auth.

    ``payload_hash`` is the x-amz-content-sha256 value (default: the body's
    SHA-256); every header given is signed.  Content-Length is added (and
    signed) unless ``headers`` sets it to "" (then it is left out).
    """
    headers = dict(headers or {})
    if "Content-Length" not in headers:
        headers["Content-Length"] = str(len(body))
    elif headers["Content-Length"] == "":
        del headers["Content-Length"]
    headers["X-Amz-Content-SHA256"] = payload_hash or hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=target.endpoint + path, data=body, headers=headers)
    credentials = Credentials(access_key or target.access_key, secret_key or target.secret_key)
    SigV4Auth(credentials, "s3", REGION).add_auth(request)
    authorization = request.headers["Authorization"]
    signature = authorization.rsplit("Signature=", 1)[1]
    return Signed(
        method,
        path,
        list(request.headers.items()),
        signature=signature,
        amz_date=request.headers["X-Amz-Date"],
    )


def connection(endpoint: str, context: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    parts = urlsplit(endpoint)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port, timeout=60, context=context)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)


def send(
    target,
    signed: Signed,
    body: bytes = b"",
    *,
    context: ssl.SSLContext | None = None,
) -> Reply:
    """Send exactly ``signed.headers`` and ``body`` (no implicit headers)."""
    conn = connection(target.endpoint, context)
    try:
        conn.putrequest(signed.method, signed.path, skip_host=True, skip_accept_encoding=True)
        if not any(n.lower() == "host" for n, _ in signed.headers):
            conn.putheader("Host", urlsplit(target.endpoint).netloc)
        for name, value in signed.headers:
            conn.putheader(name, value)
        conn.endheaders()
        if body:
            conn.send(body)
        response = conn.getresponse()
        data = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


# --- aws-chunked encoding ------------------------------------------------------------------


def response_complete(received: bytes) -> bool:
    """Whether ``received`` holds one whole response (head and Content-Length body)."""
    head, sep, body = received.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret: str, amz_date: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode(), amz_date[:8])
    for part in (REGION, "s3", "aws4_request"):
        key = _hmac(key, part)
    return key


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _pieces(data: bytes, chunk_size: int) -> list[bytes]:
    return [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)]


def signed_chunks(
    data: bytes,
    *,
    secret: str,
    amz_date: str,
    seed_signature: str,
    chunk_size: int = 64 * 1024,
    trailer: tuple[str, str] | None = None,
    tamper_chunk: int | None = None,
    tamper_trailer: bool = False,
) -> bytes:
    """An aws-chunked body for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER].

    ``tamper_chunk`` replaces that chunk's signature with a wrong one;
    ``tamper_trailer`` signs the trailer wrongly.
    """
    key = signing_key(secret, amz_date)
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    previous = seed_signature
    out = bytearray()
    chunks = [*_pieces(data, chunk_size), b""]
    for index, chunk in enumerate(chunks):
        string_to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-PAYLOAD",
                amz_date,
                scope,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(chunk).hexdigest(),
            )
        )
        signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        sent = "0" * 64 if index == tamper_chunk else signature
        out += f"{len(chunk):x};chunk-signature={sent}\r\n".encode() + chunk
        if chunk or trailer is None:
            out += b"\r\n"
        previous = signature
    if trailer is not None:
        name, value = trailer
        line = f"{name}:{value}"
        string_to_sign = "\n".join(
            (
                "AWS4-HMAC-SHA256-TRAILER",
                amz_date,
                scope,
                previous,
                hashlib.sha256((line + "\n").encode()).hexdigest(),
            )
        )
        signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if tamper_trailer:
            signature = "f" * 64
        out += f"{line}\r\nx-amz-trailer-signature:{signature}\r\n\r\n".encode()
    return bytes(out)


def unsigned_chunks(
    data: bytes, trailer: tuple[str, str], chunk_size: int = 64 * 1024
) -> bytes:
    """An aws-chunked body for STREAMING-UNSIGNED-PAYLOAD-TRAILER."""
    out = bytearray()
    for chunk in _pieces(data, chunk_size):
        out += f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    name, value = trailer
    out += f"0\r\n{name}:{value}\r\n\r\n".encode()
    return bytes(out)


def streaming_put(
    target,
    path: str,
    data: bytes,
    mode: str,
    *,
    trailer_algorithm: str | None = None,
    extra_headers: dict[str, str] | None = None,
    encoded_length: int,
) -> Signed:
    """Sign a streaming PUT whose encoded body will be ``encoded_length`` bytes."""
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(len(data)),
        "Content-Length": str(encoded_length),
        **(extra_headers or {}),
    }
    if trailer_algorithm:
        headers["X-Amz-Trailer"] = f"x-amz-checksum-{trailer_algorithm}"
    return sign(target, "PUT", path, headers=headers, payload_hash=mode)


def put_signed_streaming(
    target,
    path: str,
    data: bytes,
    *,
    trailer: bool = False,
    chunk_size: int = 64 * 1024,
    tamper_chunk: int | None = None,
    tamper_trailer: bool = False,
    wrong_checksum: bool = False,
    context: ssl.SSLContext | None = None,
) -> Reply:
    """PUT ``data`` as STREAMING-AWS4-HMAC-SHA256-PAYLOAD (or its -TRAILER variant)."""
    mode = STREAMING_SIGNED_TRAILER if trailer else STREAMING_SIGNED
    checksum = crc32_b64(data + (b"x" if wrong_checksum else b""))
    trailer_pair = ("x-amz-checksum-crc32", checksum) if trailer else None

    def encode(seed: str, amz_date: str) -> bytes:
        return signed_chunks(
            data,
            secret=target.secret_key,
            amz_date=amz_date,
            seed_signature=seed,
            chunk_size=chunk_size,
            trailer=trailer_pair,
            tamper_chunk=tamper_chunk,
            tamper_trailer=tamper_trailer,
        )

    # The encoded length does not depend on signature values: size it with a
    # dummy seed, then sign for real and encode with the real seed.
    length = len(encode("0" * 64, "20000101T000000Z"))
    signed = streaming_put(
        target, path, data, mode, trailer_algorithm="crc32" if trailer else None,
        encoded_length=length,
    )
    body = encode(signed.signature, signed.amz_date)
    assert len(body) == length
    return send(target, signed, body, context=context)


def shift_signing_clock(monkeypatch, delta: timedelta) -> None:
    """Make botocore's signers (Python and CRT) sign as if now were now+delta."""

    def shifted(remove_tzinfo: bool = True) -> datetime:
        moment = datetime.now(UTC) + delta
        return moment.replace(tzinfo=None) if remove_tzinfo else moment

    monkeypatch.setattr("botocore.auth.get_current_datetime", shifted)
    try:
        import botocore.crt.auth  # noqa: F401 - present when awscrt is installed
    except ImportError:
        return
    monkeypatch.setattr("botocore.crt.auth.get_current_datetime", shifted)
