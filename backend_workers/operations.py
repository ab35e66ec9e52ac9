"""The operation handlers: one contract call in, one storage call, one reply out.

These run unchanged in the receiver, the getter and embedded mode; only the
storage driver and the transport differ.  Exceptions become contract
:class:`Failure` replies here, at one boundary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from backend_workers.storage.base import Storage, StorageUnavailable
from s3compat.errors import S3Error
from sangraha.contract import (
    AnyReply,
    Call,
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    Done,
    Failure,
    GetObject,
    HeadBucket,
    HeadObject,
    ListBuckets,
    ListObjects,
    Ping,
    PutObject,
    Request,
)

__all__ = ["Operations"]

log = logging.getLogger(__name__)

_Outcome = tuple[AnyReply, bytes | memoryview]


async def _single(payload: memoryview) -> AsyncIterator[bytes]:
    yield bytes(payload)


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
        }

    async def __call__(self, call: Call, payload: memoryview) -> _Outcome:
        started = time.perf_counter()
        reply, body = await self._execute(call, payload)
        log.info(
            "%s -> %s",
            type(call.request).__name__,
            reply.code if isinstance(reply, Failure) else "ok",
            extra={
                "op": type(call.request).__name__,
                "bytes_in": len(payload),
                "bytes_out": len(body),
                "ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return reply, body

    async def _execute(self, call: Call, payload: memoryview) -> _Outcome:
        request = call.request
        try:
            if isinstance(request, PutObject):
                return await self._put(request, payload), b""
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

    async def _ping(self) -> AnyReply:
        if not await self._storage.ready():
            raise StorageUnavailable("storage did not answer the readiness probe")
        return Done()

    async def _put(self, request: PutObject, payload: memoryview) -> AnyReply:
        if len(payload) != request.size:
            raise S3Error(
                "IncompleteBody",
                f"received {len(payload)} bytes of the {request.size} announced",
            )
        return await self._storage.put_object(request, _single(payload))

    async def _get(self, request: GetObject) -> _Outcome:
        opened = await self._storage.get_object(request)
        try:
            meta = opened.meta
            length = meta.range[1] - meta.range[0] + 1 if meta.range else meta.size
            if length > self._max_inline:
                raise S3Error(
                    "NotImplemented",
                    f"objects over {self._max_inline} bytes are not streamed yet; use a Range GET",
                )
            body = bytearray()
            async for chunk in opened.chunks:
                body += chunk
            if len(body) != length:
                raise StorageUnavailable(f"storage sent {len(body)} of {length} bytes")
            return meta, bytes(body)
        finally:
            await opened.close()
