"""Bucket configurations Sangraha does not keep, and object versions.

Sangraha stores no bucket policy, CORS, lifecycle, website, replication,
encryption, object-lock, ownership-controls, public-access-block or tag
configuration, and never versions objects.  Clients and tools (Terraform,
``mc``, the aws CLI) read these configurations to learn a bucket's state, so
the reads answer exactly what AWS S3 and MinIO answer for a bucket that has
none: the "not found" error of each (404), or the empty document where S3
answers one (logging, notifications, transfer acceleration, requester pays).
The deletes succeed (204) — deleting what is not there is a no-op in S3 too.
The writes stay ``501 NotImplemented``: nothing would enforce what they set.

Every answer first checks that the bucket exists (``NoSuchBucket``), and the
usual access rule applies (``Get*``/``List*`` read, the others write).

ListObjectVersions lists each object as its one version, ``null``, the
latest (S3's answer for a bucket that was never versioned).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.http import Response
from gateway.s3ops import XML, Context, _entries, _list
from s3compat import listing, xmlbodies
from s3compat.errors import S3Error
from sangraha.contract import Done, HeadBucket

__all__ = ["OPERATIONS"]

# Read operation -> the error S3 answers when the bucket has no such configuration.
_NOT_CONFIGURED: dict[str, str] = {
    "GetBucketPolicy": "NoSuchBucketPolicy",
    "GetBucketPolicyStatus": "NoSuchBucketPolicy",
    "GetBucketCors": "NoSuchCORSConfiguration",
    "GetBucketLifecycleConfiguration": "NoSuchLifecycleConfiguration",
    "GetBucketWebsite": "NoSuchWebsiteConfiguration",
    "GetBucketReplication": "ReplicationConfigurationNotFoundError",
    "GetBucketEncryption": "ServerSideEncryptionConfigurationNotFoundError",
    "GetObjectLockConfiguration": "ObjectLockConfigurationNotFoundError",
    "GetBucketOwnershipControls": "OwnershipControlsNotFoundError",
    "GetPublicAccessBlock": "NoSuchPublicAccessBlockConfiguration",
    "GetBucketTagging": "NoSuchTagSet",
}

# Read operation -> the empty document S3 answers (root element).
_EMPTY_DOCUMENTS: dict[str, str] = {
    "GetBucketLogging": "BucketLoggingStatus",
    "GetBucketNotificationConfiguration": "NotificationConfiguration",
    "GetBucketAccelerateConfiguration": "AccelerateConfiguration",
}

# Deleting a configuration the bucket does not have.
_NO_OP_DELETES = (
    "DeleteBucketPolicy",
    "DeleteBucketCors",
    "DeleteBucketLifecycle",
    "DeleteBucketWebsite",
    "DeleteBucketReplication",
    "DeleteBucketEncryption",
    "DeleteBucketOwnershipControls",
    "DeletePublicAccessBlock",
    "DeleteBucketTagging",
)


async def _bucket_exists(ctx: Context) -> None:
    await ctx.call(HeadBucket(bucket=ctx.bucket), Done)


async def _not_configured(ctx: Context) -> Response:
    await _bucket_exists(ctx)
    raise S3Error(_NOT_CONFIGURED[ctx.route.operation])


async def _empty_document(ctx: Context) -> Response:
    await _bucket_exists(ctx)
    root = _EMPTY_DOCUMENTS[ctx.route.operation]
    return Response(200, [XML], xmlbodies.render_empty_configuration(root))


async def _request_payment(ctx: Context) -> Response:
    await _bucket_exists(ctx)
    return Response(200, [XML], xmlbodies.render_request_payment())


async def _no_op_delete(ctx: Context) -> Response:
    await _bucket_exists(ctx)
    return Response(204)


async def list_object_versions(ctx: Context) -> Response:
    params, version_id_marker = listing.parse_list_versions(ctx.request.query)
    reply = await _list(ctx, params)
    body = xmlbodies.render_list_versions(
        params,
        name=ctx.bucket,
        version_id_marker=version_id_marker,
        versions=_entries(ctx, reply, True),
        common_prefixes=reply.common_prefixes,
        is_truncated=reply.is_truncated,
        next_key_marker=reply.last if reply.is_truncated else None,
    )
    return Response(200, [XML], body)


OPERATIONS: dict[str, Callable[[Context], Awaitable[Response]]] = {
    **dict.fromkeys(_NOT_CONFIGURED, _not_configured),
    **dict.fromkeys(_EMPTY_DOCUMENTS, _empty_document),
    **dict.fromkeys(_NO_OP_DELETES, _no_op_delete),
    "GetBucketRequestPayment": _request_payment,
    "ListObjectVersions": list_object_versions,
}
