"""Access control: operation permissions, copy sources, the contract guard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.access import (
    Access,
    Decision,
    Grant,
    authorize,
    copy_source_bucket,
    operation_access,
    required_access,
)
from s3compat import routing
from s3compat.errors import S3Error
from s3compat.routing import S3Route
from sangraha.contract import (
    BucketInfo,
    BucketList,
    CreateBucket,
    GetObject,
    ListBuckets,
    Listing,
    PutObject,
)

READER = Grant("reader", read=frozenset({"photos"}))
WRITER = Grant("writer", write=frozenset({"inbox"}))
BOTH = Grant("both", read=frozenset({"photos", "inbox"}), write=frozenset({"inbox"}))
EVERYTHING_READ = Grant("auditor", read=frozenset({"*"}))
ROOT = Grant("root", root=True)
NOBODY = Grant("nobody")


def _denied(exc: pytest.ExceptionInfo[S3Error]) -> bool:
    return exc.value.code == "AccessDenied" and exc.value.status == 403


@pytest.mark.parametrize(
    "operation",
    [
        "GetObject",
        "HeadObject",
        "HeadBucket",
        "ListObjects",
        "ListObjectsV2",
        "ListObjectVersions",
        "ListMultipartUploads",
        "ListParts",
        "GetObjectTagging",
        "GetObjectAcl",
        "GetBucketAcl",
        "GetBucketLocation",
        "GetBucketVersioning",
        "SelectObjectContent",
    ],
)
def test_list_get_head_operations_need_read(operation):
    assert operation_access(operation) is Access.READ


@pytest.mark.parametrize(
    "operation",
    [
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "DeleteObjects",
        "CreateBucket",
        "DeleteBucket",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "PutObjectTagging",
        "DeleteObjectTagging",
        "PutObjectAcl",
        "PutBucketVersioning",
        "RestoreObject",
        "PostObject",
    ],
)
def test_other_operations_need_write(operation):
    assert operation_access(operation) is Access.WRITE


def test_grant_allows_named_buckets_and_star():
    assert READER.allows("photos", Access.READ)
    assert not READER.allows("photos", Access.WRITE)
    assert not READER.allows("photos2", Access.READ)
    assert WRITER.allows("inbox", Access.WRITE)
    assert not WRITER.allows("inbox", Access.READ)
    assert EVERYTHING_READ.allows("anything", Access.READ)
    assert not EVERYTHING_READ.allows("anything", Access.WRITE)
    assert ROOT.allows("anything", Access.WRITE)
    assert not NOBODY.allows("photos", Access.READ)


def test_star_is_a_wildcard_only_as_a_whole_entry():
    grant = Grant("k", read=frozenset({"photo*"}))
    assert not grant.allows("photos", Access.READ)


def _route(method: str, path: str, query: str = "", **headers: str) -> S3Route:
    params = dict(p.partition("=")[::2] for p in query.split("&") if p)
    return routing.resolve(method, path, params, headers)


def test_reader_may_get_and_list_but_not_put():
    authorize(READER, _route("GET", "/photos/cat.jpg"), {})
    authorize(READER, _route("GET", "/photos", "list-type=2"), {})
    authorize(READER, _route("HEAD", "/photos"), {})
    with pytest.raises(S3Error) as exc:
        authorize(READER, _route("PUT", "/photos/cat.jpg"), {})
    assert _denied(exc)
    with pytest.raises(S3Error) as exc:
        authorize(READER, _route("DELETE", "/photos/cat.jpg"), {})
    assert _denied(exc)


def test_writer_may_put_but_not_read_or_list():
    authorize(WRITER, _route("PUT", "/inbox/new.txt"), {})
    authorize(WRITER, _route("POST", "/inbox", "delete="), {})
    for route in (_route("GET", "/inbox/new.txt"), _route("GET", "/inbox")):
        with pytest.raises(S3Error) as exc:
            authorize(WRITER, route, {})
        assert _denied(exc)


def test_create_and_delete_bucket_need_write_on_that_bucket():
    authorize(WRITER, _route("PUT", "/inbox"), {})
    authorize(WRITER, _route("DELETE", "/inbox"), {})
    with pytest.raises(S3Error) as exc:
        authorize(WRITER, _route("PUT", "/other"), {})
    assert _denied(exc)


def test_list_buckets_needs_no_grant():
    decision = authorize(NOBODY, _route("GET", "/"), {})
    assert decision.buckets == frozenset()


@pytest.mark.parametrize("operation_path", ["/inbox/copy", "/inbox/copy?uploadId=u&partNumber=1"])
def test_copy_needs_read_on_the_source_bucket(operation_path):
    path, _, query = operation_path.partition("?")
    route = _route("PUT", path, query, **{"x-amz-copy-source": "/photos/cat.jpg"})
    assert route.operation in {"CopyObject", "UploadPartCopy"}
    headers = {"x-amz-copy-source": "/photos/cat.jpg"}
    decision = authorize(BOTH, route, headers)
    assert decision.buckets == {"inbox", "photos"}
    # Write on the destination alone is not enough.
    with pytest.raises(S3Error) as exc:
        authorize(WRITER, route, headers)
    assert _denied(exc)


def test_copy_within_one_bucket_needs_read_and_write_there():
    headers = {"x-amz-copy-source": "inbox/a"}
    route = _route("PUT", "/inbox/b", **headers)
    authorize(BOTH, route, headers)
    with pytest.raises(S3Error):
        authorize(WRITER, route, headers)


@pytest.mark.parametrize(
    ("value", "bucket"),
    [
        ("photos/cat.jpg", "photos"),
        ("/photos/cat.jpg", "photos"),
        ("/photos/dir/cat.jpg?versionId=abc", "photos"),
        ("photos/a%20b%3Fc", "photos"),
        ("%2Fphotos%2Fcat.jpg", "photos"),
        ("photos/key/with/slashes/", "photos"),
    ],
)
def test_copy_source_bucket_parses_aws_forms(value, bucket):
    assert copy_source_bucket(value) == bucket


@pytest.mark.parametrize("value", ["", "/", "photos", "/photos/", "photos/?versionId=1", "%ff/x"])
def test_copy_source_without_bucket_and_key_is_invalid_argument(value):
    with pytest.raises(S3Error) as exc:
        copy_source_bucket(value)
    assert exc.value.code == "InvalidArgument"


def test_required_access_lists_destination_then_source():
    headers = {"x-amz-copy-source": "src/k"}
    route = S3Route("CopyObject", "dst", "k")
    assert required_access(route, headers) == [("dst", Access.WRITE), ("src", Access.READ)]


def test_guard_refuses_contract_requests_on_buckets_not_cleared():
    decision = Decision(READER, frozenset({"photos"}))
    decision.guard(GetObject(bucket="photos", key="k"))
    decision.guard(ListBuckets())
    with pytest.raises(S3Error) as exc:
        decision.guard(GetObject(bucket="secret", key="k"))
    assert _denied(exc)
    with pytest.raises(S3Error):
        decision.guard(PutObject(bucket="secret", key="k", size=0, md5=""))


def test_guard_lets_root_through():
    Decision(ROOT, frozenset()).guard(CreateBucket(bucket="anything"))


def test_list_buckets_reply_shows_only_buckets_with_a_grant():
    reply = BucketList(
        buckets=[BucketInfo(name=n, created=0.0) for n in ("inbox", "other", "photos")]
    )
    shown = Decision(BOTH, frozenset()).filter_reply(reply)
    assert isinstance(shown, BucketList)
    assert [b.name for b in shown.buckets] == ["inbox", "photos"]
    writer_view = Decision(WRITER, frozenset()).filter_reply(reply)
    assert [b.name for b in writer_view.buckets] == ["inbox"]  # type: ignore[union-attr]
    assert Decision(ROOT, frozenset()).filter_reply(reply) is reply
    everything = Decision(EVERYTHING_READ, frozenset()).filter_reply(reply)
    assert len(everything.buckets) == 3  # type: ignore[union-attr]


def test_other_replies_pass_unfiltered():
    listing = Listing(entries=[], common_prefixes=[], is_truncated=False)
    assert Decision(READER, frozenset({"photos"})).filter_reply(listing) is listing


_BUCKET = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True)
_KEY = st.text(min_size=1, max_size=40).filter(lambda k: "\x00" not in k)


@given(bucket=_BUCKET, key=_KEY, leading=st.booleans(), version=st.booleans())
def test_copy_source_bucket_round_trips_any_quoted_key(bucket, key, leading, version):
    from urllib.parse import quote

    value = ("/" if leading else "") + quote(f"{bucket}/{key}", safe="/")
    if version:
        value += "?versionId=3"
    assert copy_source_bucket(value) == bucket


@given(
    bucket=_BUCKET,
    operation=st.sampled_from(["GetObject", "PutObject", "DeleteObject", "ListObjectsV2"]),
)
def test_a_grant_on_one_bucket_never_reaches_another(bucket, operation):
    grant = Grant("k", read=frozenset({bucket}), write=frozenset({bucket}))
    authorize(grant, S3Route(operation, bucket, "k"), {})
    with pytest.raises(S3Error):
        authorize(grant, S3Route(operation, bucket + "x", "k"), {})
