"""Bucket-name, object-key and user-metadata rules of AWS S3.

Bucket names follow the *general purpose bucket* rules; keys may be any UTF-8
up to 1024 bytes; user metadata (``x-amz-meta-*``) is limited to 2 KB.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from s3compat.errors import S3Error

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_USER_METADATA_BYTES",
    "META_PREFIX",
    "validate_bucket_name",
    "validate_key",
    "validate_metadata",
]

MAX_KEY_BYTES = 1024
MAX_USER_METADATA_BYTES = 2048
META_PREFIX = "x-amz-meta-"

_ALLOWED = re.compile(r"[a-z0-9.-]+")
_IPV4_LIKE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _bad_bucket(name: str, why: str) -> S3Error:
    return S3Error(
        "InvalidBucketName",
        f"The specified bucket is not valid: {why}.",
        extra={"BucketName": name},
    )


def validate_bucket_name(name: str) -> None:
    """Raise ``InvalidBucketName`` saying which rule ``name`` breaks."""
    if not 3 <= len(name) <= 63:
        raise _bad_bucket(name, "bucket names must be between 3 and 63 characters long")
    if not _ALLOWED.fullmatch(name):
        raise _bad_bucket(
            name,
            "bucket names can consist only of lowercase letters, numbers, periods and hyphens",
        )
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise _bad_bucket(name, "bucket names must begin and end with a letter or number")
    if ".." in name:
        raise _bad_bucket(name, "bucket names must not contain two adjacent periods")
    if _IPV4_LIKE.fullmatch(name):
        raise _bad_bucket(name, "bucket names must not be formatted as an IP address")
    for prefix in _RESERVED_PREFIXES:
        if name.startswith(prefix):
            raise _bad_bucket(name, f"bucket names must not start with the prefix {prefix}")
    for suffix in _RESERVED_SUFFIXES:
        if name.endswith(suffix):
            raise _bad_bucket(name, f"bucket names must not end with the suffix {suffix}")


def validate_key(key: str) -> None:
    """Raise unless ``key`` is a usable object key (1 to 1024 bytes of UTF-8).

    An empty key is ``InvalidArgument`` (path-style routing never produces one;
    it reaches here from copy sources and DeleteObjects bodies).  Text that
    cannot be encoded as UTF-8 (lone surrogates from a badly decoded path) is
    ``InvalidURI``.
    """
    if not key:
        raise S3Error("InvalidArgument", "The object key must not be empty.")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise S3Error("InvalidURI", "The object key is not valid UTF-8.") from None
    if size > MAX_KEY_BYTES:
        raise S3Error(
            "KeyTooLongError",
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_KEY_BYTES)},
        )


def validate_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """User metadata from ``x-amz-meta-*`` headers: names lowercased, prefix removed.

    The size is the sum of UTF-8 bytes of every name (without the prefix) and
    value, as AWS measures it; over 2 KB is ``MetadataTooLarge``.  A bare
    ``x-amz-meta-`` header (empty name) is ignored.
    """
    meta: dict[str, str] = {}
    for raw_name, value in headers.items():
        name = raw_name.lower()
        if not name.startswith(META_PREFIX) or len(name) == len(META_PREFIX):
            continue
        meta[name[len(META_PREFIX) :]] = value
    size = sum(
        len(k.encode("utf-8", "surrogatepass")) + len(v.encode("utf-8", "surrogatepass"))
        for k, v in meta.items()
    )
    if size > MAX_USER_METADATA_BYTES:
        raise S3Error(
            "MetadataTooLarge",
            extra={"Size": str(size), "MaxSizeAllowed": str(MAX_USER_METADATA_BYTES)},
        )
    return meta
