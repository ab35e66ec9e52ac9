"""HTTP Basic authentication for the native API: access key and secret.

The same keys that sign S3 requests (:class:`gateway.credentials.Credentials`)
authenticate native requests; the secret is sent as the Basic password, so
native clients must use TLS outside a trusted network (see docs/native-api.md).

No credentials, or a malformed Authorization header: 401 with a Basic
challenge.  Well-formed but wrong credentials: 403, as S3 answers a bad
signature.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from gateway.credentials import Credentials
from gateway.native.errors import NativeError

__all__ = ["authenticate"]


def authenticate(authorization: str | None, credentials: Credentials) -> str:
    """The access key of a valid ``Authorization: Basic`` header; raises
    :class:`NativeError` (401 or 403) otherwise."""
    if not authorization:
        raise NativeError.unauthorized(
            "This endpoint needs HTTP Basic credentials: your access key and secret key."
        )
    scheme, _, param = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise NativeError.unauthorized(
            f"Unsupported authorization scheme {scheme[:20]!r}; use Basic."
        )
    try:
        decoded = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise NativeError.unauthorized(
            "The Basic credentials are not valid base64 UTF-8."
        ) from None
    access_key, colon, secret = decoded.partition(":")
    if not colon:
        raise NativeError.unauthorized("The Basic credentials must be access-key:secret-key.")
    expected = credentials.secret_for(access_key)
    # Compare even for an unknown key, so timing does not tell keys apart.
    candidate = (expected if expected is not None else "\x00" + secret).encode()
    if not hmac.compare_digest(candidate, secret.encode()) or expected is None:
        raise NativeError(403, "The access key or secret key is not valid.")
    return access_key
