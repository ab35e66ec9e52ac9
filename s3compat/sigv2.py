"""AWS Signature Version 2 *presigned URLs* (query-string authentication).

boto3 and the aws CLI v1 presign S3 URLs with SigV2 by default in regions
that still accept it, us-east-1 among them: ``?AWSAccessKeyId=..&Expires=..
&Signature=..``.  Such URLs are accepted here so that ``aws s3 presign`` and
``generate_presigned_url`` work unchanged; everything else must be SigV4
(``Authorization: AWS ...`` header auth stays refused by :mod:`s3compat.sigv4`).

The string to sign (AWS "Signing and authenticating REST requests")::

    VERB \\n Content-MD5 \\n Content-Type \\n Expires \\n
    CanonicalizedAmzHeaders CanonicalizedResource

- Content-MD5, Content-Type and ``x-amz-*`` values come from the request
  headers, or from query parameters of those names (botocore moves headers
  given at presign time into the query).  Every ``x-amz-*`` header the request
  carries is part of the signature, so none can be added to a URL.
- The resource is ``/bucket/key`` as sent (percent-encoded), with the bucket
  taken from the Host for virtual-host-style requests, plus the signed
  sub-resources and ``response-*`` overrides (values decoded), sorted.
- ``Expires`` (epoch seconds) is enforced, and may lie at most 7 days ahead,
  the SigV4 limit, so a SigV2 URL cannot outlive what SigV4 allows.
- The signature (HMAC-SHA1, base64) is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus

from s3compat.errors import S3Error
from s3compat.sigv4 import MAX_EXPIRES, AuthContext, PayloadMode, canonical_uri

__all__ = ["SIGNED_SUBRESOURCES", "authenticate_presigned", "is_presigned", "string_to_sign"]

_REQUIRED = ("AWSAccessKeyId", "Expires", "Signature")
_SIGV4_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")

# The query parameters that are part of the signed resource (botocore's list).
SIGNED_SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


def _raw_pairs(raw_query: str) -> list[tuple[str, str | None]]:
    """(name, raw value or None when there is no ``=``) in order."""
    pairs: list[tuple[str, str | None]] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        name, sep, value = part.partition("=")
        pairs.append((unquote(name), value if sep else None))
    return pairs


def is_presigned(raw_query: str, headers: Sequence[tuple[str, str]]) -> bool:
    """Whether a request authenticates as a SigV2 presigned URL (and not SigV4)."""
    names = {name for name, _ in _raw_pairs(raw_query)}
    if not all(name in names for name in _REQUIRED) or names & set(_SIGV4_PARAMS):
        return False
    return not any(name.lower() == "authorization" for name, _ in headers)


def _vhost_bucket(host: str | None, domain: str | None) -> str | None:
    if not host or not domain:
        return None
    hostname = host.strip().lower()
    if not hostname.startswith("["):
        hostname = hostname.rsplit(":", 1)[0]
    hostname = hostname.rstrip(".")
    suffix = "." + domain.strip().lower().rstrip(".")
    if hostname.endswith(suffix) and len(hostname) > len(suffix):
        return hostname[: -len(suffix)]
    return None


def string_to_sign(
    method: str,
    resource_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    expires: str,
) -> str:
    """The SigV2 string to sign for a presigned request."""
    pairs = _raw_pairs(raw_query)
    params = {name: unquote_plus(value or "") for name, value in pairs}
    header_values: dict[str, list[str]] = {}
    for name, value in headers:
        header_values.setdefault(name.lower(), []).append(value.strip())

    def standard(name: str) -> str:
        if name in header_values:
            return ",".join(header_values[name])
        return params.get(name, "").strip()

    amz: dict[str, str] = {
        name.lower(): value.strip()
        for name, value in params.items()
        if name.lower().startswith("x-amz-")
    }
    for name, values in header_values.items():
        if name.startswith("x-amz-"):
            amz[name] = ",".join(values)
    subresources = sorted(
        (name, None if value is None else unquote(value))
        for name, value in pairs
        if name in SIGNED_SUBRESOURCES
    )
    resource = resource_path
    if subresources:
        resource += "?" + "&".join(n if v is None else f"{n}={v}" for n, v in subresources)
    lines = [method.upper(), standard("content-md5"), standard("content-type"), expires]
    lines += [f"{name}:{amz[name]}" for name in sorted(amz)]
    return "\n".join([*lines, resource])


def _sign(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def authenticate_presigned(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    *,
    lookup_secret: Callable[[str], str | None],
    region: str,
    now: datetime,
    host: str | None = None,
    domain: str | None = None,
) -> AuthContext:
    """Verify a SigV2 presigned request; raise S3Error.  The payload is unsigned."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    raw = {name: value or "" for name, value in reversed(_raw_pairs(raw_query))}
    access_key = unquote_plus(raw["AWSAccessKeyId"])
    expires = unquote_plus(raw["Expires"])
    if not expires.isascii() or not expires.isdigit():
        raise S3Error("AccessDenied", "Invalid date (should be seconds since epoch)")
    remaining = int(expires) - now.timestamp()
    if remaining < 0:
        raise S3Error(
            "AccessDenied",
            "Request has expired",
            extra={
                "Expires": datetime.fromtimestamp(int(expires), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
    if remaining > MAX_EXPIRES:
        raise S3Error(
            "AccessDenied", "Presigned URLs may be valid for at most 7 days (604800 seconds)"
        )
    secret = lookup_secret(access_key)
    if secret is None:
        raise S3Error("InvalidAccessKeyId", extra={"AWSAccessKeyId": access_key})
    bucket = _vhost_bucket(host, domain)
    prefix = "/" + quote(bucket, safe="") if bucket else ""
    paths = [prefix + raw_path]
    if prefix + canonical_uri(raw_path) not in paths:
        paths.append(prefix + canonical_uri(raw_path))
    # The signature is base64: a client may leave its "+" unencoded.
    provided = {unquote(raw["Signature"]), unquote_plus(raw["Signature"])}
    candidates = [string_to_sign(method, p, raw_query, headers, expires) for p in paths]
    for text in candidates:
        expected = _sign(secret, text)
        if any(hmac.compare_digest(expected.encode(), p.encode()) for p in provided):
            break
    else:
        raise S3Error(
            "SignatureDoesNotMatch",
            extra={
                "AWSAccessKeyId": access_key,
                "StringToSign": candidates[0],
                "SignatureProvided": unquote(raw["Signature"]),
            },
        )
    return AuthContext(
        access_key=access_key,
        region=region,
        service="s3",
        amz_date=now.strftime("%Y%m%dT%H%M%SZ"),
        scope="",
        signing_key=b"",
        seed_signature="",
        payload_mode=PayloadMode.UNSIGNED,
        expected_sha256=None,
        presigned=True,
    )
