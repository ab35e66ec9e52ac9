"""SigV2 presigned URLs: AWS's published example and botocore's own signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from s3compat.errors import S3Error
from s3compat.sigv2 import authenticate_presigned, is_presigned, string_to_sign
from s3compat.sigv4 import PayloadMode

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def _lookup(key: str) -> str | None:
    return SECRET if key == AKID else None


def _auth(method, url, headers=(), *, now=NOW, domain=None):
    parts = urlsplit(url)
    return authenticate_presigned(
        method,
        parts.path,
        parts.query,
        list(headers),
        lookup_secret=_lookup,
        region="us-east-1",
        now=now,
        host=parts.netloc,
        domain=domain,
    )


def _presign(method, url, expires=3600, headers=None, now=NOW, monkeypatch=None):
    request = AWSRequest(method=method, url=url, headers=headers or {})
    signer = HmacV1QueryAuth(Credentials(AKID, SECRET), expires=expires)
    if monkeypatch is not None:
        monkeypatch.setattr("botocore.auth.time.time", lambda: now.timestamp())
    signer.add_auth(request)
    return request.url


def test_aws_documentation_example_verifies():
    # "Query string request authentication" example of the S3 SigV2 docs.
    url = (
        "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"
        "&Expires=1175139620&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
    )
    then = datetime.fromtimestamp(1175139620 - 60, UTC)
    ctx = _auth("GET", url, now=then, domain="s3.amazonaws.com")
    assert ctx.access_key == AKID
    assert ctx.presigned
    assert ctx.payload_mode is PayloadMode.UNSIGNED


def test_aws_documentation_string_to_sign():
    assert (
        string_to_sign("GET", "/johnsmith/photos/puppy.jpg", "", [], "1175139620")
        == "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg"
    )


@pytest.mark.parametrize(
    "path",
    ["/bucket/key", "/bucket/dir/a%20b%2Bc.txt", "/bucket/%C3%BCnic%C3%B8de", "/bucket/trailing/"],
)
def test_botocore_presigned_get_verifies(monkeypatch, path):
    url = _presign("GET", "http://127.0.0.1:9000" + path, monkeypatch=monkeypatch)
    assert _auth("GET", url).access_key == AKID


def test_response_overrides_and_subresources_are_signed(monkeypatch):
    base = (
        "http://127.0.0.1:9000/b/k?response-content-disposition="
        "attachment%3B%20filename%3D%22r.csv%22&response-content-type=text%2Fcsv"
    )
    url = _presign("GET", base, monkeypatch=monkeypatch)
    _auth("GET", url)
    tampered = url.replace("text%2Fcsv", "text%2Fhtml")
    with pytest.raises(S3Error) as exc:
        _auth("GET", tampered)
    assert exc.value.code == "SignatureDoesNotMatch"


def test_headers_signed_at_presign_time_travel_in_the_query(monkeypatch):
    url = _presign(
        "PUT",
        "http://127.0.0.1:9000/b/k",
        headers={"Content-Type": "text/plain", "x-amz-meta-color": "blue"},
        monkeypatch=monkeypatch,
    )
    assert "content-type=text%2Fplain" in url
    _auth("PUT", url, [("content-type", "text/plain")])
    _auth("PUT", url, [("content-type", "text/plain"), ("x-amz-meta-color", "blue")])
    with pytest.raises(S3Error):
        _auth("PUT", url, [("content-type", "application/x-www-form-urlencoded")])


def test_an_added_amz_header_breaks_the_signature(monkeypatch):
    url = _presign("PUT", "http://127.0.0.1:9000/b/k", monkeypatch=monkeypatch)
    _auth("PUT", url)
    with pytest.raises(S3Error) as exc:
        _auth("PUT", url, [("x-amz-copy-source", "other/secret")])
    assert exc.value.code == "SignatureDoesNotMatch"


def test_method_and_path_are_signed(monkeypatch):
    url = _presign("GET", "http://127.0.0.1:9000/b/public", monkeypatch=monkeypatch)
    for method, changed in (("DELETE", url), ("GET", url.replace("/public", "/private"))):
        with pytest.raises(S3Error) as exc:
            _auth(method, changed)
        assert exc.value.code == "SignatureDoesNotMatch"


def test_expired_url_is_access_denied(monkeypatch):
    url = _presign("GET", "http://127.0.0.1:9000/b/k", expires=60, monkeypatch=monkeypatch)
    _auth("GET", url, now=NOW + timedelta(seconds=59))
    with pytest.raises(S3Error) as exc:
        _auth("GET", url, now=NOW + timedelta(seconds=61))
    assert exc.value.code == "AccessDenied"
    assert "expired" in exc.value.message


def test_urls_valid_for_more_than_seven_days_are_refused(monkeypatch):
    week = 7 * 24 * 3600
    _auth("GET", _presign("GET", "http://h/b/k", expires=week, monkeypatch=monkeypatch))
    with pytest.raises(S3Error) as exc:
        _auth("GET", _presign("GET", "http://h/b/k", expires=week + 60, monkeypatch=monkeypatch))
    assert exc.value.code == "AccessDenied"


def test_unknown_key_is_invalid_access_key_id(monkeypatch):
    url = _presign("GET", "http://h/b/k", monkeypatch=monkeypatch).replace(AKID, "AKIDUNKNOWN")
    with pytest.raises(S3Error) as exc:
        _auth("GET", url)
    assert exc.value.code == "InvalidAccessKeyId"


def test_malformed_expires_is_access_denied():
    with pytest.raises(S3Error) as exc:
        _auth("GET", f"http://h/b/k?AWSAccessKeyId={AKID}&Expires=soon&Signature=x")
    assert exc.value.code == "AccessDenied"


def test_virtual_host_requests_sign_the_bucket_in_the_resource(monkeypatch):
    # botocore signs /bucket/key (auth_path) while the URL path is /key.
    request = AWSRequest(method="GET", url="http://photos.s3.localtest:8000/cat.jpg")
    request.auth_path = "/photos/cat.jpg"
    monkeypatch.setattr("botocore.auth.time.time", lambda: NOW.timestamp())
    HmacV1QueryAuth(Credentials(AKID, SECRET)).add_auth(request)
    _auth("GET", request.url, domain="s3.localtest")
    with pytest.raises(S3Error):
        _auth("GET", request.url)  # without the domain, the resource lacks the bucket


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        ("AWSAccessKeyId=a&Expires=1&Signature=s", [], True),
        ("AWSAccessKeyId=a&Signature=s", [], False),
        ("AWSAccessKeyId=a&Expires=1&Signature=s", [("Authorization", "AWS a:b")], False),
        ("AWSAccessKeyId=a&Expires=1&Signature=s&X-Amz-Algorithm=AWS4-HMAC-SHA256", [], False),
        ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=c", [], False),
        ("", [], False),
    ],
)
def test_is_presigned_only_for_complete_sigv2_queries(query, headers, expected):
    assert is_presigned(query, headers) is expected


@settings(max_examples=60, deadline=None)
@given(key=st.text(min_size=1, max_size=30).filter(lambda k: "\x00" not in k))
def test_any_key_presigned_by_botocore_verifies(key):
    from urllib.parse import quote

    url = f"http://127.0.0.1:9000/bucket/{quote(key.encode('utf-8'), safe='/~')}"
    request = AWSRequest(method="GET", url=url)
    HmacV1QueryAuth(Credentials(AKID, SECRET)).add_auth(request)
    _auth("GET", request.url, now=datetime.now(UTC))
