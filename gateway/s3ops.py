"""S3 operations on the gateway side: HTTP request -> contract call -> HTTP response.

Each handler validates what the client sent, builds one contract request,
hands it to :meth:`Context.call`, and renders the typed reply.  Nothing here
knows how the call travels or where objects are stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import msgspec

from gateway.budget import ByteBudget
from gateway.http import Request, Response
from gateway.intake import (
    StreamingIntake,
    declared_size,
    header_checksums,
    read_verified_body,
)
from s3compat import listing, names, xmlbodies
from s3compat.checksums import header_name
from s3compat.conditional import write_conditions
from s3compat.errors import S3Error
from s3compat.routing import S3Route
from s3compat.sigv4 import AuthContext
from s3compat.timefmt import http_date
from sangraha.contract import (
    AnyReply,
    AnyRequest,
    BucketList,
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    Done,
    GetObject,
    HeadBucket,
    HeadObject,
    ListBuckets,
    Listing,
    ListObjects,
    ObjectMeta,
    ObjectWritten,
    PutObject,
    Reply,
    UploadPart,
)
from sangraha.settings import Settings
from sangraha.transport.base import Outgoing, UploadBody, close_stream

__all__ = ["OPERATIONS", "Context"]

R = TypeVar("R", bound=Reply)

MAX_SINGLE_PUT = 5 * 1024**3
_MAX_CREATE_BUCKET_BODY = 64 * 1024

XML = ("content-type", "application/xml")
_STORED_HEADERS = (
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
)
_CONDITION_HEADERS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
_RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


@dataclass(slots=True)
class Context:
    """Everything one operation needs: the request, its identity, and a way
    to send a contract call (returns the reply, raises S3Error on Failure)."""

    request: Request
    route: S3Route
    auth: AuthContext
    settings: Settings
    send: Callable[[AnyRequest, bytes, UploadBody | None], Awaitable[tuple[AnyReply, Outgoing]]]
    budget: ByteBudget

    @property
    def bucket(self) -> str:
        if self.route.bucket is None:
            raise S3Error("InvalidRequest", "this operation needs a bucket")
        return self.route.bucket

    @property
    def key(self) -> str:
        if not self.route.key:
            raise S3Error("InvalidRequest", "this operation needs an object key")
        return self.route.key

    async def call(
        self,
        request: AnyRequest,
        expect: type[R],
        payload: bytes = b"",
        upload: UploadBody | None = None,
    ) -> tuple[R, Outgoing]:
        reply, body = await self.send(request, payload, upload)
        if not isinstance(reply, expect):
            if not isinstance(body, bytes | memoryview):
                await close_stream(body)
            raise S3Error("InternalError", f"unexpected {type(reply).__name__} reply")
        return reply, body


def _owner(ctx: Context) -> xmlbodies.Owner:
    return xmlbodies.Owner(id=ctx.auth.access_key, display_name=ctx.auth.access_key)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


# ------------------------------------------------------------------ buckets


async def list_buckets(ctx: Context) -> Response:
    reply, _ = await ctx.call(ListBuckets(), BucketList)
    entries = [
        xmlbodies.BucketEntry(name=b.name, created=_dt(b.created))
        for b in sorted(reply.buckets, key=lambda b: b.name)
    ]
    return Response(200, [XML], xmlbodies.render_list_buckets(_owner(ctx), entries))


async def read_xml_body(ctx: Context, limit: int) -> bytes:
    """The verified body of a request whose body is a small XML document
    (Content-MD5, x-amz-checksum-* and the signed payload hash checked), held
    against the gateway's body budget while it is read; none is ``b""``."""
    headers = ctx.request.headers
    if not any(
        h in headers
        for h in ("content-length", "transfer-encoding", "x-amz-decoded-content-length")
    ):
        return b""
    size = declared_size(ctx.request, ctx.auth)
    if size > limit:
        raise S3Error("MalformedXML", f"The XML body exceeds the maximum size of {limit} bytes.")
    async with ctx.budget.hold(size):
        intake = await read_verified_body(
            ctx.request, ctx.auth, size=size, idle_timeout=ctx.settings.request_timeout
        )
    return intake.body


async def create_bucket(ctx: Context) -> Response:
    names.validate_bucket_name(ctx.bucket)
    body = await read_xml_body(ctx, _MAX_CREATE_BUCKET_BODY)
    constraint = xmlbodies.parse_create_bucket(body)
    if constraint and constraint != ctx.settings.region:
        raise S3Error(
            "InvalidLocationConstraint",
            f"The specified location-constraint {constraint!r} is not valid; "
            f"this endpoint serves {ctx.settings.region!r}.",
        )
    await ctx.call(CreateBucket(bucket=ctx.bucket), Done)
    return Response(200, [("location", "/" + ctx.bucket)])


async def head_bucket(ctx: Context) -> Response:
    await ctx.call(HeadBucket(bucket=ctx.bucket), Done)
    return Response(200, [("x-amz-bucket-region", ctx.settings.region)])


async def delete_bucket(ctx: Context) -> Response:
    await ctx.call(DeleteBucket(bucket=ctx.bucket), Done)
    return Response(204)


async def get_bucket_location(ctx: Context) -> Response:
    await ctx.call(HeadBucket(bucket=ctx.bucket), Done)
    return Response(200, [XML], xmlbodies.render_location(ctx.settings.region))


async def _list(ctx: Context, params: listing.ListParams) -> Listing:
    request = ListObjects(
        bucket=ctx.bucket,
        prefix=params.prefix,
        delimiter=params.delimiter,
        max_keys=params.max_keys,
        start_after=params.start_after,
        cursor=params.cursor,
    )
    reply, _ = await ctx.call(request, Listing)
    return reply


def _entries(ctx: Context, reply: Listing, fetch_owner: bool) -> list[xmlbodies.ObjectEntry]:
    owner = _owner(ctx) if fetch_owner else None
    return [
        xmlbodies.ObjectEntry(
            key=e.key,
            last_modified=_dt(e.last_modified),
            etag=e.etag,
            size=e.size,
            owner=owner,
        )
        for e in reply.entries
    ]


async def list_objects_v2(ctx: Context) -> Response:
    params = listing.parse_list_v2(ctx.request.query)
    reply = await _list(ctx, params)
    token = (
        listing.encode_token(reply.next_cursor)
        if reply.is_truncated and reply.next_cursor
        else None
    )
    body = xmlbodies.render_list_v2(
        params,
        name=ctx.bucket,
        contents=_entries(ctx, reply, params.fetch_owner),
        common_prefixes=reply.common_prefixes,
        is_truncated=reply.is_truncated,
        next_token=token,
    )
    return Response(200, [XML], body)


async def list_objects_v1(ctx: Context) -> Response:
    params = listing.parse_list_v1(ctx.request.query)
    reply = await _list(ctx, params)
    body = xmlbodies.render_list_v1(
        params,
        name=ctx.bucket,
        contents=_entries(ctx, reply, True),
        common_prefixes=reply.common_prefixes,
        is_truncated=reply.is_truncated,
        next_marker=reply.last if reply.is_truncated else None,
    )
    return Response(200, [XML], body)


# ------------------------------------------------------------------ objects


def _stored_headers(request: Request) -> dict[str, str]:
    stored = {n: request.headers[n] for n in _STORED_HEADERS if n in request.headers}
    if "content-encoding" in stored:
        # aws-chunked is the upload's framing, never the object's encoding (S3 drops it).
        codings = [c.strip() for c in stored["content-encoding"].split(",")]
        kept = ", ".join(c for c in codings if c and c.lower() != "aws-chunked")
        if kept:
            stored["content-encoding"] = kept
        else:
            del stored["content-encoding"]
    return stored


B = TypeVar("B", PutObject, UploadPart)


async def send_with_body(
    ctx: Context, request: B, size: int, expect: type[R]
) -> tuple[R, dict[str, str]]:
    """Send a request that carries the HTTP body (PutObject, UploadPart):
    inline when it fits one frame, else streamed in verified chunks.  Returns
    the reply and the verified checksums (algorithm -> base64)."""
    if size > ctx.settings.max_inline_bytes:
        stream = StreamingIntake(
            ctx.request,
            ctx.auth,
            size=size,
            idle_timeout=ctx.settings.stream_idle_timeout,
            chunk_bytes=ctx.settings.stream_chunk_bytes,
        )
        # Checksums sent as headers are known now and verified before the last
        # chunk leaves; trailing ones are verified but arrive too late to store.
        streamed = msgspec.structs.replace(
            request, streamed=True, checksums=header_checksums(ctx.request)
        )
        async with ctx.budget.hold(2 * ctx.settings.stream_chunk_bytes):
            reply, _ = await ctx.call(streamed, expect, upload=stream)
        return reply, stream.digests.checksums if stream.digests is not None else {}
    async with ctx.budget.hold(size):
        intake = await read_verified_body(
            ctx.request, ctx.auth, size=size, idle_timeout=ctx.settings.request_timeout
        )
        verified = dict(intake.digests.checksums)
        inline = msgspec.structs.replace(request, md5=intake.digests.md5_hex, checksums=verified)
        reply, _ = await ctx.call(inline, expect, intake.body)
    return reply, verified


async def put_object(ctx: Context) -> Response:
    names.validate_bucket_name(ctx.bucket)
    names.validate_key(ctx.key)
    metadata = names.validate_metadata(ctx.request.headers)
    size = declared_size(ctx.request, ctx.auth)
    if size > MAX_SINGLE_PUT:
        raise S3Error(
            "EntityTooLarge",
            "a single PUT may be at most 5 GiB; use a multipart upload",
            extra={"ProposedSize": str(size), "MaxSizeAllowed": str(MAX_SINGLE_PUT)},
        )
    request = PutObject(
        bucket=ctx.bucket,
        key=ctx.key,
        size=size,
        md5="",
        content_type=ctx.request.headers.get("content-type") or "binary/octet-stream",
        metadata=metadata,
        headers=_stored_headers(ctx.request),
        tags=xmlbodies.parse_tagging_header(ctx.request.headers.get("x-amz-tagging", "")),
        conditions=write_conditions(ctx.request.headers),
    )
    reply, verified = await send_with_body(ctx, request, size, ObjectWritten)
    headers = [("etag", f'"{reply.etag}"')]
    headers += [(header_name(a), v) for a, v in verified.items()]
    return Response(200, headers)


def _object_headers(ctx: Context, meta: ObjectMeta) -> list[tuple[str, str]]:
    headers = [
        ("etag", f'"{meta.etag}"'),
        ("last-modified", http_date(meta.last_modified)),
        ("accept-ranges", "bytes"),
        ("content-type", meta.content_type),
    ]
    headers += list(meta.headers.items())
    headers += [(f"x-amz-meta-{k}", v) for k, v in meta.metadata.items()]
    if meta.range is not None:
        first, last = meta.range
        headers.append(("content-range", f"bytes {first}-{last}/{meta.size}"))
        headers.append(("content-length", str(last - first + 1)))
    else:
        headers.append(("content-length", str(meta.size)))
    if meta.tag_count:
        headers.append(("x-amz-tagging-count", str(meta.tag_count)))
    if meta.range is None and meta.checksums and _checksum_mode(ctx):
        # As S3: stored checksums on request, for whole-object answers only.
        headers += [(header_name(a), v) for a, v in meta.checksums.items()]
        # A multipart object's COMPOSITE checksum ends in "-N" (never base64).
        composite = any("-" in v for v in meta.checksums.values())
        headers.append(("x-amz-checksum-type", "COMPOSITE" if composite else "FULL_OBJECT"))
    overrides = {
        target: ctx.request.query[param]
        for param, target in _RESPONSE_OVERRIDES.items()
        if param in ctx.request.query
    }
    if overrides:
        headers = [(n, v) for n, v in headers if n not in overrides] + list(overrides.items())
    return headers


def _checksum_mode(ctx: Context) -> bool:
    return ctx.request.headers.get("x-amz-checksum-mode", "").strip().upper() == "ENABLED"


def _read_fields(ctx: Context) -> tuple[str | None, dict[str, str]]:
    conditions = {n: ctx.request.headers[n] for n in _CONDITION_HEADERS if n in ctx.request.headers}
    return ctx.request.headers.get("range"), conditions


async def get_object(ctx: Context) -> Response:
    rng, conditions = _read_fields(ctx)
    meta, body = await ctx.call(
        GetObject(
            bucket=ctx.bucket,
            key=ctx.key,
            range=rng,
            conditions=conditions,
            checksum_mode=_checksum_mode(ctx),
        ),
        ObjectMeta,
    )
    status = 206 if meta.range is not None else 200
    if isinstance(body, bytes | memoryview):
        return Response(status, _object_headers(ctx, meta), body)
    return Response(status, _object_headers(ctx, meta), stream=body)


async def head_object(ctx: Context) -> Response:
    rng, conditions = _read_fields(ctx)
    meta, _ = await ctx.call(
        HeadObject(
            bucket=ctx.bucket,
            key=ctx.key,
            range=rng,
            conditions=conditions,
            checksum_mode=_checksum_mode(ctx),
        ),
        ObjectMeta,
    )
    status = 206 if meta.range is not None else 200
    return Response(status, _object_headers(ctx, meta), head_only=True)


async def delete_object(ctx: Context) -> Response:
    await ctx.call(DeleteObject(bucket=ctx.bucket, key=ctx.key), Done)
    return Response(204)


Operation = Callable[[Context], Awaitable[Response]]

OPERATIONS: dict[str, Operation] = {
    "ListBuckets": list_buckets,
    "CreateBucket": create_bucket,
    "HeadBucket": head_bucket,
    "DeleteBucket": delete_bucket,
    "GetBucketLocation": get_bucket_location,
    "ListObjectsV2": list_objects_v2,
    "ListObjects": list_objects_v1,
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "DeleteObject": delete_object,
}

# CopyObject, DeleteObjects, tagging, ACLs, versioning status: gateway.s3ops_objects.
from gateway.s3ops_objects import OPERATIONS as _OBJECT_OPERATIONS  # noqa: E402

OPERATIONS.update(_OBJECT_OPERATIONS)

# Multipart uploads: gateway.s3ops_multipart.
from gateway.s3ops_multipart import OPERATIONS as _MULTIPART_OPERATIONS  # noqa: E402

OPERATIONS.update(_MULTIPART_OPERATIONS)

# Bucket configurations Sangraha does not keep, object versions: gateway.s3ops_bucketconfig.
from gateway.s3ops_bucketconfig import OPERATIONS as _BUCKET_CONFIG_OPERATIONS  # noqa: E402

OPERATIONS.update(_BUCKET_CONFIG_OPERATIONS)
