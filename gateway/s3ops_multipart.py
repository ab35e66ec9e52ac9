"""Multipart uploads, gateway side: CreateMultipartUpload, UploadPart,
UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload, ListParts and
ListMultipartUploads.

Same shape as :mod:`gateway.s3ops`: validate, build one contract request,
render the reply.  :data:`OPERATIONS` here is merged into
:data:`gateway.s3ops.OPERATIONS`.

- An UploadPart body is taken in exactly as a PutObject body: verified
  inline up to ``max_inline_bytes``, streamed in verified chunks above (the
  last chunk only once the whole part has been verified).
- UploadPartCopy, like CopyObject, runs inside storage: no object bytes pass
  through the gateway or the broker.
- The CompleteMultipartUpload document is read (bounded, verified) and
  parsed here; storage checks the parts against what it holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.http import Response
from gateway.intake import declared_size, header_checksums
from gateway.s3ops import XML, Context, _dt, _owner, _stored_headers, read_xml_body, send_with_body
from s3compat import names, xmlbodies
from s3compat.checksums import ALGORITHMS, header_name
from s3compat.conditional import write_conditions
from s3compat.copysource import parse_copy_source
from s3compat.errors import S3Error
from s3compat.multipart import (
    MAX_PART_SIZE,
    parse_checksum_algorithm,
    parse_list_parts,
    parse_list_uploads,
    parse_part_number,
    resolve_checksum_type,
)
from s3compat.ranges import parse_copy_source_range
from sangraha.contract import (
    AbortMultipartUpload,
    CompletedPart,
    CompleteMultipartUpload,
    CreateMultipartUpload,
    Done,
    ListMultipartUploads,
    ListParts,
    PartList,
    PartWritten,
    UploadCompleted,
    UploadCreated,
    UploadList,
    UploadPart,
    UploadPartCopy,
)

__all__ = ["OPERATIONS"]

_COPY_SOURCE_CONDITIONS = (
    "x-amz-copy-source-if-match",
    "x-amz-copy-source-if-none-match",
    "x-amz-copy-source-if-modified-since",
    "x-amz-copy-source-if-unmodified-since",
)
# A size no object reaches: checks a copy range's syntax without the source.
_ANY_SIZE = 2**62


def _upload_id(ctx: Context) -> str:
    upload_id = ctx.request.query.get("uploadId", "")
    if not upload_id:
        raise S3Error("NoSuchUpload")
    return upload_id


def _checksum_elements(checksums: dict[str, str]) -> dict[str, str]:
    """Checksums by algorithm as XML element names (``ChecksumCRC32``)."""
    return {"Checksum" + a: v for a, v in checksums.items()}


def _checksum_headers(checksums: dict[str, str]) -> list[tuple[str, str]]:
    return [(header_name(a), v) for a, v in checksums.items() if a in ALGORITHMS]


# ------------------------------------------------------------------ create, abort


async def create_multipart_upload(ctx: Context) -> Response:
    headers = ctx.request.headers
    names.validate_bucket_name(ctx.bucket)
    names.validate_key(ctx.key)
    algorithm = parse_checksum_algorithm(headers.get("x-amz-checksum-algorithm"))
    request = CreateMultipartUpload(
        bucket=ctx.bucket,
        key=ctx.key,
        content_type=headers.get("content-type") or "binary/octet-stream",
        metadata=names.validate_metadata(headers),
        headers=_stored_headers(ctx.request),
        tags=xmlbodies.parse_tagging_header(headers.get("x-amz-tagging", "")),
        checksum_algorithm=algorithm,
        checksum_type=resolve_checksum_type(algorithm, headers.get("x-amz-checksum-type")),
    )
    reply, _ = await ctx.call(request, UploadCreated)
    response_headers = [XML]
    if reply.checksum_algorithm:
        response_headers.append(("x-amz-checksum-algorithm", reply.checksum_algorithm))
    if reply.checksum_type:
        response_headers.append(("x-amz-checksum-type", reply.checksum_type))
    body = xmlbodies.render_initiate_multipart(ctx.bucket, ctx.key, reply.upload_id)
    return Response(200, response_headers, body)


async def abort_multipart_upload(ctx: Context) -> Response:
    request = AbortMultipartUpload(bucket=ctx.bucket, key=ctx.key, upload_id=_upload_id(ctx))
    await ctx.call(request, Done)
    return Response(204)


# ------------------------------------------------------------------ parts


async def upload_part(ctx: Context) -> Response:
    part_number = parse_part_number(ctx.request.query.get("partNumber"))
    upload_id = _upload_id(ctx)
    size = declared_size(ctx.request, ctx.auth)
    if size > MAX_PART_SIZE:
        raise S3Error(
            "EntityTooLarge",
            "a part may be at most 5 GiB",
            extra={"ProposedSize": str(size), "MaxSizeAllowed": str(MAX_PART_SIZE)},
        )
    request = UploadPart(
        bucket=ctx.bucket,
        key=ctx.key,
        upload_id=upload_id,
        part_number=part_number,
        size=size,
        md5="",
    )
    reply, verified = await send_with_body(ctx, request, size, PartWritten)
    headers = [("etag", f'"{reply.etag}"')]
    headers += _checksum_headers(verified | reply.checksums)
    return Response(200, headers)


async def upload_part_copy(ctx: Context) -> Response:
    headers = ctx.request.headers
    part_number = parse_part_number(ctx.request.query.get("partNumber"))
    upload_id = _upload_id(ctx)
    source = parse_copy_source(headers.get("x-amz-copy-source", ""))
    if source.version_id is not None and source.version_id != "null":
        raise S3Error(
            "InvalidArgument",
            "Invalid version id specified",
            extra={"ArgumentName": "versionId", "ArgumentValue": source.version_id[:1024]},
        )
    source_range = headers.get("x-amz-copy-source-range")
    if source_range is not None:
        parse_copy_source_range(source_range, _ANY_SIZE)  # syntax; storage resolves it
    request = UploadPartCopy(
        bucket=ctx.bucket,
        key=ctx.key,
        upload_id=upload_id,
        part_number=part_number,
        source_bucket=source.bucket,
        source_key=source.key,
        source_range=source_range,
        source_conditions={n: headers[n] for n in _COPY_SOURCE_CONDITIONS if n in headers},
    )
    reply, _ = await ctx.call(request, PartWritten)
    body = xmlbodies.render_copy_part_result(
        reply.etag, _dt(reply.last_modified), checksums=_checksum_elements(reply.checksums)
    )
    response_headers = [XML]
    if source.version_id is not None:
        response_headers.append(("x-amz-copy-source-version-id", source.version_id))
    return Response(200, response_headers, body)


# ------------------------------------------------------------------ complete


def _location(ctx: Context) -> str:
    """The object's URL: the URL this request was sent to, without its query."""
    scheme = "https" if ctx.settings.tls_cert_file else "http"
    host = ctx.request.headers.get("host", "")
    return f"{scheme}://{host}{ctx.request.raw_path}"


async def complete_multipart_upload(ctx: Context) -> Response:
    upload_id = _upload_id(ctx)
    body = await read_xml_body(ctx, xmlbodies.MAX_COMPLETE_MULTIPART_BODY)
    parts = xmlbodies.parse_complete_multipart_parts(body)
    request = CompleteMultipartUpload(
        bucket=ctx.bucket,
        key=ctx.key,
        upload_id=upload_id,
        parts=[
            CompletedPart(
                number=p.part_number,
                etag=p.etag,
                checksums={
                    name.removeprefix("Checksum"): value for name, value in p.checksums.items()
                },
            )
            for p in parts
        ],
        checksums=header_checksums(ctx.request),
        conditions=write_conditions(ctx.request.headers),
    )
    reply, _ = await ctx.call(request, UploadCompleted)
    result = xmlbodies.render_complete_multipart(
        _location(ctx),
        ctx.bucket,
        ctx.key,
        reply.etag,
        checksums=_checksum_elements(reply.checksums),
    )
    headers = [XML]
    if reply.checksum_type:
        headers.append(("x-amz-checksum-type", reply.checksum_type))
    return Response(200, headers, result)


# ------------------------------------------------------------------ listing


async def list_parts(ctx: Context) -> Response:
    params = parse_list_parts(ctx.request.query)
    request = ListParts(
        bucket=ctx.bucket,
        key=ctx.key,
        upload_id=_upload_id(ctx),
        max_parts=params.max_parts,
        part_number_marker=params.part_number_marker,
    )
    reply, _ = await ctx.call(request, PartList)
    body = xmlbodies.render_list_parts(
        bucket=ctx.bucket,
        key=ctx.key,
        upload_id=request.upload_id,
        owner=_owner(ctx),
        parts=[
            xmlbodies.PartEntry(
                part_number=p.number,
                last_modified=_dt(p.last_modified),
                etag=p.etag,
                size=p.size,
                checksums=_checksum_elements(p.checksums),
            )
            for p in reply.parts
        ],
        part_number_marker=params.part_number_marker,
        next_part_number_marker=reply.next_marker,
        max_parts=params.max_parts,
        is_truncated=reply.is_truncated,
    )
    headers = [XML]
    if reply.checksum_algorithm:
        headers.append(("x-amz-checksum-algorithm", reply.checksum_algorithm))
    return Response(200, headers, body)


async def list_multipart_uploads(ctx: Context) -> Response:
    params = parse_list_uploads(ctx.request.query)
    request = ListMultipartUploads(
        bucket=ctx.bucket,
        prefix=params.prefix,
        delimiter=params.delimiter,
        max_uploads=params.max_uploads,
        key_marker=params.key_marker,
        upload_id_marker=params.upload_id_marker,
    )
    reply, _ = await ctx.call(request, UploadList)
    owner = _owner(ctx)
    body = xmlbodies.render_list_multipart_uploads(
        bucket=ctx.bucket,
        uploads=[
            xmlbodies.UploadEntry(
                key=u.key, upload_id=u.upload_id, initiated=_dt(u.initiated), owner=owner
            )
            for u in reply.uploads
        ],
        common_prefixes=reply.common_prefixes,
        prefix=params.prefix,
        delimiter=params.delimiter,
        key_marker=params.key_marker,
        upload_id_marker=params.upload_id_marker,
        next_key_marker=reply.next_key_marker,
        next_upload_id_marker=reply.next_upload_id_marker,
        max_uploads=params.max_uploads,
        is_truncated=reply.is_truncated,
        encoding_type=params.encoding_type,
    )
    return Response(200, [XML], body)


OPERATIONS: dict[str, Callable[[Context], Awaitable[Response]]] = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
}
