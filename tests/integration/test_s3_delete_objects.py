"""DeleteObjects (POST ?delete) in both modes: quiet and verbose, 1000 keys,
per-key errors, and no Content-MD5 required (boto3 >= 1.36 sends a CRC32)."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client

pytestmark = pytest.mark.services


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _keys(s3, bucket) -> list[str]:
    return [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]


def _fill(s3, bucket, keys):
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x"), keys))


def test_verbose_delete_reports_every_key_including_missing_ones(s3, bucket):
    _fill(s3, bucket, ["a", "b/c", "keep"])
    out = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b/c"}, {"Key": "never-there"}]}
    )
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b/c", "never-there"]
    assert "Errors" not in out
    assert _keys(s3, bucket) == ["keep"]


def test_quiet_delete_reports_nothing_on_success(s3, bucket):
    _fill(s3, bucket, ["a", "b"])
    out = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": True}
    )
    assert "Deleted" not in out and "Errors" not in out
    assert _keys(s3, bucket) == []


def test_a_thousand_keys_in_one_request(s3, bucket):
    keys = [f"batch/{i:04d}" for i in range(1000)]
    _fill(s3, bucket, keys)
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert len(out["Deleted"]) == 1000
    assert _keys(s3, bucket) == []


def test_more_than_a_thousand_keys_is_malformed_xml(s3, bucket):
    objects = [{"Key": f"k{i}"} for i in range(1001)]
    with pytest.raises(ClientError) as exc:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert _error(exc) == ("MalformedXML", 400)


def test_a_key_that_is_too_long_fails_alone(s3, bucket):
    _fill(s3, bucket, ["ok"])
    long_key = "x" * 1025
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "ok"}, {"Key": long_key}]})
    assert [d["Key"] for d in out["Deleted"]] == ["ok"]
    assert [(e["Key"], e["Code"]) for e in out["Errors"]] == [(long_key, "KeyTooLongError")]
    assert _keys(s3, bucket) == []


def test_errors_are_reported_in_quiet_mode_too(s3, bucket):
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "y" * 2000}], "Quiet": True})
    assert [e["Code"] for e in out["Errors"]] == ["KeyTooLongError"]


def test_keys_with_special_characters(s3, bucket):
    keys = ["sp ace", "plus+", "pct%41", "ü/日本", "amp&lt;", "trailing/", "quote\"'"]
    _fill(s3, bucket, keys)
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert sorted(d["Key"] for d in out["Deleted"]) == sorted(keys)
    assert _keys(s3, bucket) == []


def test_missing_bucket_is_no_such_bucket(s3):
    with pytest.raises(ClientError) as exc:
        s3.delete_objects(Bucket="absent-bucket-0123", Delete={"Objects": [{"Key": "k"}]})
    assert _error(exc) == ("NoSuchBucket", 404)


def test_with_content_md5_from_when_required_clients(target, bucket):
    client = make_client(
        target.endpoint,
        target.access_key,
        target.secret_key,
        request_checksum_calculation="when_required",
    )
    sent: dict[str, str] = {}
    client.meta.events.register(
        "before-send.s3.DeleteObjects", lambda request, **_: sent.update(request.headers)
    )
    client.put_object(Bucket=bucket, Key="k", Body=b"x")
    out = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert [d["Key"] for d in out["Deleted"]] == ["k"]
    assert any(n.lower() in ("content-md5", "x-amz-checksum-crc32") for n in sent)


def _strip_integrity(request, **_):
    for name in list(request.headers):
        if name.lower() in (
            "content-md5",
            "x-amz-sdk-checksum-algorithm",
        ) or name.lower().startswith("x-amz-checksum-"):
            del request.headers[name]


def test_no_content_md5_and_no_checksum_is_accepted(target, s3, bucket):
    client = make_client(target.endpoint, target.access_key, target.secret_key)
    client.meta.events.register("before-sign.s3.DeleteObjects", _strip_integrity)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    out = client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert [d["Key"] for d in out["Deleted"]] == ["k"]


def test_a_wrong_content_md5_is_bad_digest(target, s3, bucket):
    client = make_client(target.endpoint, target.access_key, target.secret_key)

    def wrong_md5(request, **_):
        _strip_integrity(request)
        request.headers["Content-MD5"] = base64.b64encode(hashlib.md5(b"other").digest()).decode()

    client.meta.events.register("before-sign.s3.DeleteObjects", wrong_md5)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert _error(exc) == ("BadDigest", 400)
    assert _keys(s3, bucket) == ["k"]


def test_a_body_that_is_not_xml_is_malformed_xml(target, bucket):
    client = make_client(target.endpoint, target.access_key, target.secret_key)

    def garbage(request, **_):
        _strip_integrity(request)
        request.data = b"<Delete><Object><Key>k</Key>"  # truncated
        request.headers["Content-Length"] = str(len(request.data))

    client.meta.events.register("before-sign.s3.DeleteObjects", garbage)
    with pytest.raises(ClientError) as exc:
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert _error(exc) == ("MalformedXML", 400)
