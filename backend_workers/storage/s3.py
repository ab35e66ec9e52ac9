"""S3 storage driver: MinIO (or any S3-compatible store) through aiobotocore.

One long-lived client per process, opened at start-up and closed at shutdown,
with short timeouts, standard retries, a sized connection pool and an outer
per-operation deadline.  Every botocore failure is translated into an S3
error in one place, :func:`_translate`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from backend_workers.storage.base import ObjectRead, StorageUnavailable, UnsupportedStorage
from s3compat.errors import CATALOGUE, S3Error
from sangraha.contract import (
    BucketInfo,
    BucketList,
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    Done,
    GetObject,
    HeadBucket,
    HeadObject,
    ListBuckets,
    ListEntry,
    Listing,
    ListObjects,
    ObjectMeta,
    ObjectWritten,
    PutObject,
)
from sangraha.settings import Settings

__all__ = ["S3Storage"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Standard headers S3 stores with an object: contract name -> boto3 parameter.
_STORED_HEADERS = {
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "expires": "Expires",
}
_CONDITIONS = {
    "if-match": "IfMatch",
    "if-none-match": "IfNoneMatch",
    "if-modified-since": "IfModifiedSince",
    "if-unmodified-since": "IfUnmodifiedSince",
}
_STATUS_CODES = {304: "NotModified", 412: "PreconditionFailed", 416: "InvalidRange"}
_READ_CHUNK = 1024 * 1024


def _translate(exc: Exception, *, missing: str = "NoSuchKey") -> Exception:
    """The one boundary where botocore failures become S3 errors."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message") or "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        if code in CATALOGUE:
            return S3Error(code, message or None)
        if status == 404:
            return S3Error(missing)
        if status in _STATUS_CODES:
            return S3Error(_STATUS_CODES[status])
        if status == 503 or status >= 500:
            return StorageUnavailable(f"storage answered {status} {code}")
        return S3Error("InvalidRequest", f"storage refused the request: {code} {message}")
    return StorageUnavailable(f"storage unreachable: {type(exc).__name__}: {exc}")


def _etag(value: str) -> str:
    return value.strip('"')


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


class _BodyReader:
    """Feeds an async iterator of chunks to aiobotocore as a streaming body."""

    def __init__(self, first: bytes, second: bytes, rest: AsyncIterator[bytes]) -> None:
        self._pending: list[bytes] = [first, second]
        self._rest = rest

    def __aiter__(self) -> _BodyReader:
        return self

    async def __anext__(self) -> bytes:
        if self._pending:
            return self._pending.pop(0)
        return await anext(self._rest)

    async def read(self, size: int = -1) -> bytes:
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            return b""


class S3Storage(UnsupportedStorage):
    """Storage on an S3 endpoint."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def start(self) -> None:
        s = self._settings
        config = AioConfig(
            connect_timeout=5,
            read_timeout=s.storage_timeout,
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=s.s3_pool_size,
            # Bodies are verified by the gateway and sent with Content-MD5 (or
            # streamed): hashing them again for the signature only costs CPU.
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        session = get_session()
        self._client = await self._stack.enter_async_context(
            session.create_client(
                "s3",
                endpoint_url=s.s3_endpoint,
                aws_access_key_id=s.s3_access_key,
                aws_secret_access_key=s.s3_secret_key,
                region_name=s.s3_region,
                config=config,
            )
        )

    async def close(self) -> None:
        await self._stack.aclose()

    async def _do(self, fn: Callable[[], Awaitable[T]], *, missing: str = "NoSuchKey") -> T:
        try:
            async with asyncio.timeout(self._settings.storage_timeout):
                return await fn()
        except TimeoutError:
            raise StorageUnavailable("storage did not answer in time") from None
        except (ClientError, BotoCoreError, OSError) as exc:
            raise _translate(exc, missing=missing) from None

    async def ready(self) -> bool:
        try:
            await self._do(lambda: self._client.list_buckets())
        except (StorageUnavailable, S3Error):
            return False
        return True

    # ---------------------------------------------------------------- buckets

    async def list_buckets(self, req: ListBuckets) -> BucketList:
        out = await self._do(lambda: self._client.list_buckets())
        return BucketList(
            buckets=[
                BucketInfo(name=b["Name"], created=_ts(b.get("CreationDate")))
                for b in out.get("Buckets", [])
            ]
        )

    async def create_bucket(self, req: CreateBucket) -> Done:
        await self._do(lambda: self._client.create_bucket(Bucket=req.bucket))
        return Done()

    async def head_bucket(self, req: HeadBucket) -> Done:
        await self._do(lambda: self._client.head_bucket(Bucket=req.bucket), missing="NoSuchBucket")
        return Done()

    async def delete_bucket(self, req: DeleteBucket) -> Done:
        await self._do(
            lambda: self._client.delete_bucket(Bucket=req.bucket), missing="NoSuchBucket"
        )
        return Done()

    # ---------------------------------------------------------------- objects

    async def put_object(self, req: PutObject, body: AsyncIterator[bytes]) -> ObjectWritten:
        params: dict[str, Any] = {
            "Bucket": req.bucket,
            "Key": req.key,
            "ContentLength": req.size,
            "ContentType": req.content_type,
            "Metadata": req.metadata,
        }
        for name, param in _STORED_HEADERS.items():
            if name in req.headers:
                params[param] = req.headers[name]
        first = await anext(body, b"")
        second = await anext(body, None) if len(first) < req.size else None
        if second is None:
            # The whole body arrived in one piece: send it with Content-MD5 so
            # the store re-checks the bytes it keeps.
            if len(first) != req.size:
                raise S3Error("IncompleteBody")
            params["Body"] = first
            if req.md5:
                params["ContentMD5"] = base64.b64encode(bytes.fromhex(req.md5)).decode()
        else:
            # A streamed body: the caller's iterator verifies size and MD5
            # before it yields the last bytes, so a bad stream never completes
            # the store's PUT (it is abandoned mid-body and discarded).
            params["Body"] = _BodyReader(first, second, body)
        out = await self._do(lambda: self._client.put_object(**params), missing="NoSuchBucket")
        etag = _etag(out.get("ETag", ""))
        if req.md5 and etag != req.md5:
            log.warning("storage ETag %s differs from the content MD5 %s", etag, req.md5)
        return ObjectWritten(etag=etag)

    def _meta(self, out: dict[str, Any]) -> ObjectMeta:
        headers = {
            name: str(out[param])
            for name, param in _STORED_HEADERS.items()
            if param != "Expires" and out.get(param)
        }
        if out.get("ExpiresString"):
            headers["expires"] = str(out["ExpiresString"])
        rng: tuple[int, int] | None = None
        content_range = out.get("ContentRange")
        size = int(out.get("ContentLength", 0))
        if content_range:
            # "bytes first-last/total"
            span, _, total = str(content_range).partition(" ")[2].partition("/")
            first, _, last = span.partition("-")
            rng = (int(first), int(last))
            size = int(total)
        return ObjectMeta(
            etag=_etag(out.get("ETag", "")),
            size=size,
            last_modified=_ts(out.get("LastModified")),
            content_type=out.get("ContentType") or "binary/octet-stream",
            metadata=dict(out.get("Metadata") or {}),
            headers=headers,
            range=rng,
        )

    def _read_params(self, req: GetObject | HeadObject) -> dict[str, Any]:
        params: dict[str, Any] = {"Bucket": req.bucket, "Key": req.key}
        if req.range:
            params["Range"] = req.range
        for name, param in _CONDITIONS.items():
            if name in req.conditions:
                params[param] = req.conditions[name]
        return params

    async def head_object(self, req: HeadObject) -> ObjectMeta:
        params = self._read_params(req)
        out = await self._do(lambda: self._client.head_object(**params))
        return self._meta(out)

    async def get_object(self, req: GetObject) -> ObjectRead:
        params = self._read_params(req)
        out = await self._do(lambda: self._client.get_object(**params))
        stream = out["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async with stream:
                    while True:
                        try:
                            async with asyncio.timeout(self._settings.storage_timeout):
                                chunk = await stream.read(_READ_CHUNK)
                        except (TimeoutError, OSError, BotoCoreError) as exc:
                            raise StorageUnavailable(f"storage read failed: {exc}") from None
                        if not chunk:
                            return
                        yield chunk
            finally:
                stream.close()

        return ObjectRead(meta=self._meta(out), chunks=chunks())

    async def delete_object(self, req: DeleteObject) -> Done:
        await self._do(
            lambda: self._client.delete_object(Bucket=req.bucket, Key=req.key),
            missing="NoSuchBucket",
        )
        return Done()

    async def list_objects(self, req: ListObjects) -> Listing:
        params: dict[str, Any] = {"Bucket": req.bucket, "MaxKeys": req.max_keys}
        if req.prefix:
            params["Prefix"] = req.prefix
        if req.delimiter:
            params["Delimiter"] = req.delimiter
        if req.cursor:
            params["ContinuationToken"] = req.cursor
        elif req.start_after:
            params["StartAfter"] = req.start_after
        out = await self._do(lambda: self._client.list_objects_v2(**params), missing="NoSuchBucket")
        entries = [
            ListEntry(
                key=o["Key"],
                size=int(o.get("Size", 0)),
                etag=_etag(o.get("ETag", "")),
                last_modified=_ts(o.get("LastModified")),
            )
            for o in out.get("Contents", [])
        ]
        prefixes = [p["Prefix"] for p in out.get("CommonPrefixes", [])]
        truncated = bool(out.get("IsTruncated"))
        candidates = [e.key for e in entries[-1:]] + prefixes[-1:]
        return Listing(
            entries=entries,
            common_prefixes=prefixes,
            is_truncated=truncated,
            next_cursor=out.get("NextContinuationToken") if truncated else None,
            last=max(candidates) if candidates else None,
        )
