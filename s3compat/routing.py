"""Which S3 operation a request is: method, path, sub-resource query keys, headers.

Path-style (``/bucket/key``) and virtual-host-style (``bucket.<domain>/key``)
addressing.  Operation names are AWS's API action names, so the gateway can
dispatch on them and answer ``NotImplemented`` naming the action it lacks.

The key is everything after the first ``/`` following the bucket, verbatim:
trailing slashes, ``//`` and ``..`` are part of S3 keys.  An empty key means a
bucket-level request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from s3compat.errors import S3Error

__all__ = ["BUCKET_SUBRESOURCES", "OBJECT_SUBRESOURCES", "S3Route", "resolve"]


@dataclass(frozen=True)
class S3Route:
    operation: str
    bucket: str | None
    key: str | None


_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE"})

# sub-resource query key -> {method: action}; checked in this order.
BUCKET_SUBRESOURCES: dict[str, dict[str, str]] = {
    "uploads": {"GET": "ListMultipartUploads"},
    "delete": {"POST": "DeleteObjects"},
    "versions": {"GET": "ListObjectVersions"},
    "location": {"GET": "GetBucketLocation"},
    "versioning": {"GET": "GetBucketVersioning", "PUT": "PutBucketVersioning"},
    "acl": {"GET": "GetBucketAcl", "PUT": "PutBucketAcl"},
    "tagging": {
        "GET": "GetBucketTagging",
        "PUT": "PutBucketTagging",
        "DELETE": "DeleteBucketTagging",
    },
    "policy": {"GET": "GetBucketPolicy", "PUT": "PutBucketPolicy", "DELETE": "DeleteBucketPolicy"},
    "policyStatus": {"GET": "GetBucketPolicyStatus"},
    "cors": {"GET": "GetBucketCors", "PUT": "PutBucketCors", "DELETE": "DeleteBucketCors"},
    "lifecycle": {
        "GET": "GetBucketLifecycleConfiguration",
        "PUT": "PutBucketLifecycleConfiguration",
        "DELETE": "DeleteBucketLifecycle",
    },
    "website": {
        "GET": "GetBucketWebsite",
        "PUT": "PutBucketWebsite",
        "DELETE": "DeleteBucketWebsite",
    },
    "logging": {"GET": "GetBucketLogging", "PUT": "PutBucketLogging"},
    "notification": {
        "GET": "GetBucketNotificationConfiguration",
        "PUT": "PutBucketNotificationConfiguration",
    },
    "replication": {
        "GET": "GetBucketReplication",
        "PUT": "PutBucketReplication",
        "DELETE": "DeleteBucketReplication",
    },
    "encryption": {
        "GET": "GetBucketEncryption",
        "PUT": "PutBucketEncryption",
        "DELETE": "DeleteBucketEncryption",
    },
    "object-lock": {"GET": "GetObjectLockConfiguration", "PUT": "PutObjectLockConfiguration"},
    "ownershipControls": {
        "GET": "GetBucketOwnershipControls",
        "PUT": "PutBucketOwnershipControls",
        "DELETE": "DeleteBucketOwnershipControls",
    },
    "publicAccessBlock": {
        "GET": "GetPublicAccessBlock",
        "PUT": "PutPublicAccessBlock",
        "DELETE": "DeletePublicAccessBlock",
    },
    "accelerate": {
        "GET": "GetBucketAccelerateConfiguration",
        "PUT": "PutBucketAccelerateConfiguration",
    },
    "requestPayment": {"GET": "GetBucketRequestPayment", "PUT": "PutBucketRequestPayment"},
    "metadataTable": {
        "GET": "GetBucketMetadataTableConfiguration",
        "POST": "CreateBucketMetadataTableConfiguration",
        "DELETE": "DeleteBucketMetadataTableConfiguration",
    },
    "metadataConfiguration": {
        "GET": "GetBucketMetadataConfiguration",
        "POST": "CreateBucketMetadataConfiguration",
        "DELETE": "DeleteBucketMetadataConfiguration",
    },
    "session": {"GET": "CreateSession"},
}

# Configurations addressed by ``id``: without it, GET lists them.
_ID_CONFIGURATIONS: dict[str, str] = {
    "analytics": "BucketAnalyticsConfiguration",
    "metrics": "BucketMetricsConfiguration",
    "inventory": "BucketInventoryConfiguration",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
}

OBJECT_SUBRESOURCES: dict[str, dict[str, str]] = {
    "uploads": {"POST": "CreateMultipartUpload"},
    "acl": {"GET": "GetObjectAcl", "PUT": "PutObjectAcl"},
    "tagging": {
        "GET": "GetObjectTagging",
        "PUT": "PutObjectTagging",
        "DELETE": "DeleteObjectTagging",
    },
    "attributes": {"GET": "GetObjectAttributes"},
    "restore": {"POST": "RestoreObject"},
    "select": {"POST": "SelectObjectContent"},
    "retention": {"GET": "GetObjectRetention", "PUT": "PutObjectRetention"},
    "legal-hold": {"GET": "GetObjectLegalHold", "PUT": "PutObjectLegalHold"},
    "torrent": {"GET": "GetObjectTorrent"},
    "renameObject": {"PUT": "RenameObject"},
}

_BUCKET_PLAIN = {"PUT": "CreateBucket", "DELETE": "DeleteBucket"}
_OBJECT_PLAIN = {"GET": "GetObject", "DELETE": "DeleteObject"}
_UPLOAD_ID = {
    "GET": "ListParts",
    "POST": "CompleteMultipartUpload",
    "DELETE": "AbortMultipartUpload",
}


def _not_allowed() -> S3Error:
    return S3Error("MethodNotAllowed")


def _strip_port(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # IPv6 literal, never a bucket
        return host
    return host.rsplit(":", 1)[0] if ":" in host else host


def _split(path: str, host: str | None, domain: str | None) -> tuple[str | None, str | None]:
    if not path.startswith("/"):
        raise S3Error("InvalidURI")
    if domain and host:
        hostname = _strip_port(host)
        suffix = "." + domain.strip().lower().rstrip(".")
        if hostname.rstrip(".").endswith(suffix) and len(hostname.rstrip(".")) > len(suffix):
            bucket = hostname.rstrip(".")[: -len(suffix)]
            return bucket, path[1:] or None
    rest = path[1:]
    if not rest:
        return None, None
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI: empty bucket name.")
    return bucket, key or None


def _bucket_operation(method: str, query: Mapping[str, str]) -> str:
    if method == "HEAD":
        return "HeadBucket"
    for name, actions in BUCKET_SUBRESOURCES.items():
        if name in query:
            if method not in actions:
                raise _not_allowed()
            return actions[method]
    for name, suffix in _ID_CONFIGURATIONS.items():
        if name in query:
            if "id" not in query and method == "GET":
                return f"List{suffix}s"
            verbs = {"GET": "Get", "PUT": "Put", "DELETE": "Delete"}
            if method not in verbs:
                raise _not_allowed()
            return f"{verbs[method]}{suffix}"
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
    if method == "POST":
        # Browser-based upload (HTML form POST); S3 calls it "POST Object".
        return "PostObject"
    return _BUCKET_PLAIN[method]


def _object_operation(method: str, query: Mapping[str, str], headers: Mapping[str, str]) -> str:
    if method == "HEAD":
        return "HeadObject"
    copy = "x-amz-copy-source" in headers
    if "uploadId" in query:
        if method == "PUT":
            return "UploadPartCopy" if copy else "UploadPart"
        if method not in _UPLOAD_ID:
            raise _not_allowed()
        return _UPLOAD_ID[method]
    for name, actions in OBJECT_SUBRESOURCES.items():
        if name in query:
            if method not in actions:
                raise _not_allowed()
            return actions[method]
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    if method not in _OBJECT_PLAIN:
        raise _not_allowed()
    return _OBJECT_PLAIN[method]


def resolve(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    host: str | None = None,
    domain: str | None = None,
) -> S3Route:
    """The S3 operation of a request.

    ``path`` is percent-decoded; ``query`` holds decoded parameters (present
    even when empty); ``headers`` have lowercase names.  With ``domain`` set, a
    ``host`` of ``<bucket>.<domain>`` (any port) selects virtual-host style.
    Raises ``MethodNotAllowed`` for methods or method/sub-resource pairs S3
    does not define, ``InvalidURI`` for a path that is not absolute.
    """
    method = method.upper()
    if method not in _METHODS:
        raise _not_allowed()
    bucket, key = _split(path, host, domain)
    if bucket is None:
        if method != "GET":
            raise _not_allowed()
        return S3Route("ListBuckets", None, None)
    if key is None:
        return S3Route(_bucket_operation(method, query), bucket, None)
    return S3Route(_object_operation(method, query, headers), bucket, key)
