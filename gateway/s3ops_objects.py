"""S3 object operations beyond single PUT/GET/HEAD/DELETE, gateway side:
CopyObject, DeleteObjects, object tagging, ACLs and the versioning status.

Same shape as :mod:`gateway.s3ops`: validate, build one contract request,
render the reply.  :data:`OPERATIONS` here is merged into
:data:`gateway.s3ops.OPERATIONS`.

- **CopyObject** runs inside storage (MinIO's copy, a hard link locally): no
  object bytes pass through the gateway or the broker.
- **ACLs**: every bucket and object is private to its owner.  The Get*Acl
  operations answer the owner's FULL_CONTROL; the Put*Acl operations accept
  exactly that (canned ``private``) and answer NotImplemented otherwise.
- **Versioning** does not exist yet: GetBucketVersioning answers "never
  enabled"; a copy source ``versionId`` other than ``null`` is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.http import Response
from gateway.s3ops import XML, Context, _dt, _owner, _stored_headers, read_xml_body
from s3compat import names, xmlbodies
from s3compat.acl import MAX_ACL_BODY, check_private_acl
from s3compat.conditional import write_conditions
from s3compat.copysource import parse_copy_source
from s3compat.errors import S3Error
from s3compat.timefmt import http_date
from sangraha.contract import (
    CopyObject,
    DeleteObjects,
    DeleteObjectTagging,
    Done,
    GetObjectTagging,
    HeadBucket,
    HeadObject,
    ObjectCopied,
    ObjectMeta,
    ObjectsDeleted,
    PutObjectTagging,
    TagSet,
)

__all__ = ["OPERATIONS"]

_COPY_SOURCE_CONDITIONS = (
    "x-amz-copy-source-if-match",
    "x-amz-copy-source-if-none-match",
    "x-amz-copy-source-if-modified-since",
    "x-amz-copy-source-if-unmodified-since",
)
_SELF_COPY = (
    "This copy request is illegal because it is trying to copy an object to itself without "
    "changing the object's metadata, storage class, website redirect location or encryption "
    "attributes."
)


def _directive(ctx: Context, header: str) -> bool:
    """Whether a COPY/REPLACE directive header says REPLACE (default COPY)."""
    value = ctx.request.headers.get(header)
    if value is None or value == "COPY":
        return False
    if value == "REPLACE":
        return True
    raise S3Error(
        "InvalidArgument",
        f"Unknown {header.removeprefix('x-amz-').replace('-', ' ')}.",
        extra={"ArgumentName": header, "ArgumentValue": value[:1024]},
    )


# ------------------------------------------------------------------ copy


async def copy_object(ctx: Context) -> Response:
    headers = ctx.request.headers
    names.validate_bucket_name(ctx.bucket)
    names.validate_key(ctx.key)
    source = parse_copy_source(headers.get("x-amz-copy-source", ""))
    if source.version_id is not None and source.version_id != "null":
        raise S3Error(
            "InvalidArgument",
            "Invalid version id specified",
            extra={"ArgumentName": "versionId", "ArgumentValue": source.version_id[:1024]},
        )
    replace_metadata = _directive(ctx, "x-amz-metadata-directive")
    replace_tags = _directive(ctx, "x-amz-tagging-directive")
    if (source.bucket, source.key) == (ctx.bucket, ctx.key) and not replace_metadata:
        raise S3Error("InvalidRequest", _SELF_COPY)
    request = CopyObject(
        bucket=ctx.bucket,
        key=ctx.key,
        source_bucket=source.bucket,
        source_key=source.key,
        replace_metadata=replace_metadata,
        content_type=(headers.get("content-type") or "binary/octet-stream")
        if replace_metadata
        else "binary/octet-stream",
        metadata=names.validate_metadata(headers) if replace_metadata else {},
        headers=_stored_headers(ctx.request) if replace_metadata else {},
        replace_tags=replace_tags,
        tags=xmlbodies.parse_tagging_header(headers.get("x-amz-tagging", ""))
        if replace_tags
        else {},
        source_conditions={n: headers[n] for n in _COPY_SOURCE_CONDITIONS if n in headers},
        conditions=write_conditions(headers),
    )
    reply, _ = await ctx.call(request, ObjectCopied)
    body = xmlbodies.render_copy_object_result(reply.etag, _dt(reply.last_modified))
    response_headers = [XML]
    if source.version_id is not None:
        response_headers.append(("x-amz-copy-source-version-id", source.version_id))
    return Response(200, response_headers, body)


# ------------------------------------------------------------------ delete objects


async def delete_objects(ctx: Context) -> Response:
    """POST ?delete.  Content-MD5 is checked when sent, never required (boto3
    from 1.36 sends a CRC32 instead).  Keys that are not valid S3 keys fail
    alone, in the Error list; the others go to storage in one request."""
    body = await read_xml_body(ctx, xmlbodies.MAX_DELETE_BODY)
    objects, quiet = xmlbodies.parse_delete_objects(body)
    keys: list[str] = []
    errors: list[tuple[str, str, str]] = []
    for key, version_id in objects:
        try:
            names.validate_key(key)
        except S3Error as exc:
            errors.append((key, exc.code, exc.message))
            continue
        if version_id is not None and version_id != "null":
            errors.append((key, "NoSuchVersion", "The specified version does not exist."))
            continue
        keys.append(key)
    reply, _ = await ctx.call(DeleteObjects(bucket=ctx.bucket, keys=keys), ObjectsDeleted)
    errors += [(e.key, e.code, e.message) for e in reply.errors]
    return Response(200, [XML], xmlbodies.render_delete_result(reply.deleted, errors, quiet))


# ------------------------------------------------------------------ tagging


async def get_object_tagging(ctx: Context) -> Response:
    reply, _ = await ctx.call(GetObjectTagging(bucket=ctx.bucket, key=ctx.key), TagSet)
    return Response(200, [XML], xmlbodies.render_tagging(reply.tags))


async def put_object_tagging(ctx: Context) -> Response:
    tags = xmlbodies.parse_tagging(await read_xml_body(ctx, xmlbodies.MAX_XML_BODY))
    await ctx.call(PutObjectTagging(bucket=ctx.bucket, key=ctx.key, tags=tags), Done)
    return Response(200)


async def delete_object_tagging(ctx: Context) -> Response:
    await ctx.call(DeleteObjectTagging(bucket=ctx.bucket, key=ctx.key), Done)
    return Response(204)


# ------------------------------------------------------------------ ACLs and versioning


async def get_object_acl(ctx: Context) -> Response:
    await ctx.call(HeadObject(bucket=ctx.bucket, key=ctx.key), ObjectMeta)
    return Response(200, [XML], xmlbodies.render_acl(_owner(ctx)))


async def put_object_acl(ctx: Context) -> Response:
    body = await read_xml_body(ctx, MAX_ACL_BODY)
    check_private_acl(ctx.request.headers, body, _owner(ctx).id)
    await ctx.call(HeadObject(bucket=ctx.bucket, key=ctx.key), ObjectMeta)
    return Response(200)


async def get_bucket_acl(ctx: Context) -> Response:
    await ctx.call(HeadBucket(bucket=ctx.bucket), Done)
    return Response(200, [XML], xmlbodies.render_acl(_owner(ctx)))


async def put_bucket_acl(ctx: Context) -> Response:
    body = await read_xml_body(ctx, MAX_ACL_BODY)
    check_private_acl(ctx.request.headers, body, _owner(ctx).id)
    await ctx.call(HeadBucket(bucket=ctx.bucket), Done)
    return Response(200)


async def get_bucket_versioning(ctx: Context) -> Response:
    await ctx.call(HeadBucket(bucket=ctx.bucket), Done)
    return Response(200, [XML], xmlbodies.render_versioning(None))


async def get_object_attributes(ctx: Context) -> Response:
    """The object's metadata as a document, from one HEAD with its checksums."""
    wanted = xmlbodies.parse_object_attributes(ctx.request.headers.get("x-amz-object-attributes"))
    meta, _ = await ctx.call(
        HeadObject(bucket=ctx.bucket, key=ctx.key, checksum_mode=True), ObjectMeta
    )
    body = xmlbodies.render_object_attributes(
        wanted, etag=meta.etag, size=meta.size, checksums=meta.checksums
    )
    return Response(200, [XML, ("last-modified", http_date(meta.last_modified))], body)


OPERATIONS: dict[str, Callable[[Context], Awaitable[Response]]] = {
    "CopyObject": copy_object,
    "DeleteObjects": delete_objects,
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetBucketVersioning": get_bucket_versioning,
    "GetObjectAttributes": get_object_attributes,
}
