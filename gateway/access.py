"""Access control: which access key may run which operation on which bucket.

A key holds *grants*: ``read`` and ``write``, each a set of bucket names or
``"*"`` for every bucket.  The root key (``SANGRAHA_ACCESS_KEY``) may do
everything; further keys come from the credentials file
(:mod:`gateway.credentials`).  The policy, decided once and documented in
``docs/security.md``:

- An operation named ``List*``, ``Get*`` or ``Head*`` (and
  ``SelectObjectContent``, which only reads) needs **read** on its bucket;
  every other operation needs **write** on its bucket, ``CreateBucket`` and
  ``DeleteBucket`` included.  Read and write are independent: a write-only
  key can upload into a drop-box bucket it cannot list.
- ``CopyObject`` and ``UploadPartCopy`` also need **read** on the bucket
  named by ``x-amz-copy-source``.
- ``ListBuckets`` is open to every authenticated key but shows only the
  buckets the key holds any grant on (every bucket for the root key and for
  ``"*"`` grants).
- Denials answer ``403 AccessDenied``.

The check runs in the gateway after authentication and routing and before
any contract call.  As a second line, :meth:`Decision.guard` refuses a
contract request that names a bucket the route check did not approve (a copy
source parsed differently by an operation, a handler bug), so no contract
call ever touches a bucket the key was not cleared for.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec

from s3compat.copysource import parse_copy_source
from s3compat.errors import S3Error
from s3compat.routing import S3Route
from sangraha.contract import AnyReply, AnyRequest, BucketList

__all__ = [
    "ALL_BUCKETS",
    "Access",
    "Decision",
    "Grant",
    "authorize",
    "copy_source_bucket",
    "required_access",
]

ALL_BUCKETS = "*"

_COPY_OPERATIONS = frozenset({"CopyObject", "UploadPartCopy"})
_READ_PREFIXES = ("List", "Get", "Head")
_READ_OPERATIONS = frozenset({"SelectObjectContent"})


class Access(enum.Enum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True, slots=True)
class Grant:
    """What one access key may do.  ``root`` may do everything."""

    access_key: str
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    root: bool = False

    def allows(self, bucket: str, access: Access) -> bool:
        if self.root:
            return True
        names = self.read if access is Access.READ else self.write
        return ALL_BUCKETS in names or bucket in names

    def sees(self, bucket: str) -> bool:
        """Whether ListBuckets shows ``bucket`` to this key."""
        return self.allows(bucket, Access.READ) or self.allows(bucket, Access.WRITE)


def operation_access(operation: str) -> Access:
    """The permission an operation needs on its own bucket."""
    if operation.startswith(_READ_PREFIXES) or operation in _READ_OPERATIONS:
        return Access.READ
    return Access.WRITE


def copy_source_bucket(value: str) -> str:
    """The bucket of an ``x-amz-copy-source`` value, parsed exactly as the copy
    operations parse it; ``InvalidArgument`` when it names no bucket and key."""
    return parse_copy_source(value).bucket


def required_access(route: S3Route, headers: Mapping[str, str]) -> list[tuple[str, Access]]:
    """Every (bucket, permission) pair the request needs; empty for ListBuckets."""
    if route.bucket is None:
        return []
    needed = [(route.bucket, operation_access(route.operation))]
    if route.operation in _COPY_OPERATIONS:
        needed.append((copy_source_bucket(headers.get("x-amz-copy-source", "")), Access.READ))
    return needed


def _request_buckets(request: AnyRequest) -> Iterable[str]:
    """Every bucket a contract request names: fields called ``bucket`` or
    ending in ``_bucket`` (a copy's source bucket)."""
    for name in request.__struct_fields__:
        if name == "bucket" or name.endswith("_bucket"):
            value = getattr(request, name)
            if isinstance(value, str):
                yield value


@dataclass(frozen=True, slots=True)
class Decision:
    """A request that passed :func:`authorize`: the key's grant and the buckets
    the route check cleared."""

    grant: Grant
    buckets: frozenset[str]

    def guard(self, request: AnyRequest) -> None:
        """Refuse a contract request that touches a bucket not cleared."""
        if self.grant.root:
            return
        for bucket in _request_buckets(request):
            if bucket not in self.buckets:
                raise S3Error("AccessDenied")

    def filter_reply(self, reply: AnyReply) -> AnyReply:
        """Hide the buckets this key holds no grant on from ListBuckets."""
        if self.grant.root or not isinstance(reply, BucketList):
            return reply
        return msgspec.structs.replace(
            reply, buckets=[b for b in reply.buckets if self.grant.sees(b.name)]
        )


def authorize(grant: Grant, route: S3Route, headers: Mapping[str, str]) -> Decision:
    """Check the route against the grant; raise ``AccessDenied`` when refused."""
    needed = required_access(route, headers)
    for bucket, access in needed:
        if not grant.allows(bucket, access):
            raise S3Error("AccessDenied")
    return Decision(grant, frozenset(bucket for bucket, _ in needed))
