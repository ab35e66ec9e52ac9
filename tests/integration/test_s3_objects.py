"""Smaller parts of the S3 object surface in both modes: ACLs (private only),
versioning status, location, response-* overrides, and NotImplemented for
operations Sangraha does not have."""

from __future__ import annotations

import urllib.request
import uuid

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.integration.conftest import make_client

pytestmark = pytest.mark.services


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# ------------------------------------------------------------------ ACLs


def _assert_owner_full_control(acl, target):
    assert acl["Owner"]["ID"] == target.access_key
    assert [(g["Grantee"]["Type"], g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]] == [
        ("CanonicalUser", target.access_key, "FULL_CONTROL")
    ]


def test_get_object_acl_is_the_owners_full_control(target, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    _assert_owner_full_control(s3.get_object_acl(Bucket=bucket, Key="k"), target)


def test_get_bucket_acl_is_the_owners_full_control(target, s3, bucket):
    _assert_owner_full_control(s3.get_bucket_acl(Bucket=bucket), target)


def test_acl_of_missing_object_or_bucket(s3, bucket):
    with pytest.raises(ClientError) as exc:
        s3.get_object_acl(Bucket=bucket, Key="absent")
    assert _error(exc) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_acl(Bucket=f"absent-{uuid.uuid4().hex[:12]}")
    assert _error(exc) == ("NoSuchBucket", 404)


def test_put_private_acls_are_accepted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert (
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 200
    )
    assert (
        s3.put_bucket_acl(Bucket=bucket, ACL="private")["ResponseMetadata"]["HTTPStatusCode"] == 200
    )


def test_putting_back_the_acl_that_was_read_is_accepted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    acl = s3.get_object_acl(Bucket=bucket, Key="k")
    policy = {"Owner": acl["Owner"], "Grants": acl["Grants"]}
    s3.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy)
    bucket_acl = s3.get_bucket_acl(Bucket=bucket)
    s3.put_bucket_acl(
        Bucket=bucket,
        AccessControlPolicy={"Owner": bucket_acl["Owner"], "Grants": bucket_acl["Grants"]},
    )


@pytest.mark.parametrize("canned", ["public-read", "public-read-write", "authenticated-read"])
def test_sharing_acls_are_not_implemented(s3, bucket, canned):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL=canned)
    assert _error(exc) == ("NotImplemented", 501)
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_acl(Bucket=bucket, ACL=canned)
    assert _error(exc) == ("NotImplemented", 501)


def test_grants_to_others_are_not_implemented(target, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    owner = {"ID": target.access_key, "DisplayName": target.access_key}
    everyone = {
        "Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"},
        "Permission": "READ",
    }
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(
            Bucket=bucket, Key="k", AccessControlPolicy={"Owner": owner, "Grants": [everyone]}
        )
    assert _error(exc) == ("NotImplemented", 501)
    with pytest.raises(ClientError) as exc:
        s3.put_object_acl(Bucket=bucket, Key="k", GrantRead="id=someone-else")
    assert _error(exc) == ("NotImplemented", 501)


# ------------------------------------------------------------------ bucket status


def test_versioning_is_reported_as_never_enabled(s3, bucket):
    response = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in response
    assert "MFADelete" not in response


def test_location_of_a_bucket(s3, bucket):
    assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None


# ------------------------------------------------------------------ response-* overrides

OVERRIDES = {
    "ResponseContentType": ("content-type", "text/x-override"),
    "ResponseContentDisposition": ("content-disposition", 'attachment; filename="x y.txt"'),
    "ResponseContentLanguage": ("content-language", "de-CH"),
    "ResponseContentEncoding": ("content-encoding", "identity"),
    "ResponseCacheControl": ("cache-control", "no-store"),
    "ResponseExpires": ("expires", "Wed, 21 Oct 2037 07:28:00 GMT"),
}


def test_response_overrides_on_a_signed_get(s3, bucket):
    s3.put_object(
        Bucket=bucket, Key="k", Body=b"body", ContentType="text/plain", CacheControl="max-age=9"
    )
    params = {name: value for name, (_, value) in OVERRIDES.items()}
    got = s3.get_object(Bucket=bucket, Key="k", **params)
    headers = got["ResponseMetadata"]["HTTPHeaders"]
    for header, value in OVERRIDES.values():
        assert headers[header] == value
    assert got["Body"].read() == b"body"


def test_response_overrides_on_a_presigned_get(target, s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/k", Body=b"presigned body", ContentType="text/plain")
    signer = make_client(
        target.endpoint, target.access_key, target.secret_key, signature_version="s3v4"
    )
    url = signer.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "dir/k",
            "ResponseContentType": "application/x-download",
            "ResponseContentDisposition": "attachment; filename=report.csv",
        },
        ExpiresIn=300,
    )
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"presigned body"
        assert response.headers["content-type"] == "application/x-download"
        assert response.headers["content-disposition"] == "attachment; filename=report.csv"


def test_without_overrides_the_stored_headers_are_served(s3, bucket):
    s3.put_object(
        Bucket=bucket,
        Key="k",
        Body=b"x",
        ContentType="text/plain",
        ContentDisposition="inline",
        ContentLanguage="en",
        CacheControl="max-age=9",
    )
    got = s3.get_object(Bucket=bucket, Key="k")
    assert (got["ContentType"], got["ContentDisposition"], got["ContentLanguage"]) == (
        "text/plain",
        "inline",
        "en",
    )
    assert got["CacheControl"] == "max-age=9"


# ------------------------------------------------------------------ not implemented


# The reads of configurations Sangraha does not keep answer "not configured"
# instead: test_bucket_configurations.py.
@pytest.mark.parametrize(
    "call",
    [
        lambda s3, b: s3.put_bucket_policy(Bucket=b, Policy="{}"),
        lambda s3, b: s3.put_bucket_cors(
            Bucket=b,
            CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
        ),
        lambda s3, b: s3.put_bucket_lifecycle_configuration(
            Bucket=b,
            LifecycleConfiguration={
                "Rules": [
                    {
                        "ID": "r",
                        "Status": "Enabled",
                        "Filter": {"Prefix": ""},
                        "Expiration": {"Days": 1},
                    }
                ]
            },
        ),
        lambda s3, b: s3.put_bucket_encryption(
            Bucket=b,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
        ),
        lambda s3, b: s3.put_bucket_tagging(
            Bucket=b, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}
        ),
        lambda s3, b: s3.put_bucket_versioning(
            Bucket=b, VersioningConfiguration={"Status": "Enabled"}
        ),
        lambda s3, b: s3.get_object_retention(Bucket=b, Key="k"),
        lambda s3, b: s3.get_object_legal_hold(Bucket=b, Key="k"),
        lambda s3, b: s3.restore_object(Bucket=b, Key="k", RestoreRequest={"Days": 1}),
        lambda s3, b: s3.put_bucket_notification_configuration(
            Bucket=b, NotificationConfiguration={}
        ),
    ],
    ids=[
        "PutBucketPolicy",
        "PutBucketCors",
        "PutBucketLifecycle",
        "PutBucketEncryption",
        "PutBucketTagging",
        "PutBucketVersioning",
        "GetObjectRetention",
        "GetObjectLegalHold",
        "RestoreObject",
        "PutBucketNotification",
    ],
)
def test_unsupported_operations_are_not_implemented(s3, bucket, call):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        call(s3, bucket)
    assert _error(exc) == ("NotImplemented", 501)


def test_select_object_content_is_not_implemented(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k.csv", Body=b"a,b\n1,2\n")
    with pytest.raises(ClientError) as exc:
        s3.select_object_content(
            Bucket=bucket,
            Key="k.csv",
            Expression="select * from s3object",
            ExpressionType="SQL",
            InputSerialization={"CSV": {}},
            OutputSerialization={"CSV": {}},
        )
    assert _error(exc) == ("NotImplemented", 501)


def test_browser_post_object_is_not_implemented(target, bucket):
    """A signed POST to the bucket (the HTML-form upload) answers 501 with S3 XML."""
    url = f"{target.endpoint}/{bucket}"
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
        b"data\r\n--XyZ--\r\n"
    )
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "multipart/form-data; boundary=XyZ",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        },
    )
    SigV4Auth(Credentials(target.access_key, target.secret_key), "s3", "us-east-1").add_auth(
        request
    )
    prepared = request.prepare()
    raw = urllib.request.Request(url, data=body, headers=dict(prepared.headers), method="POST")
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(raw, timeout=30)
    assert exc.value.code == 501
    assert b"<Code>NotImplemented</Code>" in exc.value.read()
