"""Authentication and per-key access control, both modes.

A gateway is started with a credentials file holding keys with different
grants; the root key (SANGRAHA_ACCESS_KEY) creates the buckets.
"""

from __future__ import annotations

import datetime
import json
import re
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.integration.configured import MODES, configured_target
from tests.integration.conftest import Target, make_client
from tests.integration.rawhttp import send, shift_signing_clock, sign

pytestmark = pytest.mark.services

SUFFIX = uuid.uuid4().hex[:12]
PHOTOS = f"photos-{SUFFIX}"  # the reader reads, the writer writes
ARCHIVE = f"archive-{SUFFIX}"  # the copier writes here
PRIVATE = f"private-{SUFFIX}"  # only root and "*" keys
NEW = f"made-{SUFFIX}"  # created and deleted by the admin key

KEYS = {
    "reader": {"read": [PHOTOS]},
    "writer": {"write": [PHOTOS]},
    "copier": {"read": [PHOTOS], "write": [ARCHIVE]},
    "auditor": {"read": ["*"]},
    "admin": {"read": ["*"], "write": ["*"]},
}


def _secret(name: str) -> str:
    return f"{name}-secret-{SUFFIX}"


@pytest.fixture(scope="module", params=MODES)
def auth_target(request, tmp_path_factory) -> Target:
    workdir = tmp_path_factory.mktemp(f"auth-{request.param}")
    path = workdir / "keys.json"
    path.write_text(
        json.dumps(
            {
                "keys": [
                    {"access_key": f"{name}-{SUFFIX}", "secret_key": _secret(name), **grants}
                    for name, grants in KEYS.items()
                ]
            }
        )
    )
    path.chmod(0o600)
    with configured_target(
        request, request.param, workdir, SANGRAHA_CREDENTIALS_FILE=str(path)
    ) as target:
        root = make_client(target.endpoint, target.access_key, target.secret_key)
        for bucket in (PHOTOS, ARCHIVE, PRIVATE):
            root.create_bucket(Bucket=bucket)
        root.put_object(Bucket=PHOTOS, Key="cat.jpg", Body=b"meow")
        root.put_object(Bucket=PRIVATE, Key="diary.txt", Body=b"secret")
        yield target
        for bucket in (PHOTOS, ARCHIVE, PRIVATE, NEW):
            try:
                for obj in root.list_objects_v2(Bucket=bucket).get("Contents", []):
                    root.delete_object(Bucket=bucket, Key=obj["Key"])
                root.delete_bucket(Bucket=bucket)
            except ClientError:
                pass


@pytest.fixture(scope="module")
def root(auth_target):
    return make_client(auth_target.endpoint, auth_target.access_key, auth_target.secret_key)


def client(target: Target, name: str, **config):
    return make_client(target.endpoint, f"{name}-{SUFFIX}", _secret(name), **config)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def denied(call, *args, **kwargs) -> None:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    # A HEAD answer has no body: botocore reports its status as the code.
    expected = "403" if call.__name__.startswith("head_") else "AccessDenied"
    assert _code(exc) == (expected, 403)


def _exists(root, bucket: str, key: str) -> bool:
    try:
        root.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


# --------------------------------------------------------------------- who you are


def test_anonymous_requests_are_access_denied(auth_target):
    for method, path in (("GET", "/"), ("GET", f"/{PHOTOS}"), ("GET", f"/{PHOTOS}/cat.jpg")):
        request = urllib.request.Request(auth_target.endpoint + path, method=method)
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(request, timeout=30)
        assert exc.value.code == 403
        assert b"<Code>AccessDenied</Code>" in exc.value.read()


def test_anonymous_put_is_access_denied_and_writes_nothing(auth_target, root):
    request = urllib.request.Request(
        f"{auth_target.endpoint}/{PHOTOS}/anon.txt", data=b"anon", method="PUT"
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=30)
    assert exc.value.code == 403
    assert not _exists(root, PHOTOS, "anon.txt")


def test_unknown_access_key_is_invalid_access_key_id(auth_target):
    stranger = make_client(auth_target.endpoint, "stranger-key", "stranger-secret")
    with pytest.raises(ClientError) as exc:
        stranger.list_buckets()
    assert _code(exc) == ("InvalidAccessKeyId", 403)


def test_a_file_key_with_the_wrong_secret_is_signature_does_not_match(auth_target):
    impostor = make_client(auth_target.endpoint, f"reader-{SUFFIX}", "wrong-secret-value")
    with pytest.raises(ClientError) as exc:
        impostor.get_object(Bucket=PHOTOS, Key="cat.jpg")
    assert _code(exc) == ("SignatureDoesNotMatch", 403)


def test_root_key_still_does_everything(root):
    assert {PHOTOS, ARCHIVE, PRIVATE} <= {b["Name"] for b in root.list_buckets()["Buckets"]}
    root.put_object(Bucket=PRIVATE, Key="root.txt", Body=b"r")
    assert root.get_object(Bucket=PRIVATE, Key="root.txt")["Body"].read() == b"r"
    root.delete_object(Bucket=PRIVATE, Key="root.txt")


# --------------------------------------------------------------------- read grants


def test_reader_reads_heads_and_lists_its_bucket(auth_target):
    reader = client(auth_target, "reader")
    assert reader.get_object(Bucket=PHOTOS, Key="cat.jpg")["Body"].read() == b"meow"
    assert reader.head_object(Bucket=PHOTOS, Key="cat.jpg")["ContentLength"] == 4
    reader.head_bucket(Bucket=PHOTOS)
    keys = [o["Key"] for o in reader.list_objects_v2(Bucket=PHOTOS)["Contents"]]
    assert "cat.jpg" in keys
    assert reader.list_objects(Bucket=PHOTOS)["Contents"]


def test_reader_may_not_write_delete_or_create(auth_target, root):
    reader = client(auth_target, "reader")
    denied(reader.put_object, Bucket=PHOTOS, Key="dog.jpg", Body=b"woof")
    assert not _exists(root, PHOTOS, "dog.jpg")
    denied(reader.delete_object, Bucket=PHOTOS, Key="cat.jpg")
    assert _exists(root, PHOTOS, "cat.jpg")
    denied(reader.delete_objects, Bucket=PHOTOS, Delete={"Objects": [{"Key": "cat.jpg"}]})
    assert _exists(root, PHOTOS, "cat.jpg")
    denied(reader.create_bucket, Bucket=f"reader-made-{SUFFIX}")
    denied(reader.delete_bucket, Bucket=PHOTOS)
    denied(reader.create_multipart_upload, Bucket=PHOTOS, Key="big")


def test_reader_may_not_read_other_buckets(auth_target):
    reader = client(auth_target, "reader")
    denied(reader.get_object, Bucket=PRIVATE, Key="diary.txt")
    denied(reader.head_object, Bucket=PRIVATE, Key="diary.txt")
    denied(reader.list_objects_v2, Bucket=PRIVATE)
    denied(reader.get_bucket_location, Bucket=PRIVATE)


def test_denial_does_not_reveal_whether_a_bucket_exists(auth_target):
    reader = client(auth_target, "reader")
    denied(reader.list_objects_v2, Bucket=f"nonexistent-{SUFFIX}")
    denied(reader.head_object, Bucket=f"nonexistent-{SUFFIX}", Key="k")


def test_star_read_grant_reads_every_bucket_but_writes_none(auth_target, root):
    auditor = client(auth_target, "auditor")
    assert auditor.get_object(Bucket=PRIVATE, Key="diary.txt")["Body"].read() == b"secret"
    assert auditor.list_objects_v2(Bucket=ARCHIVE)["KeyCount"] >= 0
    denied(auditor.put_object, Bucket=PRIVATE, Key="audit.txt", Body=b"x")
    assert not _exists(root, PRIVATE, "audit.txt")


# --------------------------------------------------------------------- write grants


def test_writer_uploads_and_deletes_but_cannot_read_or_list(auth_target, root):
    writer = client(auth_target, "writer")
    writer.put_object(Bucket=PHOTOS, Key="upload.bin", Body=b"dropped")
    assert root.get_object(Bucket=PHOTOS, Key="upload.bin")["Body"].read() == b"dropped"
    denied(writer.get_object, Bucket=PHOTOS, Key="upload.bin")
    denied(writer.head_object, Bucket=PHOTOS, Key="upload.bin")
    denied(writer.list_objects_v2, Bucket=PHOTOS)
    writer.delete_object(Bucket=PHOTOS, Key="upload.bin")
    assert not _exists(root, PHOTOS, "upload.bin")


def test_writer_may_not_write_other_buckets(auth_target, root):
    writer = client(auth_target, "writer")
    denied(writer.put_object, Bucket=ARCHIVE, Key="x", Body=b"x")
    assert not _exists(root, ARCHIVE, "x")


def test_star_write_grant_creates_and_deletes_buckets(auth_target):
    admin = client(auth_target, "admin")
    admin.create_bucket(Bucket=NEW)
    admin.put_object(Bucket=NEW, Key="k", Body=b"v")
    admin.delete_object(Bucket=NEW, Key="k")
    admin.delete_bucket(Bucket=NEW)


# --------------------------------------------------------------------- copies


def test_copy_needs_read_on_the_source_and_write_on_the_destination(auth_target, root):
    copier = client(auth_target, "copier")
    copier.copy_object(
        Bucket=ARCHIVE, Key="cat-copy.jpg", CopySource={"Bucket": PHOTOS, "Key": "cat.jpg"}
    )
    assert root.get_object(Bucket=ARCHIVE, Key="cat-copy.jpg")["Body"].read() == b"meow"


def test_copy_from_an_unreadable_source_is_denied_and_writes_nothing(auth_target, root):
    copier = client(auth_target, "copier")
    denied(
        copier.copy_object,
        Bucket=ARCHIVE,
        Key="stolen.txt",
        CopySource={"Bucket": PRIVATE, "Key": "diary.txt"},
    )
    assert not _exists(root, ARCHIVE, "stolen.txt")


def test_copy_to_an_unwritable_destination_is_denied(auth_target, root):
    copier = client(auth_target, "copier")
    denied(
        copier.copy_object,
        Bucket=PHOTOS,
        Key="back.jpg",
        CopySource={"Bucket": PHOTOS, "Key": "cat.jpg"},
    )
    assert not _exists(root, PHOTOS, "back.jpg")


def test_upload_part_copy_from_an_unreadable_source_is_denied(auth_target):
    copier = client(auth_target, "copier")
    denied(
        copier.upload_part_copy,
        Bucket=ARCHIVE,
        Key="parts",
        UploadId="any-upload-id",
        PartNumber=1,
        CopySource={"Bucket": PRIVATE, "Key": "diary.txt"},
    )


def test_a_raw_copy_source_with_an_encoded_bucket_is_still_checked(auth_target, root):
    # "%2F" + bucket: the leading slash percent-encoded must not bypass the check.
    for source in (f"%2F{PRIVATE}%2Fdiary.txt", f"/{PRIVATE}/diary.txt?versionId=null"):
        signed = sign(
            auth_target,
            "PUT",
            f"/{ARCHIVE}/sneaky",
            headers={"x-amz-copy-source": source},
            access_key=f"copier-{SUFFIX}",
            secret_key=_secret("copier"),
        )
        reply = send(auth_target, signed)
        assert (reply.status, reply.code) == (403, "AccessDenied"), reply.body
    assert not _exists(root, ARCHIVE, "sneaky")


# --------------------------------------------------------------------- ListBuckets


def _bucket_names(s3) -> set[str]:
    return {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_list_buckets_shows_only_buckets_the_key_has_a_grant_on(auth_target):
    assert _bucket_names(client(auth_target, "reader")) & {PHOTOS, ARCHIVE, PRIVATE} == {PHOTOS}
    assert _bucket_names(client(auth_target, "writer")) & {PHOTOS, ARCHIVE, PRIVATE} == {PHOTOS}
    assert _bucket_names(client(auth_target, "copier")) & {PHOTOS, ARCHIVE, PRIVATE} == {
        PHOTOS,
        ARCHIVE,
    }
    assert {PHOTOS, ARCHIVE, PRIVATE} <= _bucket_names(client(auth_target, "auditor"))


# --------------------------------------------------------------------- presigned URLs


def test_presigned_urls_carry_the_signers_grants(auth_target, root):
    reader = client(auth_target, "reader", signature_version="s3v4")
    get_url = reader.generate_presigned_url(
        "get_object", Params={"Bucket": PHOTOS, "Key": "cat.jpg"}, ExpiresIn=60
    )
    with urllib.request.urlopen(get_url, timeout=30) as response:
        assert response.read() == b"meow"
    put_url = reader.generate_presigned_url(
        "put_object", Params={"Bucket": PHOTOS, "Key": "via-url"}, ExpiresIn=60
    )
    request = urllib.request.Request(put_url, data=b"x", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=30)
    assert exc.value.code == 403
    assert not _exists(root, PHOTOS, "via-url")


# --------------------------------------------------------------------- clock skew


def _skewed_put(target, monkeypatch, minutes: float):
    shift_signing_clock(monkeypatch, datetime.timedelta(minutes=minutes))
    s3 = make_client(target.endpoint, target.access_key, target.secret_key)
    try:
        return s3.list_buckets()
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("minutes", [-20, 20, -60 * 24])
def test_requests_signed_more_than_15_minutes_off_are_request_time_too_skewed(
    target, monkeypatch, minutes
):
    with pytest.raises(ClientError) as exc:
        _skewed_put(target, monkeypatch, minutes)
    assert _code(exc) == ("RequestTimeTooSkewed", 403)
    body = exc.value.response["Error"]
    assert "ServerTime" in body or "RequestTime" in body or body.get("Message")


@pytest.mark.parametrize("minutes", [-10, 10])
def test_requests_within_15_minutes_are_accepted(target, monkeypatch, minutes):
    assert "Buckets" in _skewed_put(target, monkeypatch, minutes)


def test_skew_is_reported_with_server_time(target, monkeypatch):
    shift_signing_clock(monkeypatch, datetime.timedelta(minutes=-30))
    signed = sign(target, "GET", "/")
    monkeypatch.undo()
    reply = send(target, signed)
    assert (reply.status, reply.code) == (403, "RequestTimeTooSkewed")
    assert re.search(rb"<ServerTime>\d{4}-\d\d-\d\dT", reply.body)


def test_sigv2_presigned_urls_carry_the_signers_grants_too(auth_target, root):
    reader = client(auth_target, "reader")  # default config: SigV2 presigning
    get_url = reader.generate_presigned_url(
        "get_object", Params={"Bucket": PHOTOS, "Key": "cat.jpg"}, ExpiresIn=60
    )
    assert "AWSAccessKeyId=" in get_url
    with urllib.request.urlopen(get_url, timeout=30) as response:
        assert response.read() == b"meow"
    private_url = reader.generate_presigned_url(
        "get_object", Params={"Bucket": PRIVATE, "Key": "diary.txt"}, ExpiresIn=60
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(private_url, timeout=30)
    assert exc.value.code == 403
