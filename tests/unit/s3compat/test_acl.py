"""Private-only ACLs: what PutObjectAcl / PutBucketAcl accept."""

from __future__ import annotations

import pytest

from s3compat.acl import MAX_ACL_BODY, check_private_acl
from s3compat.errors import S3Error

OWNER = "AKOWNER"


def _policy(*grants: str, owner: str = OWNER) -> bytes:
    return (
        '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Owner><ID>{owner}</ID></Owner><AccessControlList>{''.join(grants)}"
        "</AccessControlList></AccessControlPolicy>"
    ).encode()


def _user(grantee: str, permission: str) -> str:
    return (
        '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:type="CanonicalUser"><ID>{grantee}</ID></Grantee>'
        f"<Permission>{permission}</Permission></Grant>"
    )


def _group(uri: str, permission: str) -> str:
    return (
        '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:type="Group"><URI>{uri}</URI></Grantee>'
        f"<Permission>{permission}</Permission></Grant>"
    )


def _code(headers: dict[str, str], body: bytes = b"") -> str | None:
    try:
        check_private_acl(headers, body, OWNER)
    except S3Error as exc:
        return exc.code
    return None


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, b"", None),
        ({"x-amz-acl": "private"}, b"", None),
        ({"x-amz-acl": "public-read"}, b"", "NotImplemented"),
        ({"x-amz-acl": "bucket-owner-full-control"}, b"", "NotImplemented"),
        ({"x-amz-grant-read": "id=other"}, b"", "NotImplemented"),
        ({"x-amz-grant-full-control": f"id={OWNER}"}, b"", "NotImplemented"),
        ({}, _policy(_user(OWNER, "FULL_CONTROL")), None),
        ({}, _policy(), None),  # no grants at all: nothing is shared
        ({}, _policy(_user(OWNER, "READ")), "NotImplemented"),
        ({}, _policy(_user("someone", "FULL_CONTROL")), "NotImplemented"),
        (
            {},
            _policy(
                _user(OWNER, "FULL_CONTROL"),
                _group("http://acs.amazonaws.com/groups/global/AllUsers", "READ"),
            ),
            "NotImplemented",
        ),
        ({}, b"<AccessControlPolicy><Owner>", "MalformedXML"),
        ({}, b"<Other/>", "MalformedXML"),
        ({}, b'<!DOCTYPE x [<!ENTITY a "b">]><AccessControlPolicy/>', "MalformedXML"),
        ({}, b" " * (MAX_ACL_BODY + 1) + b"x", "MalformedXML"),
    ],
)
def test_check_private_acl(headers, body, expected):
    assert _code(headers, body) == expected
