"""Presigned URLs (query-string SigV4) fetched with plain urllib, both modes."""

from __future__ import annotations

import datetime
import os
import re
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client
from tests.integration.rawhttp import shift_signing_clock

pytestmark = pytest.mark.services

WEEK = 7 * 24 * 3600


@pytest.fixture(scope="module")
def presigner(target):
    """A client that presigns with SigV4 (botocore presigns with SigV2 by
    default in us-east-1; see test_default_boto3_presigned_url_works)."""
    return make_client(
        target.endpoint, target.access_key, target.secret_key, signature_version="s3v4"
    )


def _fetch(url: str, method: str = "GET", data: bytes | None = None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, _lower(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, _lower(exc.headers), exc.read()


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _code(body: bytes) -> str | None:
    match = re.search(rb"<Code>(.*?)</Code>", body)
    return match.group(1).decode() if match else None


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_presigned_get_is_fetched_with_plain_urllib(presigner, s3, bucket):
    data = os.urandom(5000)
    s3.put_object(Bucket=bucket, Key="dir/file name+1.bin", Body=data)
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "dir/file name+1.bin"}, ExpiresIn=300
    )
    status, headers, body = _fetch(url)
    assert status == 200
    assert body == data
    assert headers["etag"].strip('"')


def test_presigned_put_stores_the_body(presigner, s3, bucket):
    url = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "uploaded.txt"}, ExpiresIn=300
    )
    status, _, body = _fetch(url, "PUT", b"hello from urllib")
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="uploaded.txt")["Body"].read() == b"hello from urllib"


def test_presigned_head_and_response_overrides(presigner, s3, bucket):
    s3.put_object(Bucket=bucket, Key="report.csv", Body=b"a,b\n")
    url = presigner.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "report.csv",
            "ResponseContentDisposition": 'attachment; filename="r.csv"',
            "ResponseContentType": "text/csv",
        },
        ExpiresIn=60,
    )
    status, headers, body = _fetch(url)
    assert status == 200
    assert body == b"a,b\n"
    assert headers["content-disposition"] == 'attachment; filename="r.csv"'
    assert headers["content-type"] == "text/csv"


def test_presigned_url_expires(presigner, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=1
    )
    time.sleep(2.2)
    status, _, body = _fetch(url)
    assert (status, _code(body)) == (403, "AccessDenied")
    assert b"expired" in body


def test_expired_presigned_put_writes_nothing(presigner, s3, bucket):
    url = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "late"}, ExpiresIn=1
    )
    time.sleep(2.2)
    status, _, body = _fetch(url, "PUT", b"too late")
    assert (status, _code(body)) == (403, "AccessDenied")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="late")


def test_presigned_url_valid_for_seven_days_is_accepted(presigner, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"week")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=WEEK
    )
    assert "X-Amz-Expires=604800" in url
    status, _, body = _fetch(url)
    assert (status, body) == (200, b"week")


def test_presigned_url_beyond_seven_days_is_refused(presigner, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=WEEK + 1
    )
    status, _, body = _fetch(url)
    assert (status, _code(body)) == (400, "AuthorizationQueryParametersError")


def test_presigned_url_dated_in_the_future_is_refused(presigner, s3, bucket, monkeypatch):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    shift_signing_clock(monkeypatch, datetime.timedelta(hours=1))
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=7200
    )
    monkeypatch.undo()
    status, _, body = _fetch(url)
    assert (status, _code(body)) == (403, "AccessDenied")


@pytest.mark.parametrize(
    "change",
    [
        {"X-Amz-Signature": "0" * 64},
        {"X-Amz-Expires": "3600"},
        {"X-Amz-Date": "20200101T000000Z"},
    ],
    ids=["signature", "expires", "date"],
)
def test_tampered_presigned_query_is_refused(presigner, s3, bucket, change):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=300
    )
    status, _, body = _fetch(_with_query(url, **change))
    assert status == 403
    assert _code(body) in {"SignatureDoesNotMatch", "AccessDenied"}


def test_presigned_url_for_one_key_does_not_open_another(presigner, s3, bucket):
    s3.put_object(Bucket=bucket, Key="public", Body=b"p")
    s3.put_object(Bucket=bucket, Key="private", Body=b"secret")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "public"}, ExpiresIn=300
    )
    status, _, body = _fetch(url.replace("/public?", "/private?"))
    assert (status, _code(body)) == (403, "SignatureDoesNotMatch")


def test_presigned_put_refuses_unsigned_amz_headers_and_writes_nothing(presigner, s3, bucket):
    s3.put_object(Bucket=bucket, Key="source", Body=b"src")
    url = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "dest"}, ExpiresIn=300
    )
    status, _, body = _fetch(
        url, "PUT", b"", headers={"x-amz-copy-source": f"{bucket}/source"}
    )
    assert (status, _code(body)) == (403, "AccessDenied")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dest")


def test_unauthenticated_url_is_access_denied(target, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    status, _, body = _fetch(f"{target.endpoint}/{bucket}/k")
    assert (status, _code(body)) == (403, "AccessDenied")


def test_default_boto3_presigned_url_works(s3, bucket):
    """boto3 and the aws CLI presign with SigV2 query auth by default in
    us-east-1 (AWSAccessKeyId, Signature, Expires)."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"default")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    status, _, body = _fetch(url)
    assert (status, body) == (200, b"default")


def test_default_boto3_presigned_put_with_a_content_type(s3, bucket):
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "v2.txt", "ContentType": "text/plain"}
    )
    assert "AWSAccessKeyId=" in url
    status, _, body = _fetch(url, "PUT", b"sigv2 put", headers={"Content-Type": "text/plain"})
    assert status == 200, body
    got = s3.get_object(Bucket=bucket, Key="v2.txt")
    assert got["Body"].read() == b"sigv2 put"
    assert got["ContentType"] == "text/plain"


def test_default_boto3_presigned_url_expires_and_resists_tampering(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"})
    status, _, body = _fetch(url.replace(f"/{bucket}/a?", f"/{bucket}/b?"))
    assert (status, _code(body)) == (403, "SignatureDoesNotMatch")
    short = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=1
    )
    time.sleep(2.2)
    status, _, body = _fetch(short)
    assert (status, _code(body)) == (403, "AccessDenied")
