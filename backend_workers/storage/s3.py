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
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlencode

import msgspec
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from backend_workers.storage.base import ObjectRead, StorageUnavailable, UnsupportedStorage
from s3compat.checksums import ALGORITHMS
from s3compat.conditional import check_read, check_write
from s3compat.errors import CATALOGUE, S3Error
from s3compat.multipart import page_uploads
from s3compat.ranges import parse_copy_source_range, parse_range
from s3compat.timefmt import parse_http_date, to_datetime
from sangraha.contract import (
    AbortMultipartUpload,
    BucketInfo,
    BucketList,
    CompleteMultipartUpload,
    CopyObject,
    CreateBucket,
    CreateMultipartUpload,
    DeleteBucket,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    Done,
    GetObject,
    GetObjectTagging,
    HeadBucket,
    HeadObject,
    KeyFailure,
    ListBuckets,
    ListEntry,
    Listing,
    ListMultipartUploads,
    ListObjects,
    ListParts,
    ObjectCopied,
    ObjectMeta,
    ObjectsDeleted,
    ObjectWritten,
    PartInfo,
    PartList,
    PartWritten,
    PutObject,
    PutObjectTagging,
    TagSet,
    UploadCompleted,
    UploadCreated,
    UploadInfo,
    UploadList,
    UploadPart,
    UploadPartCopy,
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
_STATUS_CODES = {304: "NotModified", 412: "PreconditionFailed", 416: "InvalidRange"}
_READ_CHUNK = 1024 * 1024
# A size no object reaches: checks a Range header's syntax without the object.
_ANY_SIZE = 2**62
_NEVER_SATISFIABLE = "bytes=-0"
# ListMultipartUploads reads at most this many pages of the store's listing.
_MAX_UPLOAD_PAGES = 100
# Requests naming an existing upload.
_UploadRequest = (
    UploadPart | UploadPartCopy | CompleteMultipartUpload | AbortMultipartUpload | ListParts
)


def _translate(exc: Exception, *, missing: str = "NoSuchKey") -> Exception:
    """The one boundary where botocore failures become S3 errors."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message") or "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
        if status == 304:
            # A 304 repeats the validators; the store sent them as headers.
            sent = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
            names = {"etag": "ETag", "last-modified": "Last-Modified"}
            return S3Error(
                "NotModified", headers={names[n]: str(sent[n]) for n in names if n in sent}
            )
        if code == "InvalidRange" and str(error.get("ActualObjectSize", "")).isdigit():
            size = error["ActualObjectSize"]
            return S3Error(
                "InvalidRange",
                extra={"ActualObjectSize": str(size)},
                headers={"Content-Range": f"bytes */{size}"},
            )
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


def _ts(value: datetime | str | None) -> float:
    """A store timestamp as Unix seconds.  botocore hands them over unparsed
    (see ``_raw_timestamps``): ISO 8601 in XML bodies, RFC 7231 in headers."""
    if value is None:
        return 0.0
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        parsed = parse_http_date(value)
        return parsed.timestamp() if parsed is not None else 0.0


def _raw_timestamps(value: str) -> str:
    # botocore's default parser (dateutil) was half of a getter's time on a
    # 1,000-key LIST page; ``_ts`` parses only the timestamps we use.
    return value


def _conditions(
    headers: Mapping[str, str], *, header_prefix: str = "", param_prefix: str = ""
) -> dict[str, Any]:
    """Conditional headers as botocore parameters, after S3's precedence rules
    (RFC 7232 section 6): If-Match makes If-Unmodified-Since irrelevant, and
    If-None-Match makes If-Modified-Since irrelevant, so the store is only
    given the deciding pair.  Unparseable dates are ignored, as S3 does."""

    def header(name: str) -> str | None:
        value = headers.get(header_prefix + name)
        return value if value is not None and value.strip() else None

    params: dict[str, Any] = {}
    if_match, if_none_match = header("if-match"), header("if-none-match")
    if if_match is not None:
        params[param_prefix + "IfMatch"] = if_match
    elif (since := parse_http_date(header("if-unmodified-since"))) is not None:
        params[param_prefix + "IfUnmodifiedSince"] = since
    if if_none_match is not None:
        params[param_prefix + "IfNoneMatch"] = if_none_match
    elif (since := parse_http_date(header("if-modified-since"))) is not None:
        params[param_prefix + "IfModifiedSince"] = since
    return params


def _write_conditions(conditions: Mapping[str, str]) -> dict[str, Any]:
    """``if-match`` / ``if-none-match`` of a conditional write, as botocore parameters."""
    params: dict[str, Any] = {}
    if conditions.get("if-match", "").strip():
        params["IfMatch"] = conditions["if-match"]
    if conditions.get("if-none-match", "").strip():
        params["IfNoneMatch"] = conditions["if-none-match"]
    return params


def _tagging(tags: Mapping[str, str]) -> str:
    """A tag set as the ``x-amz-tagging`` query string."""
    return urlencode(list(tags.items()))


def _range_param(header: str | None) -> str | None:
    """The Range header to forward; None where S3 serves the whole object (no
    header, a malformed one, several ranges); :data:`_NEVER_SATISFIABLE` for a
    range no object satisfies."""
    if header is None:
        return None
    try:
        return header if parse_range(header, _ANY_SIZE) is not None else None
    except S3Error:
        return _NEVER_SATISFIABLE


def _attribute_params(
    content_type: str, metadata: Mapping[str, str], headers: Mapping[str, str]
) -> dict[str, Any]:
    """An object's content type, user metadata and stored headers as the
    store's parameters (PutObject, CopyObject with REPLACE, multipart create)."""
    params: dict[str, Any] = {"ContentType": content_type, "Metadata": metadata}
    for name, param in _STORED_HEADERS.items():
        if name in headers:
            params[param] = headers[name]
    return params


def _checksum_params(checksums: Mapping[str, str]) -> dict[str, str]:
    return {"Checksum" + a: v for a, v in checksums.items() if a in ALGORITHMS}


def _storable(key: str) -> bool:
    """Whether the store can hold ``key`` under that exact name.  MinIO strips a
    leading ``/`` (``/a`` would silently become ``a``), so such keys are refused
    rather than aliased to another object."""
    return not key.startswith("/")


def _unstorable() -> S3Error:
    return S3Error(
        "InvalidArgument",
        "Object keys that start with '/' are not supported by this storage backend.",
    )


def _checksums_of(out: Mapping[str, Any]) -> dict[str, str]:
    """The ``Checksum*`` members of a botocore response, by algorithm."""
    return {a: str(out["Checksum" + a]) for a in ALGORITHMS if out.get("Checksum" + a)}


async def _body_params(
    size: int, md5: str, body: AsyncIterator[bytes | memoryview]
) -> dict[str, Any]:
    """``Body`` (and ``ContentMD5``) for a PUT of ``size`` bytes from ``body``:
    one piece goes with Content-MD5 when its MD5 is known, so the store
    re-checks the bytes it keeps; more pieces stream (the gateway verified the
    body before releasing its last bytes, so a bad stream never completes:
    the store's PUT is abandoned mid-body and discarded)."""
    first = await anext(body, b"")
    second = await anext(body, None) if len(first) < size else None
    if second is not None:
        return {"Body": _BodyReader(first, second, body)}
    if len(first) != size:
        raise S3Error("IncompleteBody")
    # A memoryview, not bytes: botocore wraps bytes in a BytesIO, which makes
    # aiohttp write it in 64 KiB pieces after an ``Expect: 100-continue``
    # round trip; a buffer goes out in one write.
    params: dict[str, Any] = {"Body": memoryview(first)}
    if md5:
        params["ContentMD5"] = base64.b64encode(bytes.fromhex(md5)).decode()
    return params


class _BodyReader:
    """Feeds an async iterator of chunks to aiobotocore as a streaming body."""

    def __init__(
        self,
        first: bytes | memoryview,
        second: bytes | memoryview,
        rest: AsyncIterator[bytes | memoryview],
    ) -> None:
        self._pending: list[bytes | memoryview] = [first, second]
        self._rest = rest

    def __aiter__(self) -> _BodyReader:
        return self

    async def __anext__(self) -> bytes | memoryview:
        if self._pending:
            return self._pending.pop(0)
        return await anext(self._rest)

    async def read(self, size: int = -1) -> bytes | memoryview:
        try:
            return await self.__anext__()
        except StopAsyncIteration:
            return b""


_USER_AGENT = "Sangraha (aiobotocore)"


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
            # The parameters are built here from the typed contract; botocore
            # re-validating every call costs CPU and refuses a memoryview Body.
            parameter_validation=False,
            # A fixed User-Agent: botocore otherwise rebuilds its composite
            # one twice per call (~0.1 ms of CPU each time, measured).
            user_agent=_USER_AGENT,
        )
        session = get_session()
        session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_raw_timestamps
        )
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

    async def _do(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        missing: str = "NoSuchKey",
        streaming: bool = False,
    ) -> T:
        """Run one storage call, translating its failures.  A call that streams
        a body has no overall deadline (a 5 GiB PUT takes minutes): the body's
        own idle timeout and the client's read timeout bound it instead."""
        limit = None if streaming else self._settings.storage_timeout
        try:
            async with asyncio.timeout(limit):
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
        await self._abort_uploads_of_empty_bucket(req.bucket)
        await self._do(
            lambda: self._client.delete_bucket(Bucket=req.bucket), missing="NoSuchBucket"
        )
        return Done()

    # ---------------------------------------------------------------- objects

    async def put_object(
        self, req: PutObject, body: AsyncIterator[bytes | memoryview]
    ) -> ObjectWritten:
        if not _storable(req.key):
            raise _unstorable()
        params: dict[str, Any] = {
            "Bucket": req.bucket,
            "Key": req.key,
            "ContentLength": req.size,
            **_attribute_params(req.content_type, req.metadata, req.headers),
        }
        # The store verifies and keeps the checksums; it checks the
        # conditions atomically with the write.
        params.update(_checksum_params(req.checksums))
        if req.tags:
            params["Tagging"] = _tagging(req.tags)
        params.update(_write_conditions(req.conditions))
        params.update(await _body_params(req.size, req.md5, body))
        out = await self._do(
            lambda: self._client.put_object(**params),
            missing="NoSuchBucket",
            streaming=isinstance(params.get("Body"), _BodyReader),
        )
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
            checksums={a: str(out["Checksum" + a]) for a in ALGORITHMS if out.get("Checksum" + a)},
            tag_count=int(out.get("TagCount") or 0),
        )

    def _read_params(self, req: GetObject | HeadObject) -> dict[str, Any]:
        if not _storable(req.key):
            raise S3Error("NoSuchKey")
        params: dict[str, Any] = {"Bucket": req.bucket, "Key": req.key}
        if req.checksum_mode:
            params["ChecksumMode"] = "ENABLED"
        return params

    async def head_object(self, req: HeadObject) -> ObjectMeta:
        params = self._read_params(req)
        out = await self._do(lambda: self._client.head_object(**params))
        meta = self._meta(out)
        # A HEAD costs the store no body, so conditions and range are evaluated
        # here on the metadata, by S3's rules exactly.
        check_read(req.conditions, etag=meta.etag, last_modified=to_datetime(meta.last_modified))
        return msgspec.structs.replace(meta, range=parse_range(req.range, meta.size))

    async def get_object(self, req: GetObject) -> ObjectRead:
        params = self._read_params(req)
        params.update(_conditions(req.conditions))
        forwarded = _range_param(req.range)
        if forwarded is _NEVER_SATISFIABLE:
            # ("bytes=-0") The store's 416 would not name the size; S3's does.
            head = await self.head_object(
                HeadObject(bucket=req.bucket, key=req.key, conditions=req.conditions)
            )
            parse_range(req.range, head.size)
        if forwarded is not None:
            params["Range"] = forwarded
        out = await self._do(lambda: self._client.get_object(**params))
        stream = out["Body"]
        try:
            meta = self._meta(out)
            # The store evaluated the deciding conditions; S3's rules once more
            # on what it sent keep GET and HEAD answers identical.
            check_read(
                req.conditions, etag=meta.etag, last_modified=to_datetime(meta.last_modified)
            )
            if forwarded is not None:
                # MinIO serves a suffix range of an empty object as "206 bytes
                # 0--1/0"; S3 answers 416.  Raises for exactly that.
                parse_range(forwarded, meta.size)
        except BaseException:
            stream.close()
            raise

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async with stream:
                    while True:
                        # Gather whole chunks: the socket hands out small pieces,
                        # and every piece would otherwise become a message.
                        # (A list and one join: each byte is copied once.)
                        pieces: list[bytes] = []
                        size = 0
                        while size < _READ_CHUNK:
                            try:
                                async with asyncio.timeout(self._settings.storage_timeout):
                                    piece = await stream.read(_READ_CHUNK - size)
                            except (TimeoutError, OSError, BotoCoreError) as exc:
                                raise StorageUnavailable(f"storage read failed: {exc}") from None
                            if not piece:
                                break
                            pieces.append(piece)
                            size += len(piece)
                        if not pieces:
                            return
                        yield pieces[0] if len(pieces) == 1 else b"".join(pieces)
            finally:
                stream.close()

        return ObjectRead(meta=meta, chunks=chunks())

    async def delete_object(self, req: DeleteObject) -> Done:
        if not _storable(req.key):  # cannot exist; deleting it succeeds, as in S3
            await self.head_bucket(HeadBucket(bucket=req.bucket))
            return Done()
        await self._do(
            lambda: self._client.delete_object(Bucket=req.bucket, Key=req.key),
            missing="NoSuchBucket",
        )
        return Done()

    async def delete_objects(self, req: DeleteObjects) -> ObjectsDeleted:
        keys = [k for k in req.keys if _storable(k)]
        if not keys:
            await self.head_bucket(HeadBucket(bucket=req.bucket))
            return ObjectsDeleted(deleted=list(req.keys))
        delete = {"Objects": [{"Key": k} for k in keys], "Quiet": False}
        out = await self._do(
            lambda: self._client.delete_objects(Bucket=req.bucket, Delete=delete),
            missing="NoSuchBucket",
        )
        errors = [
            KeyFailure(
                key=str(e.get("Key", "")),
                code=str(e.get("Code") or "InternalError"),
                message=str(e.get("Message") or ""),
            )
            for e in out.get("Errors", [])
        ]
        failed = {e.key for e in errors}
        # Keys the store cannot hold cannot exist: they count as deleted.
        return ObjectsDeleted(deleted=[k for k in req.keys if k not in failed], errors=errors)

    async def copy_object(self, req: CopyObject) -> ObjectCopied:
        if not _storable(req.key):
            raise _unstorable()
        if not _storable(req.source_key):
            raise S3Error("NoSuchKey")
        params: dict[str, Any] = {
            "Bucket": req.bucket,
            "Key": req.key,
            "CopySource": {"Bucket": req.source_bucket, "Key": req.source_key},
            "MetadataDirective": "REPLACE" if req.replace_metadata else "COPY",
        }
        if req.replace_metadata:
            params.update(_attribute_params(req.content_type, req.metadata, req.headers))
        if req.replace_tags:
            params["TaggingDirective"] = "REPLACE"
            params["Tagging"] = _tagging(req.tags)
        params.update(
            _conditions(
                req.source_conditions, header_prefix="x-amz-copy-source-", param_prefix="CopySource"
            )
        )
        if req.conditions:
            # MinIO ignores If-Match / If-None-Match on a copy: check first.
            # Unlike PutObject's, this check is not atomic with the write.
            await self._check_write(req.bucket, req.key, req.conditions)
        params.update(_write_conditions(req.conditions))
        out = await self._do(lambda: self._client.copy_object(**params))
        result = out.get("CopyObjectResult", {})
        return ObjectCopied(
            etag=_etag(result.get("ETag", "")), last_modified=_ts(result.get("LastModified"))
        )

    async def _check_write(self, bucket: str, key: str, conditions: Mapping[str, str]) -> None:
        try:
            current: str | None = (await self.head_object(HeadObject(bucket=bucket, key=key))).etag
        except S3Error as exc:
            if exc.code != "NoSuchKey":
                raise
            current = None
        check_write(conditions, current_etag=current)

    async def get_object_tagging(self, req: GetObjectTagging) -> TagSet:
        if not _storable(req.key):
            raise S3Error("NoSuchKey")
        out = await self._do(
            lambda: self._client.get_object_tagging(Bucket=req.bucket, Key=req.key)
        )
        return TagSet(tags={str(t["Key"]): str(t.get("Value", "")) for t in out.get("TagSet", [])})

    async def put_object_tagging(self, req: PutObjectTagging) -> Done:
        if not _storable(req.key):
            raise S3Error("NoSuchKey")
        tagging = {"TagSet": [{"Key": k, "Value": v} for k, v in req.tags.items()]}
        await self._do(
            lambda: self._client.put_object_tagging(Bucket=req.bucket, Key=req.key, Tagging=tagging)
        )
        return Done()

    async def delete_object_tagging(self, req: DeleteObjectTagging) -> Done:
        if not _storable(req.key):
            raise S3Error("NoSuchKey")
        await self._do(lambda: self._client.delete_object_tagging(Bucket=req.bucket, Key=req.key))
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

    # ---------------------------------------------------------------- multipart uploads
    #
    # Mapped onto the store's own multipart API.  MinIO's multipart ETag is
    # already the MD5 of the part MD5s with "-N".

    def _upload(self, req: _UploadRequest) -> dict[str, Any]:
        if not _storable(req.key):
            raise S3Error("NoSuchUpload")
        return {"Bucket": req.bucket, "Key": req.key, "UploadId": req.upload_id}

    async def create_multipart_upload(self, req: CreateMultipartUpload) -> UploadCreated:
        if not _storable(req.key):
            raise _unstorable()
        params: dict[str, Any] = {
            "Bucket": req.bucket,
            "Key": req.key,
            **_attribute_params(req.content_type, req.metadata, req.headers),
        }
        if req.tags:
            params["Tagging"] = _tagging(req.tags)
        if req.checksum_algorithm:
            params["ChecksumAlgorithm"] = req.checksum_algorithm
        if req.checksum_type:
            params["ChecksumType"] = req.checksum_type
        out = await self._do(
            lambda: self._client.create_multipart_upload(**params), missing="NoSuchBucket"
        )
        return UploadCreated(
            upload_id=str(out["UploadId"]),
            checksum_algorithm=req.checksum_algorithm,
            checksum_type=req.checksum_type,
        )

    async def upload_part(
        self, req: UploadPart, body: AsyncIterator[bytes | memoryview]
    ) -> PartWritten:
        params = self._upload(req)
        params.update(
            PartNumber=req.part_number,
            ContentLength=req.size,
            **_checksum_params(req.checksums),
            **await _body_params(req.size, req.md5, body),
        )
        out = await self._do(
            lambda: self._client.upload_part(**params),
            missing="NoSuchUpload",
            streaming=isinstance(params.get("Body"), _BodyReader),
        )
        etag = _etag(out.get("ETag", ""))
        if req.md5 and etag != req.md5:
            log.warning("storage part ETag %s differs from the content MD5 %s", etag, req.md5)
        return PartWritten(
            etag=etag, last_modified=time.time(), checksums=req.checksums | _checksums_of(out)
        )

    async def upload_part_copy(self, req: UploadPartCopy) -> PartWritten:
        params = self._upload(req)
        if not _storable(req.source_key):
            raise S3Error("NoSuchKey")
        params.update(
            PartNumber=req.part_number,
            CopySource={"Bucket": req.source_bucket, "Key": req.source_key},
        )
        if req.source_range is not None:
            # Resolved here against the source's size, so a range outside it
            # is S3's 416 InvalidRange (MinIO answers 400).
            source = await self.head_object(
                HeadObject(bucket=req.source_bucket, key=req.source_key)
            )
            first, last = parse_copy_source_range(req.source_range, source.size)
            params["CopySourceRange"] = f"bytes={first}-{last}"
        params.update(
            _conditions(
                req.source_conditions, header_prefix="x-amz-copy-source-", param_prefix="CopySource"
            )
        )
        out = await self._do(lambda: self._client.upload_part_copy(**params))
        result = out.get("CopyPartResult", {})
        return PartWritten(
            etag=_etag(result.get("ETag", "")),
            last_modified=_ts(result.get("LastModified")),
            checksums=_checksums_of(result),
        )

    async def complete_multipart_upload(self, req: CompleteMultipartUpload) -> UploadCompleted:
        params = self._upload(req)
        parts = [
            {"PartNumber": p.number, "ETag": f'"{p.etag}"', **_checksum_params(p.checksums)}
            for p in req.parts
        ]
        params["MultipartUpload"] = {"Parts": parts}
        params.update(_checksum_params(req.checksums))
        if req.conditions:
            # Checked first, as for a copy: not atomic with the completion.
            await self._check_write(req.bucket, req.key, req.conditions)
        out = await self._do(
            lambda: self._client.complete_multipart_upload(**params), missing="NoSuchUpload"
        )
        return UploadCompleted(
            etag=_etag(out.get("ETag", "")),
            checksums=_checksums_of(out),
            checksum_type=str(out.get("ChecksumType") or ""),
        )

    async def _parts_page(self, req: ListParts) -> dict[str, Any]:
        params = self._upload(req)
        params.update(MaxParts=max(req.max_parts, 1), PartNumberMarker=req.part_number_marker)
        out: dict[str, Any] = await self._do(
            lambda: self._client.list_parts(**params), missing="NoSuchUpload"
        )
        return out

    async def abort_multipart_upload(self, req: AbortMultipartUpload) -> Done:
        # MinIO accepts aborting an upload that does not exist; S3 answers
        # NoSuchUpload, so look first.
        await self._parts_page(
            ListParts(bucket=req.bucket, key=req.key, upload_id=req.upload_id, max_parts=1)
        )
        params = self._upload(req)
        await self._do(
            lambda: self._client.abort_multipart_upload(**params), missing="NoSuchUpload"
        )
        return Done()

    async def list_parts(self, req: ListParts) -> PartList:
        out = await self._parts_page(req)
        parts = [
            PartInfo(
                number=int(p["PartNumber"]),
                etag=_etag(p.get("ETag", "")),
                size=int(p.get("Size", 0)),
                last_modified=_ts(p.get("LastModified")),
                checksums=_checksums_of(p),
            )
            for p in out.get("Parts", [])
        ]
        if req.max_parts <= 0:
            return PartList(parts=[], is_truncated=bool(parts), next_marker=None)
        truncated = bool(out.get("IsTruncated"))
        return PartList(
            parts=parts,
            is_truncated=truncated,
            next_marker=int(out.get("NextPartNumberMarker") or parts[-1].number)
            if truncated and parts
            else None,
            checksum_algorithm=str(out.get("ChecksumAlgorithm") or ""),
            checksum_type=str(out.get("ChecksumType") or ""),
        )

    async def _abort_uploads_of_empty_bucket(self, bucket: str) -> None:
        """S3 drops a bucket's uploads in progress with the bucket; MinIO keeps
        them, and they reappear if the bucket is created again.  So before a
        bucket with no objects is deleted, its uploads are aborted."""
        listing = await self._do(
            lambda: self._client.list_objects_v2(Bucket=bucket, MaxKeys=1),
            missing="NoSuchBucket",
        )
        if listing.get("Contents"):
            return  # not empty: the delete fails with BucketNotEmpty
        for _ in range(_MAX_UPLOAD_PAGES):
            page = await self.list_multipart_uploads(ListMultipartUploads(bucket=bucket))
            for upload in page.uploads:
                params = {"Bucket": bucket, "Key": upload.key, "UploadId": upload.upload_id}
                try:
                    await self._do(partial(self._client.abort_multipart_upload, **params))
                except S3Error as exc:
                    if exc.code != "NoSuchUpload":
                        raise
            if not page.is_truncated:
                return

    async def list_multipart_uploads(self, req: ListMultipartUploads) -> UploadList:
        """MinIO lists uploads only for an exact object name and ignores
        max-uploads and the delimiter, so every upload of the bucket is
        fetched and paged here, by S3's rules, in (key, upload ID) order."""
        found: list[UploadInfo] = []
        params: dict[str, Any] = {"Bucket": req.bucket}
        for _ in range(_MAX_UPLOAD_PAGES):
            out = await self._do(
                partial(self._client.list_multipart_uploads, **params), missing="NoSuchBucket"
            )
            found += [
                UploadInfo(
                    key=str(u["Key"]),
                    upload_id=str(u["UploadId"]),
                    initiated=_ts(u.get("Initiated")),
                )
                for u in out.get("Uploads", [])
            ]
            if not out.get("IsTruncated") or not out.get("NextKeyMarker"):
                break
            params = {
                "Bucket": req.bucket,
                "KeyMarker": out["NextKeyMarker"],
                "UploadIdMarker": out.get("NextUploadIdMarker") or "",
            }
        found.sort(key=lambda u: (u.key, u.upload_id))
        page = page_uploads(
            found,
            ident=lambda u: (u.key, u.upload_id),
            prefix=req.prefix,
            delimiter=req.delimiter,
            key_marker=req.key_marker,
            upload_id_marker=req.upload_id_marker,
            max_uploads=req.max_uploads,
        )
        return UploadList(
            uploads=page.uploads,
            common_prefixes=page.common_prefixes,
            is_truncated=page.is_truncated,
            next_key_marker=page.next_key_marker,
            next_upload_id_marker=page.next_upload_id_marker,
        )
