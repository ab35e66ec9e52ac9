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
    "Abort",
    "AbortMultipartUpload",
    "Answer",
    "AnyReply",
    "AnyRequest",
    "AnyStreamFrame",
    "BucketInfo",
    "BucketList",
    "Call",
    "Chunk",
    "CompleteMultipartUpload",
    "CompletedPart",
    "ContractError",
    "CopyObject",
    "CreateBucket",
    "CreateMultipartUpload",
    "Credit",
    "DeleteBucket",
    "DeleteObject",
    "DeleteObjectTagging",
    "DeleteObjects",
    "Done",
    "Failure",
    "GetObject",
    "GetObjectTagging",
    "HeadBucket",
    "HeadObject",
    "KeyFailure",
    "ListBuckets",
    "ListEntry",
    "ListMultipartUploads",
    "ListObjects",
    "ListParts",
    "Listing",
    "ObjectCopied",
    "ObjectMeta",
    "ObjectWritten",
    "ObjectsDeleted",
    "PartInfo",
    "PartList",
    "PartWritten",
    "Ping",
    "PingWriter",
    "PutObject",
    "PutObjectTagging",
    "Reply",
    "Request",
    "Route",
    "StreamFrame",
    "StreamOpen",
    "TagSet",
    "UploadCompleted",
    "UploadCreated",
    "UploadInfo",
    "UploadList",
    "UploadPart",
    "UploadPartCopy",
    "decode_answer",
    "decode_call",
    "decode_stream",
    "encode_answer",
    "encode_call",
    "encode_stream",
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

    ``streamed``: the body is too large for one frame.  The frame carries no
    payload; the receiver answers :class:`StreamOpen` and the body follows as
    :class:`Chunk` frames (see "Streams" below).  ``md5`` is empty when the
    gateway did not compute it (it does only to check a client's Content-MD5);
    storage computes the ETag itself.

    ``checksums`` maps algorithm names (``CRC32``, ``CRC32C``, ``CRC64NVME``,
    ``SHA1``, ``SHA256``) to the base64 values the gateway verified; storage
    keeps them and reports them in :class:`ObjectMeta`.  ``tags`` is the
    object's tag set (``x-amz-tagging``).  ``conditions`` holds the
    conditional-write headers ``if-match`` / ``if-none-match`` (only ``*``),
    which storage checks atomically with the write.
    """

    ROUTE = Route.WRITE
    HAS_PAYLOAD = True
    bucket: str
    key: str
    size: int
    md5: str
    streamed: bool = False
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = {}
    headers: dict[str, str] = {}
    checksums: dict[str, str] = {}
    tags: dict[str, str] = {}
    conditions: dict[str, str] = {}
    # Asynchronous puts (native API, ``Prefer: respond-async``): when set, the
    # worker records the outcome as a JSON object at status_bucket/status_key:
    # {"status": "stored", "etag": ...} or {"status": "failed", "error":
    # {"code": ..., "message": ...}}.
    status_bucket: str | None = None
    status_key: str | None = None


class GetObject(Request, frozen=True, kw_only=True, tag=True):
    """Read an object.  ``range`` is the raw HTTP Range header value, resolved by
    the worker against the object's real size; ``conditions`` are the
    If-* headers (lower-case names), checked against the object being read.
    ``checksum_mode`` is set when the client asked for the stored checksums
    (``x-amz-checksum-mode: ENABLED``)."""

    ROUTE = Route.READ
    bucket: str
    key: str
    range: str | None = None
    conditions: dict[str, str] = {}
    checksum_mode: bool = False


class HeadObject(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.READ
    bucket: str
    key: str
    range: str | None = None
    conditions: dict[str, str] = {}
    checksum_mode: bool = False


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


class CopyObject(Request, frozen=True, kw_only=True, tag=True):
    """Copy ``source_bucket/source_key`` to ``bucket/key`` inside storage: no
    object bytes travel through the gateway or the broker.

    With ``replace_metadata`` (MetadataDirective REPLACE) the copy gets
    ``content_type``, ``metadata`` and ``headers`` from the request, otherwise
    the source's.  With ``replace_tags`` (TaggingDirective REPLACE) it gets
    ``tags``, otherwise the source's.  ``source_conditions`` are the
    ``x-amz-copy-source-if-*`` headers (full lower-case names), checked against
    the source; ``conditions`` the ``if-match`` / ``if-none-match`` headers,
    checked against the destination atomically with the write.  The copy
    keeps the source's ETag and checksums: the bytes are the same.
    """

    ROUTE = Route.WRITE
    bucket: str
    key: str
    source_bucket: str
    source_key: str
    replace_metadata: bool = False
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = {}
    headers: dict[str, str] = {}
    replace_tags: bool = False
    tags: dict[str, str] = {}
    source_conditions: dict[str, str] = {}
    conditions: dict[str, str] = {}


class DeleteObjects(Request, frozen=True, kw_only=True, tag=True):
    """Delete up to 1000 keys of one bucket.  Each key succeeds or fails on its
    own; deleting a key that does not exist succeeds, as in S3."""

    ROUTE = Route.WRITE
    bucket: str
    keys: list[str]


class GetObjectTagging(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.READ
    bucket: str
    key: str


class PutObjectTagging(Request, frozen=True, kw_only=True, tag=True):
    """Replace the tag set of an existing object (not its data or metadata)."""

    ROUTE = Route.WRITE
    bucket: str
    key: str
    tags: dict[str, str]


class DeleteObjectTagging(Request, frozen=True, kw_only=True, tag=True):
    ROUTE = Route.WRITE
    bucket: str
    key: str


# Multipart uploads (see docs/multipart.md).  An upload is created, receives
# numbered parts (uploaded, or copied from an existing object), and is
# completed into one object whose ETag is the MD5 of the part MD5s with "-N",
# or aborted.  What the object keeps (content type, metadata, headers, tags)
# is given at creation, as in S3.


class CreateMultipartUpload(Request, frozen=True, kw_only=True, tag=True):
    """Start a multipart upload of ``bucket/key``; the reply is :class:`UploadCreated`.

    ``checksum_algorithm`` (``CRC32``, ``CRC32C``, ``CRC64NVME``, ``SHA1``,
    ``SHA256``; empty for none) is the checksum every part gets and the
    object's checksum is built from; ``checksum_type`` says how:
    ``COMPOSITE`` (the checksum of the part checksums, with ``-N``) or
    ``FULL_OBJECT`` (the CRC of the whole object)."""

    ROUTE = Route.WRITE
    bucket: str
    key: str
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = {}
    headers: dict[str, str] = {}
    tags: dict[str, str] = {}
    checksum_algorithm: str = ""
    checksum_type: str = ""


class UploadPart(Request, frozen=True, kw_only=True, tag=True):
    """Store the frame's payload as part ``part_number`` (1..10000) of an upload,
    replacing any earlier part of that number; the reply is :class:`PartWritten`.

    The body travels exactly as a :class:`PutObject` body does: inline, or
    ``streamed`` as chunks.
    ``checksums`` are the part's verified ``x-amz-checksum-*`` values."""

    ROUTE = Route.WRITE
    HAS_PAYLOAD = True
    bucket: str
    key: str
    upload_id: str
    part_number: int
    size: int
    md5: str
    streamed: bool = False
    checksums: dict[str, str] = {}


class UploadPartCopy(Request, frozen=True, kw_only=True, tag=True):
    """Make part ``part_number`` a copy of ``source_bucket/source_key`` (or of
    ``source_range``, the raw ``x-amz-copy-source-range`` value, resolved by
    the worker against the source's size) inside storage.
    ``source_conditions`` are the ``x-amz-copy-source-if-*`` headers."""

    ROUTE = Route.WRITE
    bucket: str
    key: str
    upload_id: str
    part_number: int
    source_bucket: str
    source_key: str
    source_range: str | None = None
    source_conditions: dict[str, str] = {}


class CompletedPart(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One part named in a CompleteMultipartUpload: its number, the ETag the
    client was given (no quotes), and any checksums it lists for it."""

    number: int
    etag: str
    checksums: dict[str, str] = {}


class CompleteMultipartUpload(Request, frozen=True, kw_only=True, tag=True):
    """Assemble the listed parts (ascending numbers) into the object and end the
    upload; the reply is :class:`UploadCompleted`.  Every part but the last
    must be at least 5 MiB.  ``checksums`` are whole-object checksums the
    client sent to be checked; ``conditions`` the ``if-match`` /
    ``if-none-match`` headers, checked atomically with the write."""

    ROUTE = Route.WRITE
    bucket: str
    key: str
    upload_id: str
    parts: list[CompletedPart]
    checksums: dict[str, str] = {}
    conditions: dict[str, str] = {}


class AbortMultipartUpload(Request, frozen=True, kw_only=True, tag=True):
    """End an upload and remove its parts; ``NoSuchUpload`` if there is none."""

    ROUTE = Route.WRITE
    bucket: str
    key: str
    upload_id: str


class ListParts(Request, frozen=True, kw_only=True, tag=True):
    """One page of an upload's parts, ascending, after ``part_number_marker``."""

    ROUTE = Route.READ
    bucket: str
    key: str
    upload_id: str
    max_parts: int = 1000
    part_number_marker: int = 0


class ListMultipartUploads(Request, frozen=True, kw_only=True, tag=True):
    """One page of a bucket's uploads in progress, ordered by key, then upload
    ID.  With ``key_marker`` the page starts after that key or, with
    ``upload_id_marker`` too, after that upload of that key."""

    ROUTE = Route.READ
    bucket: str
    prefix: str = ""
    delimiter: str = ""
    max_uploads: int = 1000
    key_marker: str = ""
    upload_id_marker: str = ""


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


class StreamOpen(Reply, frozen=True, kw_only=True, tag=True):
    """A receiver is ready for a streamed body: send :class:`Chunk` frames to
    ``queue``, at most ``window`` of them not yet acknowledged by a
    :class:`Credit`."""

    queue: str
    window: int


class ObjectWritten(Reply, frozen=True, kw_only=True, tag=True):
    """The object is durable in storage; ``etag`` is what the client is told."""

    etag: str


class ObjectMeta(Reply, frozen=True, kw_only=True, tag=True):
    """What HEAD and GET report.  For a GET the payload follows in the frame;
    ``range`` is the inclusive byte range it covers, if a range was served.

    ``stream_queue`` is set when the bytes are too many for one frame: they
    follow as :class:`Chunk` frames, and the caller grants more with
    :class:`Credit` frames sent to ``stream_queue`` (see "Streams").

    ``checksums`` (algorithm -> base64) are the stored whole-object checksums
    (a driver may leave them out unless ``checksum_mode`` was asked);
    ``tag_count`` is the number of tags on the object."""

    etag: str
    size: int
    last_modified: float
    content_type: str
    metadata: dict[str, str] = {}
    headers: dict[str, str] = {}
    range: tuple[int, int] | None = None
    stream_queue: str | None = None
    window: int = 0
    checksums: dict[str, str] = {}
    tag_count: int = 0


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


class ObjectCopied(Reply, frozen=True, kw_only=True, tag=True):
    """The copy is durable; what CopyObjectResult reports."""

    etag: str
    last_modified: float


class KeyFailure(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One key of a DeleteObjects request that could not be deleted."""

    key: str
    code: str
    message: str


class ObjectsDeleted(Reply, frozen=True, kw_only=True, tag=True):
    deleted: list[str]
    errors: list[KeyFailure] = []


class TagSet(Reply, frozen=True, kw_only=True, tag=True):
    tags: dict[str, str]


class UploadCreated(Reply, frozen=True, kw_only=True, tag=True):
    upload_id: str
    checksum_algorithm: str = ""
    checksum_type: str = ""


class PartWritten(Reply, frozen=True, kw_only=True, tag=True):
    """A part is durable: its ETag (the MD5 of its bytes), when it was written,
    and its checksums (algorithm -> base64)."""

    etag: str
    last_modified: float = 0.0
    checksums: dict[str, str] = {}


class UploadCompleted(Reply, frozen=True, kw_only=True, tag=True):
    """The object is durable and the upload is gone.  ``checksums`` are the
    object's checksums, of ``checksum_type`` (``COMPOSITE`` values end in
    ``-N``)."""

    etag: str
    checksums: dict[str, str] = {}
    checksum_type: str = ""


class PartInfo(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    number: int
    etag: str
    size: int
    last_modified: float
    checksums: dict[str, str] = {}


class PartList(Reply, frozen=True, kw_only=True, tag=True):
    """One ListParts page; ``next_marker`` is the last part number listed when
    the page is truncated."""

    parts: list[PartInfo]
    is_truncated: bool
    next_marker: int | None = None
    checksum_algorithm: str = ""
    checksum_type: str = ""


class UploadInfo(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    key: str
    upload_id: str
    initiated: float


class UploadList(Reply, frozen=True, kw_only=True, tag=True):
    """One ListMultipartUploads page.  When truncated, ``next_key_marker`` is the
    last key (or common prefix) listed and ``next_upload_id_marker`` the last
    upload ID (None after a common prefix)."""

    uploads: list[UploadInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None = None
    next_upload_id_marker: str | None = None


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
    | CopyObject
    | DeleteObjects
    | GetObjectTagging
    | PutObjectTagging
    | DeleteObjectTagging
    | CreateMultipartUpload
    | UploadPart
    | UploadPartCopy
    | CompleteMultipartUpload
    | AbortMultipartUpload
    | ListParts
    | ListMultipartUploads
)
AnyReply = (
    Done
    | Failure
    | BucketList
    | StreamOpen
    | ObjectWritten
    | ObjectMeta
    | Listing
    | ObjectCopied
    | ObjectsDeleted
    | TagSet
    | UploadCreated
    | PartWritten
    | UploadCompleted
    | PartList
    | UploadList
)


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


# --------------------------------------------------------------------------- streams
#
# Bodies larger than one frame (SANGRAHA_MAX_INLINE_BYTES) travel as a
# sequence of Chunk frames with credit-based flow control, in both directions:
#
#   upload (PutObject, streamed=True)       download (GetObject of a large object)
#   gateway            receiver             gateway             getter
#   Call ───────────────▶                   Call ───────────────▶
#        ◀──── StreamOpen(queue, window)         ◀── ObjectMeta(stream_queue, window)
#   Chunk(seq) ─────────▶ queue                  ◀──────────────── Chunk(seq)
#        ◀─────────────── Credit(seq)       Credit(seq) ─────────▶ stream_queue
#   Chunk(last) ────────▶                        ◀──────────────── Chunk(last)
#        ◀─────────────── ObjectWritten
#
# A sender never has more than ``window`` chunks unacknowledged, so no
# process and no queue holds more than window * chunk size of one body.
# Either side sends Abort to stop; a side that hears nothing for the idle
# timeout gives up.  An upload's last chunk (holding the final bytes) is sent
# only after the gateway has verified the whole body, so a bad or truncated
# upload never completes in storage.


class StreamFrame(msgspec.Struct, frozen=True, kw_only=True, tag_field="frame"):
    """The head of a stream frame (AMQP message type ``stream``)."""

    v: int = CONTRACT_VERSION
    request_id: str


class Chunk(StreamFrame, frozen=True, kw_only=True, tag=True):
    """Body bytes (the frame's payload)."""

    seq: int
    last: bool = False


class Credit(StreamFrame, frozen=True, kw_only=True, tag=True):
    """Chunks up to and including ``seq`` have been consumed."""

    seq: int


class Abort(StreamFrame, frozen=True, kw_only=True, tag=True):
    """Stop the stream; nothing may be committed."""

    reason: str


AnyStreamFrame = Chunk | Credit | Abort


_HEAD_LEN = struct.Struct(">I")
_MAX_HEAD = 16 * 1024 * 1024

_encoder = msgspec.json.Encoder()
_call_decoder = msgspec.json.Decoder(Call)
_answer_decoder = msgspec.json.Decoder(Answer)
_stream_decoder = msgspec.json.Decoder(AnyStreamFrame)


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


def encode_stream(frame: AnyStreamFrame, payload: bytes | memoryview = b"") -> bytes:
    """Frame a stream message; only a :class:`Chunk` carries a payload."""
    if payload and not isinstance(frame, Chunk):
        raise ContractError(f"{type(frame).__name__} carries no payload")
    return _frame(_encoder.encode(frame), payload)


def decode_stream(frame: bytes | memoryview) -> tuple[AnyStreamFrame, memoryview]:
    """Split and validate a stream frame; raises :class:`ContractError`."""
    head, payload = _split(frame)
    try:
        message = _stream_decoder.decode(head)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ContractError(f"bad stream head: {exc}") from None
    _check_version(message.v)
    if payload and not isinstance(message, Chunk):
        raise ContractError(f"{type(message).__name__} carries no payload")
    return message, payload
