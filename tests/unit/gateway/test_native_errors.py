"""One error shape; S3 errors translated at one boundary."""

from __future__ import annotations

import pytest

from gateway.native.errors import CODES, NativeError, error_body, from_s3
from s3compat.errors import S3Error


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("NoSuchKey", 404),
        ("NoSuchBucket", 404),
        ("ServiceUnavailable", 503),
        ("SlowDown", 503),
        ("EntityTooLarge", 413),
        ("RequestTimeout", 408),
        ("AccessDenied", 403),
        ("InvalidArgument", 400),
        ("InternalError", 500),
        ("NotImplemented", 500),
    ],
)
def test_s3_errors_map_to_native_statuses(code, status):
    error = from_s3(S3Error(code))
    assert error.status == status
    assert error.code == CODES[status]


def test_unavailable_says_when_to_retry():
    assert from_s3(S3Error("SlowDown")).headers == {"retry-after": "1"}


def test_error_body_shape():
    body = error_body(NativeError(415, "detected text/plain"), "RID")
    assert body == {
        "error": {
            "code": "unsupported_media_type",
            "message": "detected text/plain",
            "request_id": "RID",
        }
    }


def test_every_status_has_a_code():
    with pytest.raises(ValueError):
        NativeError(418, "teapot")
