"""The storage seam: one async method per operation, typed request in, typed
result out.  Drivers raise :class:`s3compat.errors.S3Error` for S3-level
failures and :class:`StorageUnavailable` when the store cannot be reached.

Drivers: :mod:`.s3` (MinIO or any S3 store, distributed mode) and
:mod:`.local` (a data directory, embedded mode).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from s3compat.errors import S3Error
from sangraha.contract import (
    BucketList,
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    Done,
    GetObject,
    HeadBucket,
    HeadObject,
    ListBuckets,
    Listing,
    ListObjects,
    ObjectMeta,
    ObjectWritten,
    PutObject,
)

__all__ = ["ObjectRead", "Storage", "StorageUnavailable", "UnsupportedStorage"]


class StorageUnavailable(Exception):
    """The store did not answer (down, timed out, refused the connection)."""


@dataclass(slots=True)
class ObjectRead:
    """An open object: its metadata and an iterator over the (ranged) bytes.

    The consumer must ``await close()`` it, having read it fully or not."""

    meta: ObjectMeta
    chunks: AsyncIterator[bytes]

    async def close(self) -> None:
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()


class Storage(Protocol):
    async def list_buckets(self, req: ListBuckets) -> BucketList: ...
    async def create_bucket(self, req: CreateBucket) -> Done: ...
    async def head_bucket(self, req: HeadBucket) -> Done: ...
    async def delete_bucket(self, req: DeleteBucket) -> Done: ...
    async def put_object(self, req: PutObject, body: AsyncIterator[bytes]) -> ObjectWritten: ...
    async def get_object(self, req: GetObject) -> ObjectRead: ...
    async def head_object(self, req: HeadObject) -> ObjectMeta: ...
    async def delete_object(self, req: DeleteObject) -> Done: ...
    async def list_objects(self, req: ListObjects) -> Listing: ...
    async def ready(self) -> bool: ...
    async def close(self) -> None: ...


def _unsupported(operation: str) -> S3Error:
    return S3Error("NotImplemented", f"{operation} is not implemented by this storage backend.")


class UnsupportedStorage:
    """A base that answers NotImplemented for every operation; drivers
    override what they support."""

    async def list_buckets(self, req: ListBuckets) -> BucketList:
        raise _unsupported("ListBuckets")

    async def create_bucket(self, req: CreateBucket) -> Done:
        raise _unsupported("CreateBucket")

    async def head_bucket(self, req: HeadBucket) -> Done:
        raise _unsupported("HeadBucket")

    async def delete_bucket(self, req: DeleteBucket) -> Done:
        raise _unsupported("DeleteBucket")

    async def put_object(self, req: PutObject, body: AsyncIterator[bytes]) -> ObjectWritten:
        raise _unsupported("PutObject")

    async def get_object(self, req: GetObject) -> ObjectRead:
        raise _unsupported("GetObject")

    async def head_object(self, req: HeadObject) -> ObjectMeta:
        raise _unsupported("HeadObject")

    async def delete_object(self, req: DeleteObject) -> Done:
        raise _unsupported("DeleteObject")

    async def list_objects(self, req: ListObjects) -> Listing:
        raise _unsupported("ListObjects")

    async def ready(self) -> bool:
        return True

    async def close(self) -> None:
        return None
