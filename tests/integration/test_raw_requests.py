"""Edge cases as raw HTTP: requests signed with botocore's own SigV4 signer,
sent byte for byte with http.client (or a bare socket), against both modes.

Every refused request is also checked to have written nothing.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.integration.rawhttp import (
    STREAMING_UNSIGNED_TRAILER,
    connection,
    crc32_b64,
    put_signed_streaming,
    response_complete,
    send,
    sign,
    streaming_put,
    unsigned_chunks,
)

pytestmark = pytest.mark.services


def _absent(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def _keys(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _bucket_exists(s3, bucket: str) -> bool:
    return bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def _put(target, bucket: str, key: str, body: bytes, **headers: str):
    signed = sign(target, "PUT", f"/{bucket}/{key}", body=body, headers=headers)
    return send(target, signed, body)


# --------------------------------------------------------------------- payload checks


def test_a_correctly_signed_payload_is_stored(target, s3, bucket):
    body = os.urandom(1000)
    reply = _put(target, bucket, "ok", body)
    assert reply.status == 200, reply.body
    assert reply.headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="ok")["Body"].read() == body


def test_unsigned_payload_over_http_is_accepted(target, s3, bucket):
    body = b"unsigned body"
    signed = sign(target, "PUT", f"/{bucket}/unsigned", body=body, payload_hash="UNSIGNED-PAYLOAD")
    reply = send(target, signed, body)
    assert reply.status == 200, reply.body
    assert s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read() == body


def test_wrong_content_sha256_is_xamzcontentsha256mismatch_and_writes_nothing(
    target, s3, bucket
):
    body = b"the real body"
    signed = sign(
        target,
        "PUT",
        f"/{bucket}/k",
        body=body,
        payload_hash=hashlib.sha256(b"another body").hexdigest(),
    )
    reply = send(target, signed, body)
    assert (reply.status, reply.code) == (400, "XAmzContentSHA256Mismatch")
    assert _absent(s3, bucket, "k")


def test_content_md5_mismatch_is_bad_digest_and_writes_nothing(target, s3, bucket):
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    reply = _put(target, bucket, "k", b"payload", **{"Content-MD5": wrong})
    assert (reply.status, reply.code) == (400, "BadDigest")
    assert _absent(s3, bucket, "k")


def test_malformed_content_md5_is_invalid_digest(target, s3, bucket):
    reply = _put(target, bucket, "k", b"payload", **{"Content-MD5": "not-an-md5"})
    assert (reply.status, reply.code) == (400, "InvalidDigest")
    assert _absent(s3, bucket, "k")


_CHECKSUM_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}


@pytest.mark.parametrize("algorithm", sorted(_CHECKSUM_SIZES))
def test_checksum_header_mismatch_is_bad_digest_and_writes_nothing(
    target, s3, bucket, algorithm
):
    wrong = base64.b64encode(b"\x00" * _CHECKSUM_SIZES[algorithm]).decode()
    reply = _put(target, bucket, "k", b"payload bytes", **{f"x-amz-checksum-{algorithm}": wrong})
    assert (reply.status, reply.code) == (400, "BadDigest"), reply.body
    assert _absent(s3, bucket, "k")


def test_missing_content_length_is_411_and_writes_nothing(target, s3, bucket):
    signed = sign(target, "PUT", f"/{bucket}/k", headers={"Content-Length": ""})
    assert not any(n.lower() == "content-length" for n, _ in signed.headers)
    reply = send(target, signed)
    assert (reply.status, reply.code) == (411, "MissingContentLength")
    assert _absent(s3, bucket, "k")


def test_body_shorter_than_content_length_writes_nothing(target, s3, bucket):
    body = b"0123456789"
    signed = sign(
        target, "PUT", f"/{bucket}/k", body=body, payload_hash="UNSIGNED-PAYLOAD",
        headers={"Content-Length": "20"},
    )
    # Send 10 of the 20 announced bytes, then close our side.
    parts = urlsplit(target.endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        head = f"PUT /{bucket}/k HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        head += "".join(f"{n}: {v}\r\n" for n, v in signed.headers) + "\r\n"
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(30)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
    assert _absent(s3, bucket, "k")


# --------------------------------------------------------------------- aws-chunked


@pytest.mark.parametrize("trailer", [False, True], ids=["signed", "signed-trailer"])
@pytest.mark.parametrize("size", [0, 1, 65536, 300_000])
def test_signed_streaming_upload_round_trips(target, s3, bucket, trailer, size):
    data = os.urandom(size)
    reply = put_signed_streaming(target, f"/{bucket}/stream", data, trailer=trailer)
    assert reply.status == 200, reply.body
    assert reply.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="stream")["Body"].read() == data


@pytest.mark.parametrize("trailer", [False, True], ids=["signed", "signed-trailer"])
@pytest.mark.parametrize("which", ["first", "middle", "final"])
def test_a_tampered_chunk_signature_is_refused_and_writes_nothing(
    target, s3, bucket, trailer, which
):
    data = os.urandom(200_000)  # chunks 0..3 carry data, chunk 4 is the final empty one
    index = {"first": 0, "middle": 2, "final": 4}[which]
    reply = put_signed_streaming(
        target, f"/{bucket}/k", data, trailer=trailer, tamper_chunk=index
    )
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch"), reply.body
    assert _absent(s3, bucket, "k")


def test_a_tampered_trailer_signature_is_refused_and_writes_nothing(target, s3, bucket):
    reply = put_signed_streaming(
        target, f"/{bucket}/k", os.urandom(1000), trailer=True, tamper_trailer=True
    )
    assert (reply.status, reply.code) == (403, "SignatureDoesNotMatch"), reply.body
    assert _absent(s3, bucket, "k")


def test_a_wrong_signed_trailer_checksum_is_bad_digest_and_writes_nothing(target, s3, bucket):
    reply = put_signed_streaming(
        target, f"/{bucket}/k", os.urandom(1000), trailer=True, wrong_checksum=True
    )
    assert (reply.status, reply.code) == (400, "BadDigest"), reply.body
    assert _absent(s3, bucket, "k")


def _unsigned_trailer_put(target, bucket, key, data, checksum, **extra):
    body = unsigned_chunks(data, ("x-amz-checksum-crc32", checksum), chunk_size=8192)
    signed = streaming_put(
        target, f"/{bucket}/{key}", data, STREAMING_UNSIGNED_TRAILER,
        trailer_algorithm="crc32", encoded_length=len(body), extra_headers=extra,
    )
    return send(target, signed, body)


def test_unsigned_trailer_upload_round_trips(target, s3, bucket):
    data = os.urandom(50_000)
    reply = _unsigned_trailer_put(target, bucket, "k", data, crc32_b64(data))
    assert reply.status == 200, reply.body
    assert reply.headers.get("x-amz-checksum-crc32") == crc32_b64(data)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == data


def test_a_wrong_unsigned_trailer_checksum_is_bad_digest_and_writes_nothing(target, s3, bucket):
    data = os.urandom(50_000)
    reply = _unsigned_trailer_put(target, bucket, "k", data, crc32_b64(data + b"!"))
    assert (reply.status, reply.code) == (400, "BadDigest"), reply.body
    assert _absent(s3, bucket, "k")


def test_a_decoded_length_larger_than_the_body_writes_nothing(target, s3, bucket):
    data = os.urandom(10_000)
    body = unsigned_chunks(data, ("x-amz-checksum-crc32", crc32_b64(data)))
    signed = streaming_put(
        target, f"/{bucket}/k", data + b"more", STREAMING_UNSIGNED_TRAILER,
        trailer_algorithm="crc32", encoded_length=len(body),
    )
    reply = send(target, signed, body)
    assert reply.status == 400, reply.body
    assert _absent(s3, bucket, "k")


# --------------------------------------------------------------------- XML bodies

_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Delete><Object><Key>&lol4;</Key></Object><Object><Key>keep</Key></Object></Delete>"""

_XXE = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&xxe;</Key></Object><Object><Key>keep</Key></Object></Delete>"""

_DELETE_BODIES = {
    "not-xml": b"this is not xml",
    "truncated": b"<Delete><Object><Key>keep</Key></Object>",
    "wrong-root": b"<Remove><Object><Key>keep</Key></Object></Remove>",
    "billion-laughs": _BILLION_LAUGHS,
    "xxe": _XXE,
}


@pytest.mark.parametrize("name", sorted(_DELETE_BODIES))
def test_bad_delete_objects_xml_is_malformed_xml_and_deletes_nothing(target, s3, bucket, name):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"still here")
    body = _DELETE_BODIES[name]
    signed = sign(target, "POST", f"/{bucket}?delete", body=body)
    reply = send(target, signed, body)
    assert (reply.status, reply.code) == (400, "MalformedXML"), reply.body
    assert _keys(s3, bucket) == ["keep"]


_CREATE_BODIES = {
    "not-xml": b"<CreateBucketConfiguration>",
    "billion-laughs": _BILLION_LAUGHS.replace(b"<Delete>", b"<CreateBucketConfiguration>")
    .replace(b"</Delete>", b"</CreateBucketConfiguration>"),
    "xxe": b"""<?xml version="1.0"?>
<!DOCTYPE c [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CreateBucketConfiguration><LocationConstraint>&xxe;</LocationConstraint>
</CreateBucketConfiguration>""",
}


@pytest.mark.parametrize("name", sorted(_CREATE_BODIES))
def test_bad_create_bucket_xml_is_malformed_xml_and_creates_nothing(target, s3, name):
    bucket = f"x-{uuid.uuid4().hex[:20]}"
    body = _CREATE_BODIES[name]
    reply = send(target, sign(target, "PUT", f"/{bucket}", body=body), body)
    assert (reply.status, reply.code) == (400, "MalformedXML"), reply.body
    assert not _bucket_exists(s3, bucket)


# --------------------------------------------------------------------- HTTP framing and limits


def test_too_many_headers_are_refused_and_write_nothing(target, s3, bucket):
    headers = {f"x-amz-meta-h{i}": "v" for i in range(250)}
    reply = _put(target, bucket, "k", b"body", **headers)
    assert reply.status == 400, reply.body
    assert reply.code is not None
    assert _absent(s3, bucket, "k")


@pytest.mark.parametrize("size", [20 * 1024, 1024 * 1024])
def test_oversized_headers_are_refused_and_write_nothing(target, s3, bucket, size):
    reply = _put(target, bucket, "k", b"body", **{"x-amz-meta-big": "a" * size})
    assert reply.status in (400, 431), reply.body
    assert _absent(s3, bucket, "k")


def _raw_exchange(target, data: bytes, *, until_close: bool = False) -> bytes:
    """Send ``data`` on a fresh connection; read one response (or, with
    ``until_close``, everything until the server closes)."""
    parts = urlsplit(target.endpoint)
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(data)
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if not until_close and response_complete(received):
                    break
        except OSError:
            pass
    return received


def _request_bytes(target, signed, body: bytes, extra: list[tuple[str, str]]) -> bytes:
    host = urlsplit(target.endpoint).netloc
    lines = [f"{signed.method} {signed.path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{n}: {v}" for n, v in signed.headers] + [f"{n}: {v}" for n, v in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_content_length_with_transfer_encoding_is_refused_and_smuggles_nothing(
    target, s3, bucket
):
    # The smuggled request is itself validly signed: were the outer request's
    # body taken by Content-Length, it would be executed as a second request.
    inner_body = b"smuggled"
    inner = sign(target, "PUT", f"/{bucket}/smuggled", body=inner_body)
    inner_bytes = _request_bytes(target, inner, inner_body, [])
    outer_body = b"0\r\n\r\n" + inner_bytes
    outer = sign(
        target, "PUT", f"/{bucket}/outer", body=outer_body, payload_hash="UNSIGNED-PAYLOAD"
    )
    raw = _request_bytes(target, outer, outer_body, [("Transfer-Encoding", "chunked")])
    received = _raw_exchange(target, raw, until_close=True)
    assert received.startswith(b"HTTP/1.1 4"), received[:200]
    assert received.count(b"HTTP/1.1 200") == 0, received
    assert _absent(s3, bucket, "smuggled")
    assert _absent(s3, bucket, "outer")


@pytest.mark.parametrize("encoding", ["gzip, chunked", "chunked, chunked", "identity"])
def test_odd_transfer_encodings_are_refused_and_write_nothing(target, s3, bucket, encoding):
    body = b"5\r\nhello\r\n0\r\n\r\n"
    signed = sign(
        target, "PUT", f"/{bucket}/k", payload_hash="UNSIGNED-PAYLOAD",
        headers={"Content-Length": ""},
    )
    received = _raw_exchange(
        target, _request_bytes(target, signed, body, [("Transfer-Encoding", encoding)])
    )
    assert received.startswith((b"HTTP/1.1 4", b"HTTP/1.1 5")), received[:200]
    assert not received.startswith(b"HTTP/1.1 500"), received[:400]
    assert _absent(s3, bucket, "k")


# --------------------------------------------------------------------- unsupported operations

_UNSUPPORTED_BUCKET = [
    ("PUT", "policy"),
    ("PUT", "cors"),
    ("PUT", "lifecycle"),
    ("PUT", "encryption"),
    ("GET", "analytics"),
    ("GET", "metrics&id=m1"),
    ("GET", "inventory"),
    ("GET", "intelligent-tiering"),
]

# Configurations Sangraha does not keep: read as "none", deleted as a no-op.
_NOT_CONFIGURED_BUCKET = [
    ("GET", "policy", 404, "NoSuchBucketPolicy"),
    ("DELETE", "policy", 204, None),
    ("GET", "cors", 404, "NoSuchCORSConfiguration"),
    ("GET", "lifecycle", 404, "NoSuchLifecycleConfiguration"),
    ("GET", "website", 404, "NoSuchWebsiteConfiguration"),
    ("GET", "replication", 404, "ReplicationConfigurationNotFoundError"),
    ("GET", "encryption", 404, "ServerSideEncryptionConfigurationNotFoundError"),
    ("GET", "object-lock", 404, "ObjectLockConfigurationNotFoundError"),
    ("GET", "publicAccessBlock", 404, "NoSuchPublicAccessBlockConfiguration"),
    ("GET", "ownershipControls", 404, "OwnershipControlsNotFoundError"),
    ("GET", "logging", 200, None),
    ("GET", "notification", 200, None),
    ("GET", "accelerate", 200, None),
    ("GET", "requestPayment", 200, None),
]


@pytest.mark.parametrize(("method", "subresource", "status", "code"), _NOT_CONFIGURED_BUCKET)
def test_bucket_configurations_sangraha_does_not_keep(
    target, bucket, method, subresource, status, code
):
    reply = send(target, sign(target, method, f"/{bucket}?{subresource}"), b"")
    assert (reply.status, reply.code) == (status, code), reply.body


@pytest.mark.parametrize(("method", "subresource"), _UNSUPPORTED_BUCKET)
def test_unsupported_bucket_subresources_answer_501(target, bucket, method, subresource):
    body = b"<Policy>{}</Policy>" if method == "PUT" else b""
    reply = send(target, sign(target, method, f"/{bucket}?{subresource}", body=body), body)
    assert (reply.status, reply.code) == (501, "NotImplemented"), reply.body


_UNSUPPORTED_OBJECT = [
    ("GET", "torrent"),
    ("GET", "retention"),
    ("PUT", "retention"),
    ("GET", "legal-hold"),
    ("PUT", "legal-hold"),
    ("POST", "restore"),
    ("POST", "select&select-type=2"),
]


@pytest.mark.parametrize(("method", "subresource"), _UNSUPPORTED_OBJECT)
def test_unsupported_object_subresources_answer_501_and_write_nothing(
    target, s3, bucket, method, subresource
):
    body = b"<Retention/>" if method != "GET" else b""
    reply = send(target, sign(target, method, f"/{bucket}/k?{subresource}", body=body), body)
    assert (reply.status, reply.code) == (501, "NotImplemented"), reply.body
    assert _absent(s3, bucket, "k")


def test_an_unknown_http_method_is_method_not_allowed(target, bucket):
    reply = send(target, sign(target, "PATCH", f"/{bucket}/k", body=b"x"), b"x")
    assert reply.status in (400, 405), reply.body


def test_a_refusal_before_an_expected_100_continue_body_does_not_poison_the_connection(
    target, s3, bucket
):
    """A client sending ``Expect: 100-continue`` never sends the body once it
    gets a final answer; the next request on the connection must not be
    taken for that body."""
    body = b"0123456789"
    signed = sign(
        target, "PUT", f"/{bucket}/k?retention", body=body, headers={"Expect": "100-continue"}
    )
    conn = connection(target.endpoint)
    try:
        conn.putrequest("PUT", signed.path, skip_accept_encoding=True)
        for name, value in signed.headers:
            conn.putheader(name, value)
        conn.endheaders()  # the body is withheld, as a 100-continue client does
        first = conn.getresponse()
        assert first.status == 501, first.read()
        first.read()
        if not first.will_close:
            follow = sign(target, "GET", f"/{bucket}?list-type=2")
            conn.putrequest("GET", follow.path, skip_accept_encoding=True)
            for name, value in follow.headers:
                conn.putheader(name, value)
            conn.endheaders()
            second = conn.getresponse()
            assert second.status == 200, second.read()
    finally:
        conn.close()
    assert _absent(s3, bucket, "k")


def test_a_refused_request_with_a_body_keeps_the_connection_usable(target, s3, bucket):
    """Without Expect, the client sends the whole body; the gateway discards it
    after refusing, and the next request on the connection is served."""
    body = os.urandom(1024 * 1024)
    signed = sign(target, "PUT", f"/{bucket}/k?retention", body=body)
    conn = connection(target.endpoint)
    try:
        conn.putrequest("PUT", signed.path, skip_accept_encoding=True)
        for name, value in signed.headers:
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(body)
        first = conn.getresponse()
        assert first.status == 501, first.read()
        first.read()
        assert not first.will_close
        follow = sign(target, "GET", f"/{bucket}?list-type=2")
        conn.putrequest("GET", follow.path, skip_accept_encoding=True)
        for name, value in follow.headers:
            conn.putheader(name, value)
        conn.endheaders()
        second = conn.getresponse()
        assert second.status == 200, second.read()
        second.read()
    finally:
        conn.close()
    assert _absent(s3, bucket, "k")
