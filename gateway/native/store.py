"""The native API's storage calls: the same contract requests as S3.

Objects are stored with ``PutObject`` in the native bucket, read with
``GetObject``/``HeadObject``, removed with ``DeleteObject`` and listed with
``ListObjects`` under a type's prefix, all through :class:`gateway.caller.Caller`
like the S3 API, so what one API stores the other sees.

The buckets are created on first use (and again if someone deletes them).
An asynchronous upload's outcome is written by the worker as a small JSON
object at the same key in the status bucket (see ``PutObject.status_key``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from gateway.caller import Caller
from gateway.native.errors import ErrorDetail, NativeError, from_s3
from gateway.native.naming import NativeId, ObjectType, prefix_of
from gateway.native.pagination import Window, collect
from s3compat.errors import S3Error
from sangraha.contract import (
    AnyReply,
    AnyRequest,
    CreateBucket,
    DeleteObject,
    Done,
    GetObject,
    HeadObject,
    ListEntry,
    Listing,
    ListObjects,
    ObjectMeta,
    ObjectWritten,
    PutObject,
)
from sangraha.settings import Settings
from sangraha.transport.base import Outgoing

__all__ = ["NativeStore", "StatusReport", "Stored"]

_LIST_BATCH = 1000
_HEAD_CONCURRENCY = 16
# Clock skew between hosts allowed before a pending upload counts as failed.
_STATUS_GRACE = 5.0


@dataclass(frozen=True, slots=True)
class Stored:
    key: str
    meta: ObjectMeta


@dataclass(frozen=True, slots=True)
class StatusReport:
    status: str
    error: ErrorDetail | None = None


class NativeStore:
    def __init__(self, settings: Settings, caller: Caller) -> None:
        self.bucket = settings.native_bucket
        self.status_bucket = settings.native_status_bucket
        self.async_timeout = settings.native_async_timeout
        self._caller = caller
        self._ready = False
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ plumbing

    async def _call(
        self, request_id: str, request: AnyRequest, payload: bytes | memoryview = b""
    ) -> tuple[AnyReply, Outgoing]:
        try:
            return await self._caller.call(request_id, request, payload)
        except S3Error as exc:
            raise from_s3(exc) from None

    async def ensure_buckets(self, request_id: str) -> None:
        """Create the native and status buckets once per process."""
        if self._ready:
            return
        async with self._lock:
            if self._ready:
                return
            for bucket in (self.bucket, self.status_bucket):
                try:
                    await self._caller.call(request_id, CreateBucket(bucket=bucket))
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise from_s3(exc) from None
            self._ready = True

    # ------------------------------------------------------------ writes

    def _put_request(
        self,
        key: str,
        body: bytes | bytearray,
        md5: str,
        content_type: str,
        headers: dict[str, str],
        metadata: dict[str, str],
        status: bool,
    ) -> PutObject:
        return PutObject(
            bucket=self.bucket,
            key=key,
            size=len(body),
            md5=md5,
            content_type=content_type,
            headers=headers,
            metadata=metadata,
            status_bucket=self.status_bucket if status else None,
            status_key=key if status else None,
        )

    async def put(
        self,
        request_id: str,
        key: str,
        body: bytes | bytearray,
        md5: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """Store the object; returns its ETag once it is durable."""
        await self.ensure_buckets(request_id)
        request = self._put_request(
            key, body, md5, content_type, headers or {}, metadata or {}, status=False
        )
        for attempt in (1, 2):
            try:
                reply, _ = await self._caller.call(request_id, request, memoryview(body))
            except S3Error as exc:
                if exc.code == "NoSuchBucket" and attempt == 1:
                    self._ready = False
                    await self.ensure_buckets(request_id)
                    continue
                raise from_s3(exc) from None
            if not isinstance(reply, ObjectWritten):
                raise NativeError(500, f"unexpected {type(reply).__name__} reply")
            return reply.etag
        raise NativeError(503, "The native bucket could not be created.")  # pragma: no cover

    async def submit(
        self,
        request_id: str,
        key: str,
        body: bytes | bytearray,
        md5: str,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Hand the object over for asynchronous storage: returns once the
        transport holds it durably; the worker records the outcome."""
        await self.ensure_buckets(request_id)
        request = self._put_request(
            key, body, md5, content_type, headers or {}, metadata or {}, status=True
        )
        try:
            await self._caller.submit(request_id, request, memoryview(body), self.async_timeout)
        except S3Error as exc:
            raise from_s3(exc) from None

    async def delete(self, request_id: str, key: str) -> None:
        await self.head(request_id, key)  # 404 for an unknown id
        reply, _ = await self._call(request_id, DeleteObject(bucket=self.bucket, key=key))
        if not isinstance(reply, Done):
            raise NativeError(500, f"unexpected {type(reply).__name__} reply")

    # ------------------------------------------------------------ reads

    async def head(self, request_id: str, key: str) -> ObjectMeta:
        reply, _ = await self._call(request_id, HeadObject(bucket=self.bucket, key=key))
        if not isinstance(reply, ObjectMeta):
            raise NativeError(500, f"unexpected {type(reply).__name__} reply")
        return reply

    async def get(self, request_id: str, key: str) -> tuple[ObjectMeta, Outgoing]:
        reply, body = await self._call(request_id, GetObject(bucket=self.bucket, key=key))
        if not isinstance(reply, ObjectMeta):
            raise NativeError(500, f"unexpected {type(reply).__name__} reply")
        return reply, body

    async def _pages(self, request_id: str, prefix: str) -> AsyncIterator[list[ListEntry]]:
        cursor: str | None = None
        start_after = ""
        while True:
            request = ListObjects(
                bucket=self.bucket,
                prefix=prefix,
                max_keys=_LIST_BATCH,
                cursor=cursor,
                start_after="" if cursor else start_after,
            )
            try:
                reply, _ = await self._caller.call(request_id, request)
            except S3Error as exc:
                if exc.code == "NoSuchBucket":
                    return
                raise from_s3(exc) from None
            if not isinstance(reply, Listing):
                raise NativeError(500, f"unexpected {type(reply).__name__} reply")
            # Keys ending in "/" are folder markers some S3 consoles create.
            yield [e for e in reply.entries if not e.key.endswith("/")]
            if not reply.is_truncated:
                return
            cursor = reply.next_cursor
            if cursor is None:
                if not reply.last:
                    return
                start_after = reply.last

    async def _all_pages(
        self, request_id: str, kinds: tuple[ObjectType, ...]
    ) -> AsyncIterator[list[ListEntry]]:
        for kind in kinds:
            async for page in self._pages(request_id, prefix_of(kind)):
                yield page

    async def list_page(
        self, request_id: str, kinds: tuple[ObjectType, ...], window: Window
    ) -> tuple[int, list[tuple[ListEntry, str]]]:
        """The total count under the prefixes of ``kinds``, and the entries of
        the page ``window`` with their content types (one HEAD each)."""
        total, entries = await collect(self._all_pages(request_id, kinds), window)
        slots = asyncio.Semaphore(_HEAD_CONCURRENCY)

        async def content_type(index: int, entry: ListEntry) -> str | None:
            # Concurrent calls need distinct correlation IDs; the suffix keeps
            # them traceable to the request.
            async with slots:
                try:
                    return (await self.head(f"{request_id}.{index}", entry.key)).content_type
                except NativeError as exc:
                    if exc.status == 404:  # deleted since it was listed
                        return None
                    raise

        types = await asyncio.gather(*(content_type(i, e) for i, e in enumerate(entries)))
        return total, [(e, t) for e, t in zip(entries, types, strict=True) if t is not None]

    async def status(self, request_id: str, native_id: NativeId) -> StatusReport:
        """Pending, stored or failed: the worker's record if there is one,
        else whether the object exists, else whether its deadline has passed."""
        try:
            _, body = await self._caller.call(
                request_id, GetObject(bucket=self.status_bucket, key=native_id.key)
            )
        except S3Error as exc:
            if exc.code not in ("NoSuchKey", "NoSuchBucket"):
                raise from_s3(exc) from None
        else:
            record = _parse_record(body, request_id)
            if record is not None:
                return record
        try:
            await self.head(request_id, native_id.key)
            return StatusReport("stored")
        except NativeError as exc:
            if exc.status != 404:
                raise
        if native_id.created is None:
            raise NativeError(404, "No upload with this id.")
        if time.time() < native_id.created + self.async_timeout + _STATUS_GRACE:
            return StatusReport("pending")
        return StatusReport(
            "failed",
            ErrorDetail(
                code="expired",
                message="The upload was not stored before its deadline and never will be; "
                "post it again.",
                request_id=request_id,
            ),
        )


def _parse_record(body: Outgoing, request_id: str) -> StatusReport | None:
    if not isinstance(body, bytes | memoryview):
        return None  # a status record is tiny; anything streamed is not one
    try:
        record = json.loads(bytes(body))
        status = record["status"]
    except (ValueError, KeyError, TypeError):
        return None
    if status == "stored":
        return StatusReport("stored")
    if status == "failed":
        error = record.get("error") or {}
        return StatusReport(
            "failed",
            ErrorDetail(
                code=str(error.get("code", "failed")),
                message=str(error.get("message", "The upload failed.")),
                request_id=request_id,
            ),
        )
    return None
