"""Bucket configurations Sangraha does not keep, and object versions, in
both modes: the reads answer what AWS S3 and MinIO answer for a bucket that
has none, deletes are no-ops, writes are NotImplemented; ListObjectVersions
lists every object as its one ``null`` version."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.services


def _error(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


NOT_CONFIGURED = [
    ("get_bucket_policy", "NoSuchBucketPolicy"),
    ("get_bucket_policy_status", "NoSuchBucketPolicy"),
    ("get_bucket_cors", "NoSuchCORSConfiguration"),
    ("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration"),
    ("get_bucket_website", "NoSuchWebsiteConfiguration"),
    ("get_bucket_replication", "ReplicationConfigurationNotFoundError"),
    ("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError"),
    ("get_object_lock_configuration", "ObjectLockConfigurationNotFoundError"),
    ("get_bucket_ownership_controls", "OwnershipControlsNotFoundError"),
    ("get_public_access_block", "NoSuchPublicAccessBlockConfiguration"),
    ("get_bucket_tagging", "NoSuchTagSet"),
]


@pytest.mark.parametrize(("method", "code"), NOT_CONFIGURED)
def test_reading_a_configuration_the_bucket_lacks_is_its_not_found_error(s3, bucket, method, code):
    assert _error(getattr(s3, method), Bucket=bucket) == (404, code)


@pytest.mark.parametrize(("method", "code"), NOT_CONFIGURED[:3])
def test_a_missing_bucket_is_no_such_bucket_first(s3, method, code):
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    assert _error(getattr(s3, method), Bucket=missing) == (404, "NoSuchBucket")


def test_configurations_s3_reports_as_empty_documents(s3, bucket):
    logging = s3.get_bucket_logging(Bucket=bucket)
    assert "LoggingEnabled" not in logging
    notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert not any(k.endswith("Configurations") for k in notifications)
    assert "Status" not in s3.get_bucket_accelerate_configuration(Bucket=bucket)
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"


@pytest.mark.parametrize(
    "method",
    [
        "delete_bucket_policy",
        "delete_bucket_cors",
        "delete_bucket_lifecycle",
        "delete_bucket_website",
        "delete_bucket_replication",
        "delete_bucket_encryption",
        "delete_bucket_ownership_controls",
        "delete_public_access_block",
        "delete_bucket_tagging",
    ],
)
def test_deleting_a_configuration_the_bucket_lacks_succeeds(s3, bucket, method):
    response = getattr(s3, method)(Bucket=bucket)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    assert _error(getattr(s3, method), Bucket=missing) == (404, "NoSuchBucket")


def test_setting_a_configuration_is_not_implemented_and_changes_nothing(s3, bucket):
    policy = '{"Version":"2012-10-17","Statement":[]}'
    assert _error(s3.put_bucket_policy, Bucket=bucket, Policy=policy) == (501, "NotImplemented")
    assert _error(s3.get_bucket_policy, Bucket=bucket) == (404, "NoSuchBucketPolicy")


# ------------------------------------------------------------ object versions


def _put(s3, bucket: str, keys: list[str]) -> dict[str, str]:
    return {k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode())["ETag"] for k in keys}


def test_every_object_is_listed_as_its_null_version(s3, bucket):
    etags = _put(s3, bucket, ["a", "b/c", "d"])
    listed = s3.list_object_versions(Bucket=bucket)
    versions = listed["Versions"]
    assert [v["Key"] for v in versions] == ["a", "b/c", "d"]
    assert all(v["VersionId"] == "null" and v["IsLatest"] for v in versions)
    assert {v["Key"]: v["ETag"] for v in versions} == etags
    assert [v["Size"] for v in versions] == [1, 3, 1]
    assert "DeleteMarkers" not in listed
    assert listed["IsTruncated"] is False


def test_versions_paginate_by_key_marker(s3, bucket):
    keys = [f"k{i:02d}" for i in range(7)]
    _put(s3, bucket, keys)
    seen: list[str] = []
    kwargs: dict[str, str | int] = {"Bucket": bucket, "MaxKeys": 3}
    while True:
        page = s3.list_object_versions(**kwargs)
        seen += [v["Key"] for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        assert page["NextVersionIdMarker"] == "null"
        kwargs["KeyMarker"] = page["NextKeyMarker"]
        kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
    assert seen == keys
    paginator = s3.get_paginator("list_object_versions")
    pages = list(paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 2}))
    assert [v["Key"] for p in pages for v in p.get("Versions", [])] == keys


def test_versions_with_prefix_and_delimiter(s3, bucket):
    _put(s3, bucket, ["photos/2026/a.jpg", "photos/b.jpg", "photos/2025/c.jpg", "notes.txt"])
    page = s3.list_object_versions(Bucket=bucket, Prefix="photos/", Delimiter="/")
    assert [v["Key"] for v in page["Versions"]] == ["photos/b.jpg"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["photos/2025/", "photos/2026/"]


def test_a_version_id_marker_needs_a_key_marker_and_must_be_null(s3, bucket):
    assert _error(s3.list_object_versions, Bucket=bucket, VersionIdMarker="null") == (
        400,
        "InvalidArgument",
    )
    assert _error(
        s3.list_object_versions, Bucket=bucket, KeyMarker="a", VersionIdMarker="3HL4kqtJlcpX"
    ) == (400, "InvalidArgument")


def test_versions_of_a_missing_bucket(s3):
    missing = f"missing-{uuid.uuid4().hex[:12]}"
    assert _error(s3.list_object_versions, Bucket=missing) == (404, "NoSuchBucket")


def test_the_null_version_is_the_object_and_other_version_ids_are_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"current")
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"current"
    assert s3.head_object(Bucket=bucket, Key="k", VersionId="null")["ContentLength"] == 7
    for call in (s3.get_object, s3.delete_object, s3.get_object_tagging):
        assert _error(call, Bucket=bucket, Key="k", VersionId="3HL4kqtJlcpXroDTDmJ") == (
            400,
            "InvalidArgument",
        )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"current"  # not deleted
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert _error(s3.head_object, Bucket=bucket, Key="k")[0] == 404
