"""Which API a request is for: S3 or native.

``objects``, ``health`` and ``docs`` are valid bucket names, so the path alone
cannot decide.  The rule:

1. A request that carries AWS authentication is S3: an ``Authorization``
   header with an AWS scheme (``AWS4-HMAC-SHA256``, or SigV2's ``AWS``), or
   presigned-URL query parameters (``X-Amz-Algorithm``, ``X-Amz-Credential``,
   ``X-Amz-Signature``, or SigV2's ``AWSAccessKeyId`` / ``Signature``).
2. Otherwise a request for a native path (``/health``, ``/objects``,
   ``/objects/...``, ``/docs``, ``/docs/...``, ``/openapi.json``) is native.
3. Everything else is S3 (which refuses unsigned requests as S3 does).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["NATIVE_PATHS", "NATIVE_PREFIXES", "is_native", "is_s3_authenticated"]

NATIVE_PATHS = frozenset({"/health", "/objects", "/docs", "/openapi.json"})
NATIVE_PREFIXES = ("/objects/", "/docs/")
_S3_SCHEMES = ("aws4-hmac-sha256", "aws")
_S3_QUERY = (b"x-amz-algorithm=", b"x-amz-credential=", b"x-amz-signature=", b"awsaccesskeyid=")


def is_s3_authenticated(headers: Iterable[tuple[bytes, bytes]], query: bytes) -> bool:
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme = value.strip().split(b" ", 1)[0].decode("latin-1").lower()
            if scheme in _S3_SCHEMES:
                return True
    if query:
        for part in query.lower().split(b"&"):
            if part.startswith(_S3_QUERY) or part.startswith(b"signature="):
                return True
    return False


def is_native(path: str, headers: Iterable[tuple[bytes, bytes]], query: bytes) -> bool:
    """Whether a request is for the native API (see the module docstring)."""
    if path not in NATIVE_PATHS and not path.startswith(NATIVE_PREFIXES):
        return False
    return not is_s3_authenticated(headers, query)
