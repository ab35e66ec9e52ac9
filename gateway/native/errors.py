"""The native API's errors: one JSON shape, one translation from S3 errors.

Every error answer is::

    {"error": {"code": "not_found", "message": "...", "request_id": "..."}}

``code`` is one of :data:`CODES` and fixed per HTTP status, so clients can
switch on either.  S3 errors raised by the contract calls (a worker's
``Failure`` or a transport error) become native errors in :func:`from_s3`,
the one boundary where that happens.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from s3compat.errors import S3Error

__all__ = [
    "CODES",
    "ErrorBody",
    "ErrorDetail",
    "NativeError",
    "error_body",
    "from_s3",
]

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
    503: "service_unavailable",
}

BASIC_CHALLENGE = 'Basic realm="sangraha", charset="UTF-8"'


class NativeError(Exception):
    """An error answer of the native API."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        if status not in CODES:
            raise ValueError(f"no native error code for HTTP status {status}")
        super().__init__(message)
        self.status = status
        self.code = CODES[status]
        self.message = message
        self.headers = dict(headers or {})

    @classmethod
    def unauthorized(cls, message: str) -> NativeError:
        return cls(401, message, {"www-authenticate": BASIC_CHALLENGE})


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code; one per HTTP status.", examples=["not_found"])
    message: str = Field(description="What went wrong, for a human.")
    request_id: str = Field(description="The request ID, also in the X-Request-Id header.")


class ErrorBody(BaseModel):
    """Every native API error has this shape."""

    error: ErrorDetail


def error_body(error: NativeError, request_id: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": error.code, "message": error.message, "request_id": request_id}}


_S3_STATUS = {
    "NoSuchKey": 404,
    "NoSuchBucket": 404,
    "AccessDenied": 403,
    "EntityTooLarge": 413,
    "RequestTimeout": 408,
    "ServiceUnavailable": 503,
    "SlowDown": 503,
}


def from_s3(error: S3Error) -> NativeError:
    """Translate an S3 error from a contract call into a native error."""
    status = _S3_STATUS.get(error.code)
    if status is None:
        status = 400 if 400 <= error.status < 500 else 500
    headers = {"retry-after": "1"} if status == 503 else {}
    message = error.message
    if status == 404:
        message = "No object with this id."
    elif status == 500:
        message = f"{error.code}: {error.message}"
    return NativeError(status, message, headers)
