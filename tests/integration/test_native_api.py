"""The original product's native REST API, in both modes, through real HTTP.

Each mode gets a gateway of its own with fresh native buckets, so counts are
exact and repeated runs against the same MinIO do not interfere.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from gateway.native.naming import uuid7
from tests.integration.conftest import make_client
from tests.integration.stack import EmbeddedServer, Stack
from tests.unit.gateway import native_files

pytestmark = pytest.mark.services

MiB = 1024 * 1024


@dataclass
class Native:
    mode: str
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    status_bucket: str
    stack: Stack | None = None

    def __post_init__(self) -> None:
        self.http = requests.Session()
        self.http.auth = (self.access_key, self.secret_key)
        self.s3 = make_client(self.endpoint, self.access_key, self.secret_key)

    def url(self, path: str) -> str:
        return self.endpoint + path

    def get(self, path: str, **kw: object) -> requests.Response:
        return self.http.get(self.url(path), **kw)

    def post(self, path: str, **kw: object) -> requests.Response:
        return self.http.post(self.url(path), **kw)

    def delete(self, path: str, **kw: object) -> requests.Response:
        return self.http.delete(self.url(path), **kw)

    def upload(self, kind: str, content: bytes, filename: str, **kw: object) -> requests.Response:
        files = {"file": (filename, content, "application/octet-stream")}
        return self.post(f"/objects/{kind}", files=files, **kw)

    def listing(self, **params: object) -> dict:
        response = self.get("/objects", params=params)
        assert response.status_code == 200, response.text
        return response.json()


def _empty(native: Native) -> None:
    for bucket in (native.bucket, native.status_bucket):
        try:
            for page in native.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    native.s3.delete_object(Bucket=bucket, Key=obj["Key"])
            native.s3.delete_bucket(Bucket=bucket)
        except ClientError:
            pass


def _start(mode: str, request: pytest.FixtureRequest, workdir: Path) -> Iterator[Native]:
    tag = uuid.uuid4().hex[:10]
    env = {
        "SANGRAHA_NATIVE_BUCKET": f"native-{tag}",
        "SANGRAHA_NATIVE_STATUS_BUCKET": f"native-{tag}-status",
    }
    if mode == "distributed":
        stack: Stack = request.getfixturevalue("stack")
        endpoint = stack.gateway(**env)
        native = Native(
            mode, endpoint, stack.access_key, stack.secret_key, *env.values(), stack=stack
        )
        yield native
        _empty(native)
        return
    server = EmbeddedServer(workdir)
    server.proc.env.update(env)
    server.start()
    try:
        yield Native(mode, server.endpoint, server.access_key, server.secret_key, *env.values())
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["distributed", "embedded"])
def native(request, tmp_path_factory) -> Iterator[Native]:
    yield from _start(request.param, request, tmp_path_factory.mktemp("native"))


@pytest.fixture(params=["distributed", "embedded"])
def fresh_native(request, tmp_path_factory) -> Iterator[Native]:
    """A gateway with native buckets no other test touches."""
    yield from _start(request.param, request, tmp_path_factory.mktemp("native-fresh"))


def _error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


# --------------------------------------------------------------------------- health, auth


def test_health_needs_no_credentials(native):
    response = requests.get(native.url("/health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_native_buckets_are_created_at_start_up(native):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        names = {b["Name"] for b in native.s3.list_buckets()["Buckets"]}
        if {native.bucket, native.status_bucket} <= names:
            return
        time.sleep(0.2)
    pytest.fail("the native buckets were not created")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/objects"),
        ("POST", "/objects"),
        ("GET", "/objects/json/x.json"),
        ("DELETE", "/objects/json/x.json"),
        ("POST", "/objects/image"),
        ("POST", "/objects/pdf"),
    ],
)
def test_requests_without_credentials_are_401_with_a_basic_challenge(native, method, path):
    response = requests.request(method, native.url(path))
    _error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Basic ")


def test_malformed_basic_credentials_are_401(native):
    response = requests.get(native.url("/objects"), headers={"Authorization": "Basic %%%"})
    _error(response, 401, "unauthorized")


def test_wrong_credentials_are_403(native):
    response = requests.get(native.url("/objects"), auth=(native.access_key, "wrong"))
    _error(response, 403, "forbidden")
    response = requests.get(native.url("/objects"), auth=("NOBODY", native.secret_key))
    _error(response, 403, "forbidden")


def test_sigv4_requests_for_native_paths_are_s3(native):
    # "objects" and "health" are valid bucket names: signed requests are S3.
    with pytest.raises(ClientError) as exc:
        native.s3.list_objects_v2(Bucket="health")
    assert exc.value.response["Error"]["Code"] == "NoSuchBucket"
    v4 = make_client(
        native.endpoint, native.access_key, native.secret_key, signature_version="s3v4"
    )
    url = v4.generate_presigned_url(
        "get_object", Params={"Bucket": "objects", "Key": "k"}, ExpiresIn=60
    )
    assert "X-Amz-Signature=" in url
    response = requests.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/xml"
    assert b"<Code>NoSuchBucket</Code>" in response.content
    # A SigV2 presigned URL is S3 too (which refuses SigV2 in XML).
    url = native.s3.generate_presigned_url(
        "get_object", Params={"Bucket": "objects", "Key": "k"}, ExpiresIn=60
    )
    assert "AWSAccessKeyId=" in url
    assert requests.get(url).headers["content-type"] == "application/xml"


# --------------------------------------------------------------------------- JSON


def test_post_json_is_stored_and_read_back(native):
    data = {"name": "Ada", "tags": ["x", "y"], "n": 12345678901234567890, "f": 1.5, "u": "é"}
    response = native.post("/objects", json={"data": data})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "stored"
    assert body["id"].startswith("json/") and body["id"].endswith(".json")
    assert body["content_type"] == "application/json"
    assert response.headers["location"] == f"/objects/{body['id']}"

    got = native.get(f"/objects/{body['id']}")
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/json"
    assert got.json() == {"data": data}
    assert body["etag"] == hashlib.md5(got.content).hexdigest()
    assert body["size"] == len(got.content)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'["data"]', "JSON object"),
        (b'{"other": 1}', '"data" is missing'),
        (b"", "not valid JSON"),
    ],
)
def test_bad_json_is_400(native, payload, message):
    response = native.post("/objects", data=payload, headers={"content-type": "application/json"})
    assert message in _error(response, 400, "bad_request")["message"]


def test_json_over_the_limit_is_413(native):
    response = native.post(
        "/objects",
        data=b'{"data": "' + b"x" * (16 * MiB) + b'"}',
        headers={"content-type": "application/json"},
    )
    _error(response, 413, "payload_too_large")


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("fmt", ["png", "jpeg", "gif"])
def test_images_are_verified_stored_and_downloaded(native, fmt):
    make, mime = native_files.IMAGES[fmt]
    content = make()
    response = native.upload("image", content, f"My Photo.{fmt}")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == mime
    assert body["id"].startswith("image/") and body["id"].endswith(f"/My_Photo.{fmt}")
    assert body["etag"] == hashlib.md5(content).hexdigest()

    got = native.get(f"/objects/{body['id']}")
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-type"] == mime
    assert f"filename*=UTF-8''My%20Photo.{fmt}" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"


def test_pdf_is_verified_stored_and_downloaded(native):
    content = native_files.pdf()
    response = native.upload("pdf", content, "report.pdf")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "application/pdf"
    got = native.get(f"/objects/{response.json()['id']}")
    assert got.content == content
    assert got.headers["content-type"] == "application/pdf"
    assert 'filename="report.pdf"' in got.headers["content-disposition"]


def test_text_posing_as_an_image_is_415_naming_what_was_detected(native):
    response = native.upload("image", b"I am definitely a PNG, trust me.\n" * 20, "fake.png")
    error = _error(response, 415, "unsupported_media_type")
    assert "detected as text/" in error["message"]
    assert "image/*" in error["message"]


def test_declared_type_and_extension_are_not_trusted(native):
    # A real PDF named .png and declared image/png is not an image ...
    files = {"file": ("holiday.png", native_files.pdf(), "image/png")}
    response = native.post("/objects/image", files=files)
    assert "application/pdf" in _error(response, 415, "unsupported_media_type")["message"]
    # ... and a real PNG named .pdf is not a PDF.
    response = native.upload("pdf", native_files.png(), "doc.pdf")
    assert "image/png" in _error(response, 415, "unsupported_media_type")["message"]
    # A real PNG named .pdf is still an image.
    response = native.upload("image", native_files.png(), "doc.pdf")
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/png"


def test_upload_without_a_file_part_is_400(native):
    response = native.post("/objects/image", files={"other": ("a.png", native_files.png())})
    assert '"file"' in _error(response, 400, "bad_request")["message"]
    response = native.post("/objects/pdf", data=b"raw", headers={"content-type": "text/plain"})
    _error(response, 400, "bad_request")


def test_file_over_the_limit_is_413(native):
    content = native_files.png() + b"\0" * (16 * MiB)
    _error(native.upload("image", content, "big.png"), 413, "payload_too_large")


# --------------------------------------------------------------------------- read, delete


@pytest.mark.parametrize(
    "object_id", ["json/01234567-89ab-7def-8123-456789abcdef.json", "image/missing.png", "nope"]
)
def test_unknown_ids_are_404(native, object_id):
    _error(native.get(f"/objects/{object_id}"), 404, "not_found")
    _error(native.delete(f"/objects/{object_id}"), 404, "not_found")


def test_delete_removes_the_object(native):
    object_id = native.post("/objects", json={"data": 1}).json()["id"]
    response = native.delete(f"/objects/{object_id}")
    assert response.status_code == 200
    assert response.json() == {"id": object_id, "status": "deleted"}
    _error(native.get(f"/objects/{object_id}"), 404, "not_found")
    with pytest.raises(ClientError):
        native.s3.head_object(Bucket=native.bucket, Key=object_id)


# --------------------------------------------------------------------------- both APIs


def test_native_objects_are_read_by_boto3(native):
    content = native_files.jpeg()
    object_id = native.upload("image", content, "café.jpg").json()["id"]
    got = native.s3.get_object(Bucket=native.bucket, Key=object_id)
    assert got["Body"].read() == content
    assert got["ContentType"] == "image/jpeg"
    assert got["ETag"] == f'"{hashlib.md5(content).hexdigest()}"'
    assert "filename*=UTF-8''caf%C3%A9.jpg" in got["ContentDisposition"]

    doc_id = native.post("/objects", json={"data": [1, 2]}).json()["id"]
    doc = native.s3.get_object(Bucket=native.bucket, Key=doc_id)
    assert doc["ContentType"] == "application/json"
    assert json.loads(doc["Body"].read()) == {"data": [1, 2]}


def test_boto3_objects_under_a_native_prefix_are_listed_and_read_natively(native):
    key = f"pdf/from-boto3-{uuid.uuid4().hex[:8]}.pdf"
    content = native_files.pdf("from boto3")
    native.s3.put_object(Bucket=native.bucket, Key=key, Body=content, ContentType="application/pdf")
    listing = native.listing(type="pdf", page_size=100)
    entry = next(o for o in listing["objects"] if o["name"] == key)
    assert entry["size"] == len(content)
    assert entry["content_type"] == "application/pdf"
    got = native.get(f"/objects/{key}")
    assert got.content == content
    assert 'filename="' in got.headers["content-disposition"]


# --------------------------------------------------------------------------- listing


def test_listing_reports_name_size_time_and_type(native):
    before = time.time()
    object_id = native.upload("image", native_files.gif(), "dot.gif").json()["id"]
    listing = native.listing(type="image", page_size=100)
    assert set(listing) == {"total", "total_pages", "current_page", "page_size", "objects"}
    entry = next(o for o in listing["objects"] if o["name"] == object_id)
    assert set(entry) == {"name", "size", "last_modified", "content_type"}
    assert entry["size"] == len(native_files.gif())
    assert entry["content_type"] == "image/gif"
    from datetime import datetime

    modified = datetime.fromisoformat(entry["last_modified"].replace("Z", "+00:00"))
    assert modified.timestamp() >= before - 2
    assert all(o["name"].startswith("image/") for o in listing["objects"])


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 0},
        {"page_size": 101},
        {"page": 0},
        {"page": "x"},
        {"type": "video"},
        {"pagesize": 10},
    ],
)
def test_bad_listing_parameters_are_400(native, params):
    _error(native.get("/objects", params=params), 400, "bad_request")


def test_pagination_across_250_objects(fresh_native):
    native = fresh_native
    ids = [native.post("/objects", json={"data": i}).json()["id"] for i in range(250)]
    native.upload("pdf", native_files.pdf(), "other-type.pdf")  # another prefix: not counted

    seen = []
    for page in range(1, 27):
        listing = native.listing(type="json", page=page, page_size=10)
        assert listing["total"] == 250
        assert listing["total_pages"] == 25
        assert listing["current_page"] == page
        assert listing["page_size"] == 10
        assert len(listing["objects"]) == (10 if page <= 25 else 0)
        seen += [o["name"] for o in listing["objects"]]
    assert seen == ids  # every object once, in creation order (UUIDv7)

    last = native.listing(type="json", page=3, page_size=100)
    assert (last["total_pages"], len(last["objects"])) == (3, 50)
    assert [o["name"] for o in last["objects"]] == ids[200:]
    everything = native.listing(page=3, page_size=100)
    assert everything["total"] == 251


# --------------------------------------------------------------------------- async


def _status(native: Native, url: str, endpoint: str | None = None) -> dict:
    response = native.http.get((endpoint or native.endpoint) + url)
    assert response.status_code == 200, response.text
    return response.json()


def _wait_stored(native: Native, url: str, endpoint: str | None = None) -> list[str]:
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = _status(native, url, endpoint)["status"]
        seen.append(status)
        if status != "pending":
            break
        time.sleep(0.1)
    return seen


def test_async_post_answers_202_then_status_goes_pending_to_stored(native):
    response = native.upload(
        "image", native_files.png(), "async.png", headers={"Prefer": "respond-async"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["status_url"] == f"/objects/status/{body['id']}"
    assert response.headers["location"] == body["status_url"]
    assert response.headers["preference-applied"] == "respond-async"
    seen = _wait_stored(native, body["status_url"])
    assert seen[-1] == "stored"
    assert set(seen[:-1]) <= {"pending"}
    assert native.get(f"/objects/{body['id']}").content == native_files.png()


def test_async_upload_waits_in_the_broker_while_receivers_are_down(native):
    if native.stack is None:
        pytest.skip("embedded mode stores before answering 202: nothing to wait for")
    stack = native.stack
    native.post("/objects", json={"data": "warm-up"})  # buckets exist
    # The status must not depend on the gateway that accepted the upload.
    other_gateway = stack.gateway(
        SANGRAHA_NATIVE_BUCKET=native.bucket, SANGRAHA_NATIVE_STATUS_BUCKET=native.status_bucket
    )
    for receiver in stack.by_role("receiver"):
        receiver.stop()
    try:
        response = native.post(
            "/objects", json={"data": "queued"}, headers={"Prefer": "respond-async"}
        )
        assert response.status_code == 202, response.text
        url = response.json()["status_url"]
        assert _status(native, url)["status"] == "pending"
        assert _status(native, url, other_gateway)["status"] == "pending"
    finally:
        stack.spawn("receiver")
    assert _wait_stored(native, url, other_gateway)[-1] == "stored"
    assert native.get(url.replace("/status", "")).json() == {"data": "queued"}


def test_async_failure_is_reported_as_failed(fresh_native):
    native = fresh_native
    object_id = native.post("/objects", json={"data": 0}).json()["id"]
    native.s3.delete_object(Bucket=native.bucket, Key=object_id)
    native.s3.delete_bucket(Bucket=native.bucket)  # the worker's put will fail
    response = native.post("/objects", json={"data": 1}, headers={"Prefer": "respond-async"})
    assert response.status_code == 202
    url = response.json()["status_url"]
    deadline = time.monotonic() + 30
    while (status := _status(native, url))["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["status"] == "failed"
    assert status["error"]["code"] == "NoSuchBucket"
    # A synchronous post re-creates the bucket.
    assert native.post("/objects", json={"data": 2}).status_code == 201


def test_status_of_a_long_expired_unknown_upload_is_failed(native):
    old = uuid7(time.time() - 86400)
    status = _status(native, f"/objects/status/json/{old}.json")
    assert status["status"] == "failed"
    assert status["error"]["code"] == "expired"


def test_status_of_a_synchronous_upload_is_stored(native):
    object_id = native.post("/objects", json={"data": 3}).json()["id"]
    assert _status(native, f"/objects/status/{object_id}")["status"] == "stored"


def test_status_of_an_unknown_foreign_key_is_404(native):
    _error(native.get("/objects/status/image/never-uploaded.png"), 404, "not_found")


# --------------------------------------------------------------------------- OpenAPI


def test_openapi_documents_every_endpoint_and_basic_auth(native):
    response = requests.get(native.url("/openapi.json"))
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["accessKey"] == {
        "type": "http",
        "scheme": "basic",
        "description": schema["components"]["securitySchemes"]["accessKey"]["description"],
    }
    paths = schema["paths"]
    assert set(paths) == {
        "/health",
        "/objects",
        "/objects/image",
        "/objects/pdf",
        "/objects/status/{object_id}",
        "/objects/{object_id}",
    }
    assert set(paths["/objects/image"]["post"]["responses"]) >= {
        "201",
        "202",
        "400",
        "401",
        "403",
        "413",
        "415",
        "503",
    }
    assert "422" not in json.dumps(schema)
    docs = requests.get(native.url("/docs"))
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_schemathesis_finds_no_server_errors_or_schema_violations(native, tmp_path):
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if st is None:
        pytest.fail("schemathesis is not installed (pip install -e '.[test]')")
    config = tmp_path / "schemathesis.toml"
    # Uploads are checked for their real type, which a schema cannot express:
    # a schema-valid random file is rightly refused with 415.
    config.write_text(
        "[checks.positive_data_acceptance]\n"
        'expected-statuses = ["2XX", "401", "403", "404", "413", "415"]\n'
    )
    result = subprocess.run(
        [
            st,
            "--config-file",
            str(config),
            "run",
            native.url("/openapi.json"),
            "--auth",
            f"{native.access_key}:{native.secret_key}",
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--workers",
            "1",
            "--seed",
            "20261126",
        ],
        capture_output=True,
        text=True,
        timeout=500,
        cwd=tmp_path,  # schemathesis keeps a cache directory in its cwd
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
