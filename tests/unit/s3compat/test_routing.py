from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3compat.errors import S3Error
from s3compat.routing import BUCKET_SUBRESOURCES, OBJECT_SUBRESOURCES, S3Route, resolve

COPY = {"x-amz-copy-source": "/src/key"}

CASES = [
    # (method, path, query, headers, operation, bucket, key)
    ("GET", "/", {}, {}, "ListBuckets", None, None),
    ("PUT", "/b", {}, {}, "CreateBucket", "b", None),
    ("PUT", "/b/", {}, {}, "CreateBucket", "b", None),
    ("DELETE", "/b", {}, {}, "DeleteBucket", "b", None),
    ("HEAD", "/b", {}, {}, "HeadBucket", "b", None),
    ("HEAD", "/b", {"acl": ""}, {}, "HeadBucket", "b", None),
    ("GET", "/b", {}, {}, "ListObjects", "b", None),
    ("GET", "/b/", {"list-type": "2"}, {}, "ListObjectsV2", "b", None),
    ("GET", "/b", {"list-type": "1"}, {}, "ListObjects", "b", None),
    ("GET", "/b", {"location": ""}, {}, "GetBucketLocation", "b", None),
    ("GET", "/b", {"versioning": ""}, {}, "GetBucketVersioning", "b", None),
    ("PUT", "/b", {"versioning": ""}, {}, "PutBucketVersioning", "b", None),
    ("GET", "/b", {"acl": ""}, {}, "GetBucketAcl", "b", None),
    ("PUT", "/b", {"acl": ""}, {}, "PutBucketAcl", "b", None),
    ("GET", "/b", {"tagging": ""}, {}, "GetBucketTagging", "b", None),
    ("PUT", "/b", {"tagging": ""}, {}, "PutBucketTagging", "b", None),
    ("DELETE", "/b", {"tagging": ""}, {}, "DeleteBucketTagging", "b", None),
    ("GET", "/b", {"policy": ""}, {}, "GetBucketPolicy", "b", None),
    ("PUT", "/b", {"policy": ""}, {}, "PutBucketPolicy", "b", None),
    ("DELETE", "/b", {"policy": ""}, {}, "DeleteBucketPolicy", "b", None),
    ("GET", "/b", {"uploads": ""}, {}, "ListMultipartUploads", "b", None),
    ("GET", "/b", {"versions": ""}, {}, "ListObjectVersions", "b", None),
    ("POST", "/b", {"delete": ""}, {}, "DeleteObjects", "b", None),
    ("POST", "/b", {}, {}, "PostObject", "b", None),
    ("GET", "/b", {"cors": ""}, {}, "GetBucketCors", "b", None),
    ("DELETE", "/b", {"lifecycle": ""}, {}, "DeleteBucketLifecycle", "b", None),
    ("PUT", "/b", {"lifecycle": ""}, {}, "PutBucketLifecycleConfiguration", "b", None),
    ("GET", "/b", {"encryption": ""}, {}, "GetBucketEncryption", "b", None),
    ("GET", "/b", {"object-lock": ""}, {}, "GetObjectLockConfiguration", "b", None),
    ("PUT", "/b", {"ownershipControls": ""}, {}, "PutBucketOwnershipControls", "b", None),
    ("GET", "/b", {"publicAccessBlock": ""}, {}, "GetPublicAccessBlock", "b", None),
    ("GET", "/b", {"notification": ""}, {}, "GetBucketNotificationConfiguration", "b", None),
    ("GET", "/b", {"analytics": ""}, {}, "ListBucketAnalyticsConfigurations", "b", None),
    ("GET", "/b", {"analytics": "", "id": "x"}, {}, "GetBucketAnalyticsConfiguration", "b", None),
    ("PUT", "/b", {"metrics": "", "id": "x"}, {}, "PutBucketMetricsConfiguration", "b", None),
    (
        "DELETE",
        "/b",
        {"inventory": "", "id": "x"},
        {},
        "DeleteBucketInventoryConfiguration",
        "b",
        None,
    ),
    (
        "GET",
        "/b",
        {"intelligent-tiering": ""},
        {},
        "ListBucketIntelligentTieringConfigurations",
        "b",
        None,
    ),
    ("GET", "/b/k", {}, {}, "GetObject", "b", "k"),
    ("HEAD", "/b/k", {}, {}, "HeadObject", "b", "k"),
    ("HEAD", "/b/k", {"partNumber": "1"}, {}, "HeadObject", "b", "k"),
    ("PUT", "/b/k", {}, {}, "PutObject", "b", "k"),
    ("PUT", "/b/k", {}, COPY, "CopyObject", "b", "k"),
    ("DELETE", "/b/k", {}, {}, "DeleteObject", "b", "k"),
    ("DELETE", "/b/k", {"versionId": "v"}, {}, "DeleteObject", "b", "k"),
    ("GET", "/b/k", {"acl": ""}, {}, "GetObjectAcl", "b", "k"),
    ("PUT", "/b/k", {"acl": ""}, {}, "PutObjectAcl", "b", "k"),
    ("GET", "/b/k", {"tagging": ""}, {}, "GetObjectTagging", "b", "k"),
    ("PUT", "/b/k", {"tagging": ""}, {}, "PutObjectTagging", "b", "k"),
    ("DELETE", "/b/k", {"tagging": ""}, {}, "DeleteObjectTagging", "b", "k"),
    ("POST", "/b/k", {"uploads": ""}, {}, "CreateMultipartUpload", "b", "k"),
    ("PUT", "/b/k", {"partNumber": "1", "uploadId": "u"}, {}, "UploadPart", "b", "k"),
    ("PUT", "/b/k", {"partNumber": "1", "uploadId": "u"}, COPY, "UploadPartCopy", "b", "k"),
    ("POST", "/b/k", {"uploadId": "u"}, {}, "CompleteMultipartUpload", "b", "k"),
    ("DELETE", "/b/k", {"uploadId": "u"}, {}, "AbortMultipartUpload", "b", "k"),
    ("GET", "/b/k", {"uploadId": "u"}, {}, "ListParts", "b", "k"),
    ("GET", "/b/k", {"attributes": ""}, {}, "GetObjectAttributes", "b", "k"),
    ("POST", "/b/k", {"restore": ""}, {}, "RestoreObject", "b", "k"),
    ("POST", "/b/k", {"select": "", "select-type": "2"}, {}, "SelectObjectContent", "b", "k"),
    ("GET", "/b/k", {"retention": ""}, {}, "GetObjectRetention", "b", "k"),
    ("PUT", "/b/k", {"legal-hold": ""}, {}, "PutObjectLegalHold", "b", "k"),
    # keys are kept verbatim
    ("GET", "/b/a//c/", {}, {}, "GetObject", "b", "a//c/"),
    ("GET", "/b/../x", {}, {}, "GetObject", "b", "../x"),
    ("PUT", "/b//", {}, {}, "PutObject", "b", "/"),
    ("GET", "/b/dir/", {}, {}, "GetObject", "b", "dir/"),
    ("GET", "/b/ sp ace?", {}, {}, "GetObject", "b", " sp ace?"),
    ("GET", "/b/ünï/☃", {}, {}, "GetObject", "b", "ünï/☃"),
    ("get", "/b/k", {}, {}, "GetObject", "b", "k"),
]


@pytest.mark.parametrize(("method", "path", "query", "headers", "op", "bucket", "key"), CASES)
def test_resolve_path_style_table(method, path, query, headers, op, bucket, key):
    assert resolve(method, path, query, headers) == S3Route(op, bucket, key)


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("PATCH", "/b/k", {}),
        ("OPTIONS", "/b/k", {}),
        ("PUT", "/", {}),
        ("DELETE", "/", {}),
        ("POST", "/", {}),
        ("POST", "/b/k", {}),
        ("DELETE", "/b", {"location": ""}),
        ("POST", "/b", {"acl": ""}),
        ("GET", "/b", {"delete": ""}),
        ("PUT", "/b/k", {"uploads": ""}),
        ("POST", "/b", {"analytics": "", "id": "x"}),
        ("DELETE", "/b/k", {"attributes": ""}),
    ],
)
def test_resolve_rejects_methods_s3_does_not_define(method, path, query):
    with pytest.raises(S3Error) as info:
        resolve(method, path, query, {})
    assert info.value.code == "MethodNotAllowed"
    assert info.value.status == 405


def test_resolve_relative_path_is_invalid_uri():
    with pytest.raises(S3Error) as info:
        resolve("GET", "b/k", {}, {})
    assert info.value.code == "InvalidURI"


def test_resolve_double_slash_after_root_is_invalid_uri():
    with pytest.raises(S3Error) as info:
        resolve("GET", "//k", {}, {})
    assert info.value.code == "InvalidURI"


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("b.s3.local", "/", S3Route("ListObjects", "b", None)),
        ("b.s3.local:9000", "/k", S3Route("GetObject", "b", "k")),
        ("my.dotted.bucket.s3.local", "/a//c/", S3Route("GetObject", "my.dotted.bucket", "a//c/")),
        ("B.S3.LOCAL", "/k", S3Route("GetObject", "b", "k")),
        ("b.s3.local.", "/k", S3Route("GetObject", "b", "k")),
        ("s3.local", "/b/k", S3Route("GetObject", "b", "k")),
        ("s3.local:9000", "/", S3Route("ListBuckets", None, None)),
        ("127.0.0.1:9000", "/b/k", S3Route("GetObject", "b", "k")),
        ("[::1]:9000", "/b/k", S3Route("GetObject", "b", "k")),
        ("xs3.local", "/b/k", S3Route("GetObject", "b", "k")),
    ],
)
def test_resolve_virtual_host_style(host, path, expected):
    assert resolve("GET", path, {}, {}, host=host, domain="s3.local") == expected


def test_resolve_virtual_host_ignored_without_domain():
    assert resolve("GET", "/k", {}, {}, host="b.s3.local") == S3Route("ListObjects", "k", None)


def test_every_subresource_action_name_is_reachable():
    for name, actions in BUCKET_SUBRESOURCES.items():
        for method, action in actions.items():
            assert resolve(method, "/b", {name: ""}, {}).operation == action
    for name, actions in OBJECT_SUBRESOURCES.items():
        for method, action in actions.items():
            assert resolve(method, "/b/k", {name: ""}, {}).operation == action


@given(
    bucket=st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True),
    key=st.text(min_size=1, max_size=60),
)
def test_resolve_keeps_any_key_verbatim(bucket, key):
    route = resolve("GET", f"/{bucket}/{key}", {}, {})
    assert route == S3Route("GetObject", bucket, key)
    vhost = resolve("GET", f"/{key}", {}, {}, host=f"{bucket}.s3.example", domain="s3.example")
    assert vhost == S3Route("GetObject", bucket, key)


@given(
    method=st.text(max_size=8),
    path=st.text(max_size=40),
    query=st.dictionaries(st.text(max_size=12), st.text(max_size=5), max_size=4),
    host=st.none() | st.text(max_size=20),
)
def test_resolve_never_raises_anything_but_s3error(method, path, query, host):
    try:
        route = resolve(method, path, query, {}, host=host, domain="s3.local")
    except S3Error:
        return
    assert isinstance(route.operation, str) and route.operation
