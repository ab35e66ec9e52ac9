"""Request body intake: de-frame aws-chunked bodies and verify every byte.

The gateway is the only place that knows the signing key, so it checks chunk
signatures, the signed payload hash, Content-MD5 and the x-amz-checksum-*
values before anything is sent to a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.http import Request, read_body
from s3compat.checksums import ALGORITHMS, BodyDigests, BodyVerifier, header_name
from s3compat.chunked import AwsChunkedDecoder
from s3compat.errors import S3Error
from s3compat.sigv4 import AuthContext, PayloadMode

__all__ = ["Intake", "declared_size", "read_verified_body"]

_STREAMING = {
    PayloadMode.STREAMING_SIGNED,
    PayloadMode.STREAMING_SIGNED_TRAILER,
    PayloadMode.STREAMING_UNSIGNED_TRAILER,
}


@dataclass(frozen=True, slots=True)
class Intake:
    body: bytes
    digests: BodyDigests


def _int_header(request: Request, name: str) -> int | None:
    value = request.headers.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise S3Error("InvalidArgument", f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _is_streaming(request: Request, auth: AuthContext) -> bool:
    encodings = [e.strip() for e in request.headers.get("content-encoding", "").split(",")]
    return auth.payload_mode in _STREAMING or "aws-chunked" in encodings


def declared_size(request: Request, auth: AuthContext) -> int:
    """The object size the client announced (decoded length for aws-chunked)."""
    if _is_streaming(request, auth):
        size = _int_header(request, "x-amz-decoded-content-length")
        if size is None:
            raise S3Error(
                "MissingContentLength",
                "aws-chunked uploads need the x-amz-decoded-content-length header",
            )
        return size
    size = _int_header(request, "content-length")
    if size is None:
        if "chunked" in request.headers.get("transfer-encoding", ""):
            raise S3Error(
                "MissingContentLength", "Transfer-Encoding: chunked needs aws-chunked framing"
            )
        raise S3Error("MissingContentLength")
    return size


def _trailer_names(request: Request) -> list[str]:
    raw = request.headers.get("x-amz-trailer", "")
    return [t.strip().lower() for t in raw.split(",") if t.strip()]


def _checksum_headers(request: Request) -> dict[str, str]:
    found = {}
    for algorithm in ALGORITHMS:
        value = request.headers.get(header_name(algorithm))
        if value is not None:
            found[algorithm] = value
    return found


async def read_verified_body(
    request: Request, auth: AuthContext, *, size: int, idle_timeout: float
) -> Intake:
    """Read the whole body (bounded by ``size``, already checked against the
    inline limit) and verify it; raises S3Error on any mismatch."""
    trailers = _trailer_names(request)
    trailer_algorithms = [
        name.removeprefix("x-amz-checksum-").upper()
        for name in trailers
        if name.startswith("x-amz-checksum-")
    ]
    verifier = BodyVerifier(
        content_md5=request.headers.get("content-md5"),
        expected_sha256=auth.expected_sha256 if auth.payload_mode is PayloadMode.SIGNED else None,
        checksums=_checksum_headers(request),
        trailer_algorithms=trailer_algorithms,
    )
    decoder = (
        AwsChunkedDecoder(auth.payload_mode, auth, size, trailers)
        if _is_streaming(request, auth)
        else None
    )
    body = bytearray()
    async for piece in read_body(request.receive, idle_timeout):
        pieces = decoder.feed(piece) if decoder is not None else [piece]
        for data in pieces:
            if len(body) + len(data) > size:
                raise S3Error(
                    "InvalidRequest", f"the body is longer than the announced {size} bytes"
                )
            verifier.update(data)
            body += data
    trailer_values = decoder.finish() if decoder is not None else None
    if len(body) != size:
        raise S3Error("IncompleteBody", f"received {len(body)} of the {size} announced bytes")
    return Intake(body=bytes(body), digests=verifier.finish(trailer_values))
