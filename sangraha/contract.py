"""The operation contract: every message between the gateway and the workers.

Read this module first; the rest of Sangraha is built around it.

The gateway turns one HTTP request into one :class:`Call` carrying one
:class:`Request` (an S3 operation with typed fields).  A worker executes it on
storage and answers with one :class:`Answer` carrying one :class:`Reply`:
either a typed result or a :class:`Failure` with an S3 error code.

Object bytes never travel inside JSON.  A message is a *frame*::

    +----------------+------------------------+---------------------------+
    | 4 bytes, u32BE | head: JSON (msgspec)   | payload: raw object bytes |
    | head length    | a Call or an Answer    | (PutObject / GetObject)   |
    +----------------+------------------------+---------------------------+

The same frame is the AMQP message body and the in-process hand-off, so both
transports carry exactly the same bytes.  The version field ``v`` lets a
future gateway and an older worker refuse each other cleanly: decoding a
frame of another version, or anything malformed, raises :class:`ContractError`
and nothing else.

Routing: requests whose class has ``ROUTE = Route.WRITE`` go to
``object_write_queue`` (the receiver), ``Route.READ`` to ``object_read_queue``
(the getter).  Replies go back on the caller's reply queue, matched by the
correlation ID, which is also the request ID the client sees as
``x-amz-request-id``.
"""

from __future__ import annotations

import enum
import struct
import time
from typing import ClassVar, Final

import msgspec

__all__ = [
    "CONTRACT_VERSION",
    "DEAD_LETTER_EXCHANGE",
    "DEAD_LETTER_QUEUE",
    "READ_QUEUE",
    "RESPONSE_QUEUE_PREFIX",
    "WRITE_QUEUE",
    "Answer",
    "AnyReply",
    "AnyRequest",
    "BucketInfo",
    "BucketList",
    "Call",
    "ContractError",
    "CreateBucket",
    "DeleteBucket",
    "DeleteObject",
    "Done",
    "Failure",
    "GetObject",
    "HeadBucket",
    "HeadObject",
    "ListBuckets",
    "ListEntry",
    "ListObjects",
    "Listing",
    "ObjectMeta",
    "ObjectWritten",
    "Ping",
    "PingWriter",
    "PutObject",
    "Reply",
    "Request",
    "Route",
    "decode_answer",
    "decode_call",
    "encode_answer",
    "encode_call",
]

CONTRACT_VERSION: Final = 1

WRITE_QUEUE: Final = "object_write_queue"
READ_QUEUE: Final = "object_read_queue"
RESPONSE_QUEUE_PREFIX: Final = "object_response_queue."
DEAD_LETTER_EXCHANGE: Final = "sangraha.dead_letter"
DEAD_LETTER_QUEUE: Final = "sangraha.dead_letter"


class ContractError(Exception):
    """A frame that is not a valid message of this contract version."""


class Route(enum.Enum):
    """Which worker role executes a request."""

    WRITE = WRITE_QUEUE
    READ = READ_QUEUE


# --------------------------------------------------------------------------- requests


class Request(msgspec.Struct, frozen=True, kw_only=True, tag_field="op"):
    """One S3 operation.  The class name is the operation name on the wire."""

    ROUTE: ClassVar[Route]
    HAS_PAYLOAD: ClassVar[bool] = False


class Ping(Request, frozen=True, kw_only=True, tag=True):
    """Readiness probe: a worker answers Done when its storage answers.
    ``route`` selects which role to probe."""

    ROUTE = Route.READ


class PingWriter(Ping, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.WRITE


class ListBuckets(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.READ


class CreateBucket(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.WRITE
    bucket: str


class HeadBucket(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.READ
    bucket: str


class DeleteBucket(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.WRITE
    bucket: str


class PutObject(Request, frozen=True, kw_only=True, tag=True):
    """Store the frame's payload as ``bucket/key``.

    The gateway has already verified the body (signature, Content-MD5,
    checksums); ``size`` is the payload length and ``md5`` its hex MD5, which
    storage must reproduce as the ETag.  ``headers`` holds the standard
    headers S3 stores with an object (Cache-Control, Content-Disposition,
    Content-Encoding, Content-Language, Expires); ``metadata`` the user
    metadata without its ``x-amz-meta-`` prefix.
    """

    ROUTE = Route.WRITE
    HAS_PAYLOAD = True
    bucket: str
    key: str
    size: int
    md5: str
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = {}
    headers: dict[str, str] = {}


class GetObject(Request, frozen=True, kw_only=True, tag=True):
    """Read an object.  ``range`` is the raw HTTP Range header value, resolved by
    the worker against the object's real size; ``conditions`` are the
    If-* headers (lower-case names), checked against the object being read."""

    ROUTE = Route.READ
    bucket: str
    key: str
    range: str | None = None
    conditions: dict[str, str] = {}


class HeadObject(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.READ
    bucket: str
    key: str
    range: str | None = None
    conditions: dict[str, str] = {}


class DeleteObject(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.WRITE
    bucket: str
    key: str


class ListObjects(Request, frozen=True, kw_only=True, tag=True):
    """One page of a bucket listing in S3 order (UTF-8 binary key order).

    ``start_after`` is exclusive.  ``cursor`` is the storage's own resume
    point from a previous page (``Listing.next_cursor``); the gateway wraps it
    in an opaque continuation token and never interprets it.
    """

    ROUTE = Route.READ
    bucket: str
    prefix: str = ""
    delimiter: str = ""
    max_keys: int = 1000
    start_after: str = ""
    cursor: str | None = None


# --------------------------------------------------------------------------- replies


class Reply(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    """The result of one request."""


class Done(Reply, frozen=True, kw_only=True, tag=True):
    """Success with nothing to report."""


class Failure(Reply, frozen=True, kw_only=True, tag=True):
    """An S3 error: ``code`` is a code of :mod:`s3compat.errors`."""

    code: str
    message: str
    headers: dict[str, str] = {}


class BucketInfo(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    created: float


class BucketList(Reply, frozen=True, kw_only=True, tag=True):
    buckets: list[BucketInfo]


class ObjectWritten(Reply, frozen=True, kw_only=True, tag=True):
    """The object is durable in storage; ``etag`` is what the client is told."""

    etag: str


class ObjectMeta(Reply, frozen=True, kw_only=True, tag=True):
    """What HEAD and GET report.  For a GET the payload follows in the frame;
    ``range`` is the inclusive byte range it covers, if a range was served."""

    etag: str
    size: int
    last_modified: float
    content_type: str
    metadata: dict[str, str] = {}
    headers: dict[str, str] = {}
    range: tuple[int, int] | None = None


class ListEntry(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    key: str
    size: int
    etag: str
    last_modified: float


class Listing(Reply, frozen=True, kw_only=True, tag=True):
    """One listing page.  ``next_cursor`` is set exactly when the page is
    truncated; ``last`` is the last key or common prefix returned (the V1
    NextMarker)."""

    entries: list[ListEntry]
    common_prefixes: list[str]
    is_truncated: bool
    next_cursor: str | None = None
    last: str | None = None


AnyRequest = (
    Ping
    | PingWriter
    | ListBuckets
    | CreateBucket
    | HeadBucket
    | DeleteBucket
    | PutObject
    | GetObject
    | HeadObject
    | DeleteObject
    | ListObjects
)
AnyReply = Done | Failure | BucketList | ObjectWritten | ObjectMeta | Listing


# --------------------------------------------------------------------------- envelopes


class Call(msgspec.Struct, frozen=True, kw_only=True):
    """The head of a request frame."""

    v: int = CONTRACT_VERSION
    request_id: str
    deadline: float
    request: AnyRequest

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.deadline

    def remaining(self, now: float | None = None) -> float:
        return self.deadline - (time.time() if now is None else now)


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """The head of a reply frame."""

    v: int = CONTRACT_VERSION
    request_id: str
    reply: AnyReply


_HEAD_LEN = struct.Struct(">I")
_MAX_HEAD = 16 * 1024 * 1024

_encoder = msgspec.json.Encoder()
_call_decoder = msgspec.json.Decoder(Call)
_answer_decoder = msgspec.json.Decoder(Answer)


def _frame(head: bytes, payload: bytes | memoryview) -> bytes:
    return b"".join((_HEAD_LEN.pack(len(head)), head, payload))


def _split(frame: bytes | memoryview) -> tuple[memoryview, memoryview]:
    view = memoryview(frame)
    if len(view) < _HEAD_LEN.size:
        raise ContractError("frame shorter than its length prefix")
    (length,) = _HEAD_LEN.unpack_from(view)
    if length > _MAX_HEAD or _HEAD_LEN.size + length > len(view):
        raise ContractError(f"frame head length {length} exceeds the frame")
    end = _HEAD_LEN.size + length
    return view[_HEAD_LEN.size : end], view[end:]


def encode_call(call: Call, payload: bytes | memoryview = b"") -> bytes:
    """Frame a request; ``payload`` is the object body for PutObject."""
    if payload and not type(call.request).HAS_PAYLOAD:
        raise ContractError(f"{type(call.request).__name__} carries no payload")
    return _frame(_encoder.encode(call), payload)


def encode_answer(answer: Answer, payload: bytes | memoryview = b"") -> bytes:
    """Frame a reply; ``payload`` is the object body for a GetObject result."""
    return _frame(_encoder.encode(answer), payload)


def _check_version(v: int) -> None:
    if v != CONTRACT_VERSION:
        raise ContractError(f"contract version {v} is not {CONTRACT_VERSION}")


def decode_call(frame: bytes | memoryview) -> tuple[Call, memoryview]:
    """Split and validate a request frame; raises :class:`ContractError`."""
    head, payload = _split(frame)
    try:
        call = _call_decoder.decode(head)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"bad call head: {exc}") from None
    _check_version(call.v)
    if payload and not type(call.request).HAS_PAYLOAD:
        raise ContractError(f"{type(call.request).__name__} carries no payload")
    return call, payload


def decode_answer(frame: bytes | memoryview) -> tuple[Answer, memoryview]:
    """Split and validate a reply frame; raises :class:`ContractError`."""
    head, payload = _split(frame)
    try:
        answer = _answer_decoder.decode(head)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"bad answer head: {exc}") from None
    _check_version(answer.v)
    return answer, payload
