"""Reading native request bodies: bounded, streamed, type-checked early.

A JSON body is read up to the size limit and parsed.  A file upload is a
multipart/form-data body parsed as it arrives: once the ``file`` part has
given ``sniff_bytes`` bytes (or ended), libmagic judges them, and a wrong
type is refused before the rest is read.  Nothing is held beyond the limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import msgspec

from gateway.http import Receive, read_body
from gateway.native.errors import NativeError, from_s3
from gateway.native.multipart import (
    MultipartError,
    MultipartParser,
    PartBegin,
    PartData,
    PartEnd,
    boundary_of,
)
from gateway.native.naming import ObjectType
from gateway.native.sniff import Sniffer, accepts, expected
from s3compat.errors import S3Error

__all__ = ["Limits", "Upload", "read_file", "read_json_document"]

FILE_FIELD = "file"
# Multipart framing and small extra fields allowed on top of the file limit.
_MULTIPART_OVERHEAD = 64 * 1024
# After refusing a body, read (and drop) at most this much of the rest, so
# that clients which send the whole body before reading still get the answer.
_DRAIN_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    sniff_bytes: int
    idle_timeout: float


@dataclass(frozen=True, slots=True)
class Upload:
    body: bytes | bytearray
    md5: str
    content_type: str
    filename: str | None


async def _chunks(receive: Receive, idle_timeout: float) -> AsyncIterator[bytes]:
    try:
        async for chunk in read_body(receive, idle_timeout):
            yield chunk
    except S3Error as exc:
        raise from_s3(exc) from None


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read and discard what the client is still sending, up to a bound."""
    left = _DRAIN_LIMIT
    try:
        async for chunk in chunks:
            left -= len(chunk)
            if left <= 0:
                return
    except Exception:  # noqa: S110 - the request is already refused; only draining
        pass


def _too_large(limit: int) -> NativeError:
    return NativeError(413, f"The upload exceeds the limit of {limit} bytes.")


def _declared_length(content_length: str | None) -> int | None:
    if content_length is None:
        return None
    if not content_length.strip().isdigit():
        raise NativeError(400, "Content-Length must be a non-negative integer.")
    return int(content_length)


async def read_json_document(
    receive: Receive, content_length: str | None, limits: Limits
) -> tuple[bytes, bytes]:
    """Read and validate ``{"data": ...}``; returns the bytes to store
    (``{"data": ...}`` without any other fields) and the data's JSON text."""
    chunks = _chunks(receive, limits.idle_timeout)
    declared = _declared_length(content_length)
    if declared is not None and declared > limits.max_bytes:
        await _drain(chunks)
        raise _too_large(limits.max_bytes)
    pieces: list[bytes] = []
    received = 0
    async for chunk in chunks:
        pieces.append(chunk)
        received += len(chunk)
        if received > limits.max_bytes:
            await _drain(chunks)
            raise _too_large(limits.max_bytes)
    raw = b"".join(pieces)
    try:
        # Raw: the value is checked for JSON syntax but not turned into Python
        # objects (that cost 12 ms per MiB and was thrown away).
        document = _document_decoder.decode(raw)
        raw.decode("utf-8")  # Raw does not check the UTF-8 inside strings
    except msgspec.ValidationError as exc:
        if "missing required field" in str(exc):
            raise NativeError(400, 'The field "data" is missing: send {"data": ...}.') from None
        raise NativeError(400, 'The body must be a JSON object: {"data": ...}.') from None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise NativeError(400, f"The body is not valid JSON: {_short(exc)}") from None
    data = bytes(document.data)
    return b'{"data":' + data + b"}", data


class _Document(msgspec.Struct):
    data: msgspec.Raw


_document_decoder = msgspec.json.Decoder(_Document)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


class _FileIntake:
    """The state of one multipart upload as its chunks arrive."""

    def __init__(self, kind: ObjectType, limits: Limits, sniffer: Sniffer) -> None:
        self.kind = kind
        self.limits = limits
        self.sniffer = sniffer
        self.body = bytearray()
        self.md5 = hashlib.md5()  # noqa: S324 - the S3 ETag, not a security hash
        self.in_file = False
        self.found = False
        self.complete = False
        self.filename: str | None = None
        self.detected: str | None = None

    def on_event(self, event: PartBegin | PartData | PartEnd) -> None:
        if isinstance(event, PartBegin):
            if event.name == FILE_FIELD and not self.found:
                self.in_file = self.found = True
                self.filename = event.filename
        elif isinstance(event, PartData):
            if self.in_file:
                self.add(event.data)
        elif self.in_file:
            self.in_file = False
            self.complete = True
            self.check_type()

    def add(self, data: bytes) -> None:
        if len(self.body) + len(data) > self.limits.max_bytes:
            raise _too_large(self.limits.max_bytes)
        self.body += data
        self.md5.update(data)
        if self.detected is None and len(self.body) >= self.limits.sniff_bytes:
            self.check_type()

    def check_type(self) -> None:
        if self.detected is not None:
            return
        self.detected = self.sniffer.detect(bytes(self.body[: self.limits.sniff_bytes]))
        if not accepts(self.kind, self.detected):
            raise NativeError(
                415,
                f"The file was detected as {self.detected}; this endpoint accepts "
                f"{expected(self.kind)} only.",
            )


async def read_file(
    receive: Receive,
    content_type: str | None,
    content_length: str | None,
    kind: ObjectType,
    limits: Limits,
    sniffer: Sniffer,
) -> Upload:
    """Read the ``file`` part of a multipart upload, verifying its type."""
    chunks = _chunks(receive, limits.idle_timeout)
    cap = limits.max_bytes + _MULTIPART_OVERHEAD
    try:
        parser = MultipartParser(boundary_of(content_type))
        declared = _declared_length(content_length)
        if declared is not None and declared > cap:
            raise _too_large(limits.max_bytes)
        intake = _FileIntake(kind, limits, sniffer)
        received = 0
        async for chunk in chunks:
            received += len(chunk)
            if received > cap:
                raise _too_large(limits.max_bytes)
            for event in parser.feed(chunk):
                intake.on_event(event)
        parser.close()
    except MultipartError as exc:
        await _drain(chunks)
        raise NativeError(400, f"Malformed multipart body: {exc}") from None
    except NativeError:
        await _drain(chunks)
        raise
    if not intake.complete:
        raise NativeError(400, f'The multipart body has no "{FILE_FIELD}" part.')
    if intake.detected is None:  # pragma: no cover - set when the part ended
        raise NativeError(400, "The file could not be examined.")
    return Upload(
        body=intake.body,
        md5=intake.md5.hexdigest(),
        content_type=intake.detected,
        filename=intake.filename,
    )
