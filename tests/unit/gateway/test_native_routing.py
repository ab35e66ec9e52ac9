"""S3 or native: decided by the authentication scheme, then the path."""

from __future__ import annotations

import pytest

from gateway.native.routing import is_native

SIGV4 = [(b"authorization", b"AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request")]
BASIC = [(b"authorization", b"Basic YWs6c2s=")]


@pytest.mark.parametrize("path", ["/objects", "/objects/image", "/objects/json/x.json", "/health"])
def test_native_paths_without_aws_auth_are_native(path):
    assert is_native(path, BASIC, b"")
    assert is_native(path, [], b"page=2")


@pytest.mark.parametrize("path", ["/docs", "/openapi.json", "/docs/oauth2-redirect"])
def test_documentation_is_native(path):
    assert is_native(path, [], b"")


@pytest.mark.parametrize("path", ["/objects", "/objects/key", "/health"])
def test_sigv4_requests_for_native_paths_are_s3(path):
    assert not is_native(path, SIGV4, b"")


@pytest.mark.parametrize(
    "query",
    [
        b"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b",
        b"x-amz-credential=a",
        b"AWSAccessKeyId=AK&Signature=x&Expires=1",
    ],
)
def test_presigned_urls_are_s3(query):
    assert not is_native("/objects/key", [], query)


def test_sigv2_header_is_s3():
    assert not is_native("/objects", [(b"authorization", b"AWS AK:sig")], b"")


@pytest.mark.parametrize("path", ["/", "/bucket", "/bucket/key", "/objectsx", "/healthz"])
def test_other_paths_are_s3(path):
    assert not is_native(path, BASIC, b"")
