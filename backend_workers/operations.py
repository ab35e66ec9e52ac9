"""The operation handlers: one contract call in, one storage call, one reply out.

These run unchanged in the receiver, the getter and embedded mode; only the
storage driver and the transport differ.  Exceptions become contract
:class:`Failure` replies here, at one boundary.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from backend_workers.storage.base import ObjectRead, Storage, StorageUnavailable
from s3compat.errors import S3Error
from sangraha.contract import (
    AbortMultipartUpload,
    AnyReply,
    Call,
    CompleteMultipartUpload,
    CopyObject,
    CreateBucket,
    CreateMultipartUpload,
    DeleteBucket,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    Done,
    Failure,
    GetObject,
    GetObjectTagging,
    HeadBucket,
    HeadObject,
    ListBuckets,
    ListMultipartUploads,
    ListObjects,
    ListParts,
    ObjectWritten,
    Ping,
    PutObject,
    PutObjectTagging,
    Request,
    UploadPart,
    UploadPartCopy,
)
from sangraha.transport.base import IncomingBody, InlineBody, Outgoing

__all__ = ["Operations"]

log = logging.getLogger(__name__)

_Outcome = tuple[AnyReply, Outgoing]


async def _verified(body: IncomingBody, size: int) -> AsyncIterator[bytes | memoryview]:
    """Pass a streamed body through, checking its length.  Its content was
    verified by the gateway, which holds the last chunk back until the whole
    body checked out, so a bad body never completes a store's PUT."""
    received = 0
    async for piece in body:
        received += len(piece)
        if received > size:
            raise S3Error("IncompleteBody", f"the body is longer than the {size} bytes announced")
        yield piece
    if received != size:
        raise S3Error("IncompleteBody", f"received {received} bytes of the {size} announced")


def _body(
    request: PutObject | UploadPart, incoming: IncomingBody
) -> AsyncIterator[bytes | memoryview]:
    """The body of a PutObject or UploadPart for storage: a streamed one has
    its length checked as it passes, an inline one is checked now."""
    if request.streamed:
        return _verified(incoming, request.size)
    payload = incoming.inline if incoming.inline is not None else memoryview(b"")
    if len(payload) != request.size:
        raise S3Error(
            "IncompleteBody",
            f"received {len(payload)} bytes of the {request.size} announced",
        )
    return aiter(incoming)


async def _closing(opened: ObjectRead) -> AsyncIterator[bytes]:
    try:
        async for chunk in opened.chunks:
            yield chunk
    finally:
        await opened.close()


def _length(body: Outgoing) -> int:
    return len(body) if isinstance(body, bytes | memoryview) else -1


class Operations:
    """Dispatch a call to the storage method of its operation."""

    def __init__(self, storage: Storage, *, max_inline_bytes: int) -> None:
        self._storage = storage
        self._max_inline = max_inline_bytes
        s = storage
        self._simple: dict[type[Request], Callable[[Any], Awaitable[AnyReply]]] = {
            ListBuckets: s.list_buckets,
            CreateBucket: s.create_bucket,
            HeadBucket: s.head_bucket,
            DeleteBucket: s.delete_bucket,
            HeadObject: s.head_object,
            DeleteObject: s.delete_object,
            ListObjects: s.list_objects,
            CopyObject: s.copy_object,
            DeleteObjects: s.delete_objects,
            GetObjectTagging: s.get_object_tagging,
            PutObjectTagging: s.put_object_tagging,
            DeleteObjectTagging: s.delete_object_tagging,
            CreateMultipartUpload: s.create_multipart_upload,
            UploadPartCopy: s.upload_part_copy,
            CompleteMultipartUpload: s.complete_multipart_upload,
            AbortMultipartUpload: s.abort_multipart_upload,
            ListParts: s.list_parts,
            ListMultipartUploads: s.list_multipart_uploads,
        }

    async def __call__(self, call: Call, incoming: IncomingBody) -> _Outcome:
        started = time.perf_counter()
        reply, body = await self._execute(call, incoming)
        if isinstance(call.request, PutObject) and call.request.status_key:
            await self._record_status(call.request, reply)
        log.info(
            "%s -> %s",
            type(call.request).__name__,
            reply.code if isinstance(reply, Failure) else "ok",
            extra={
                "op": type(call.request).__name__,
                "bytes_in": len(incoming.inline) if incoming.inline is not None else -1,
                "bytes_out": _length(body),
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return reply, body

    async def _execute(self, call: Call, incoming: IncomingBody) -> _Outcome:
        request = call.request
        try:
            if isinstance(request, PutObject):
                return await self._put(request, incoming), b""
            if isinstance(request, UploadPart):
                return await self._upload_part(request, incoming), b""
            if isinstance(request, GetObject):
                return await self._get(request)
            if isinstance(request, Ping):
                return await self._ping(), b""
            method = self._simple.get(type(request))
            if method is None:
                raise S3Error("NotImplemented", f"{type(request).__name__} is not implemented.")
            return await method(request), b""
        except S3Error as exc:
            return Failure(code=exc.code, message=exc.message, headers=exc.headers), b""
        except StorageUnavailable as exc:
            log.warning("storage unavailable: %s", exc, extra={"op": type(request).__name__})
            return Failure(
                code="ServiceUnavailable",
                message="The storage backend is unavailable; retry later.",
            ), b""

    async def _record_status(self, request: PutObject, reply: AnyReply) -> None:
        """Record the outcome of an asynchronous put (native API, ``Prefer:
        respond-async``) where its status URL reads it.  Best effort: if this
        write fails, the status URL still finds the object itself."""
        if isinstance(reply, ObjectWritten):
            record: dict[str, Any] = {"status": "stored", "etag": reply.etag, "size": request.size}
        else:
            code, message = (
                (reply.code, reply.message)
                if isinstance(reply, Failure)
                else ("InternalError", f"unexpected {type(reply).__name__} reply")
            )
            record = {"status": "failed", "error": {"code": code, "message": message}}
        data = json.dumps(record).encode()
        status = PutObject(
            bucket=request.status_bucket or "",
            key=request.status_key or "",
            size=len(data),
            md5=hashlib.md5(data).hexdigest(),  # noqa: S324 - the S3 ETag
            content_type="application/json",
        )
        try:
            await self._storage.put_object(status, aiter(InlineBody(memoryview(data))))
        except (S3Error, StorageUnavailable) as exc:
            log.warning("could not record the outcome of an asynchronous put: %s", exc)

    async def _ping(self) -> AnyReply:
        if not await self._storage.ready():
            raise StorageUnavailable("storage did not answer the readiness probe")
        return Done()

    async def _put(self, request: PutObject, incoming: IncomingBody) -> AnyReply:
        return await self._storage.put_object(request, _body(request, incoming))

    async def _upload_part(self, request: UploadPart, incoming: IncomingBody) -> AnyReply:
        """A part's body arrives exactly as a PutObject body does."""
        return await self._storage.upload_part(request, _body(request, incoming))

    async def _get(self, request: GetObject) -> _Outcome:
        opened = await self._storage.get_object(request)
        meta = opened.meta
        length = meta.range[1] - meta.range[0] + 1 if meta.range else meta.size
        if length > self._max_inline:
            # Too large for one frame: the transport streams it in chunks and
            # closes the storage read when done or abandoned.
            return meta, _closing(opened)
        try:
            pieces = [chunk async for chunk in opened.chunks]
            body = pieces[0] if len(pieces) == 1 else b"".join(pieces)  # one copy at most
            if len(body) != length:
                raise StorageUnavailable(f"storage sent {len(body)} of {length} bytes")
            return meta, body
        finally:
            await opened.close()
