"""Access control lists, as far as Sangraha keeps them: every bucket and object
is private to its owner (the owner has FULL_CONTROL, nobody else has a grant).

PutObjectAcl and PutBucketAcl are accepted when they ask for exactly that --
the canned ACL ``private``, or an AccessControlPolicy whose only grants give
the owner FULL_CONTROL -- and answered ``NotImplemented`` otherwise, so a
client never believes something was shared when it was not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xmltodict

from s3compat.errors import S3Error

__all__ = ["MAX_ACL_BODY", "check_private_acl"]

MAX_ACL_BODY = 64 * 1024
_CANNED_PRIVATE = "private"


def _not_implemented(detail: str) -> S3Error:
    return S3Error(
        "NotImplemented",
        f"Sangraha keeps buckets and objects private to their owner; {detail}",
    )


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1]


def _children(node: Any, name: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    found: list[Any] = []
    for key, value in node.items():
        if not key.startswith(("@", "#")) and _local(key) == name:
            found.extend(value if isinstance(value, list) else [value])
    return found


def _text(node: Any, name: str) -> str | None:
    values = _children(node, name)
    if len(values) != 1:
        return None
    value = values[0]
    if isinstance(value, dict):
        value = value.get("#text")
    return value.strip() if isinstance(value, str) else None


def _grants(body: bytes) -> list[tuple[str | None, str | None, str | None]]:
    """``(grantee type, grantee ID, permission)`` of every grant in a policy."""
    if len(body) > MAX_ACL_BODY:
        raise S3Error("MalformedXML", f"The ACL body exceeds {MAX_ACL_BODY} bytes.")
    try:
        doc = xmltodict.parse(
            body, process_namespaces=True, namespace_separator=" ", disable_entities=True
        )
    except Exception:  # ExpatError, ValueError for entity declarations
        raise S3Error("MalformedXML") from None
    if not isinstance(doc, dict) or len(doc) != 1:
        raise S3Error("MalformedXML")
    ((root, policy),) = doc.items()
    if _local(root) != "AccessControlPolicy":
        raise S3Error("MalformedXML")
    result = []
    for acl in _children(policy, "AccessControlList"):
        for grant in _children(acl, "Grant"):
            grantee = next(iter(_children(grant, "Grantee")), None)
            kind = None
            if isinstance(grantee, dict):
                kind = next(
                    (
                        str(v)
                        for k, v in grantee.items()
                        if k.startswith("@") and _local(k) == "type"
                    ),
                    None,
                )
            result.append((kind, _text(grantee, "ID"), _text(grant, "Permission")))
    return result


def check_private_acl(headers: Mapping[str, str], body: bytes, owner_id: str) -> None:
    """Accept an ACL request that leaves the resource private to ``owner_id``.

    ``headers`` are the request's (lower-case names).  Raises
    ``NotImplemented`` for any other canned ACL, any ``x-amz-grant-*`` header
    and any grant in the body to someone else or of less than FULL_CONTROL;
    ``MalformedXML`` for a body that is not an AccessControlPolicy.
    """
    canned = headers.get("x-amz-acl")
    if canned is not None and canned.strip() != _CANNED_PRIVATE:
        raise _not_implemented(f"the canned ACL {canned.strip()!r} is not supported.")
    grant_headers = sorted(n for n in headers if n.startswith("x-amz-grant-"))
    if grant_headers:
        raise _not_implemented(f"{grant_headers[0]} is not supported.")
    if not body.strip():
        return
    for kind, grantee, permission in _grants(body):
        if kind != "CanonicalUser" or grantee != owner_id or permission != "FULL_CONTROL":
            raise _not_implemented("only the owner's FULL_CONTROL grant is supported.")
