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
    AbortMultipartUpload,
    BucketList,
    CompleteMultipartUpload,
    CopyObject,
    CreateBucket,
    CreateMultipartUpload,
    DeleteBucket,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    Done,
    GetObject,
    GetObjectTagging,
    HeadBucket,
    HeadObject,
    ListBuckets,
    Listing,
    ListMultipartUploads,
    ListObjects,
    ListParts,
    ObjectCopied,
    ObjectMeta,
    ObjectsDeleted,
    ObjectWritten,
    PartList,
    PartWritten,
    PutObject,
    PutObjectTagging,
    TagSet,
    UploadCompleted,
    UploadCreated,
    UploadList,
    UploadPart,
    UploadPartCopy,
)
from sangraha.transport.base import close_stream

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
        await close_stream(self.chunks)


class Storage(Protocol):
    async def list_buckets(self, req: ListBuckets) -> BucketList: ...
    async def create_bucket(self, req: CreateBucket) -> Done: ...
    async def head_bucket(self, req: HeadBucket) -> Done: ...
    async def delete_bucket(self, req: DeleteBucket) -> Done: ...
    async def put_object(
        self, req: PutObject, body: AsyncIterator[bytes | memoryview]
    ) -> ObjectWritten: ...
    async def get_object(self, req: GetObject) -> ObjectRead: ...
    async def head_object(self, req: HeadObject) -> ObjectMeta: ...
    async def delete_object(self, req: DeleteObject) -> Done: ...
    async def list_objects(self, req: ListObjects) -> Listing: ...
    async def copy_object(self, req: CopyObject) -> ObjectCopied: ...
    async def delete_objects(self, req: DeleteObjects) -> ObjectsDeleted: ...
    async def get_object_tagging(self, req: GetObjectTagging) -> TagSet: ...
    async def put_object_tagging(self, req: PutObjectTagging) -> Done: ...
    async def delete_object_tagging(self, req: DeleteObjectTagging) -> Done: ...
    async def create_multipart_upload(self, req: CreateMultipartUpload) -> UploadCreated: ...
    async def upload_part(
        self, req: UploadPart, body: AsyncIterator[bytes | memoryview]
    ) -> PartWritten: ...
    async def upload_part_copy(self, req: UploadPartCopy) -> PartWritten: ...
    async def complete_multipart_upload(self, req: CompleteMultipartUpload) -> UploadCompleted: ...
    async def abort_multipart_upload(self, req: AbortMultipartUpload) -> Done: ...
    async def list_parts(self, req: ListParts) -> PartList: ...
    async def list_multipart_uploads(self, req: ListMultipartUploads) -> UploadList: ...
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

    async def put_object(
        self, req: PutObject, body: AsyncIterator[bytes | memoryview]
    ) -> ObjectWritten:
        raise _unsupported("PutObject")

    async def get_object(self, req: GetObject) -> ObjectRead:
        raise _unsupported("GetObject")

    async def head_object(self, req: HeadObject) -> ObjectMeta:
        raise _unsupported("HeadObject")

    async def delete_object(self, req: DeleteObject) -> Done:
        raise _unsupported("DeleteObject")

    async def list_objects(self, req: ListObjects) -> Listing:
        raise _unsupported("ListObjects")

    async def copy_object(self, req: CopyObject) -> ObjectCopied:
        raise _unsupported("CopyObject")

    async def delete_objects(self, req: DeleteObjects) -> ObjectsDeleted:
        raise _unsupported("DeleteObjects")

    async def get_object_tagging(self, req: GetObjectTagging) -> TagSet:
        raise _unsupported("GetObjectTagging")

    async def put_object_tagging(self, req: PutObjectTagging) -> Done:
        raise _unsupported("PutObjectTagging")

    async def delete_object_tagging(self, req: DeleteObjectTagging) -> Done:
        raise _unsupported("DeleteObjectTagging")

    async def create_multipart_upload(self, req: CreateMultipartUpload) -> UploadCreated:
        raise _unsupported("CreateMultipartUpload")

    async def upload_part(
        self, req: UploadPart, body: AsyncIterator[bytes | memoryview]
    ) -> PartWritten:
        raise _unsupported("UploadPart")

    async def upload_part_copy(self, req: UploadPartCopy) -> PartWritten:
        raise _unsupported("UploadPartCopy")

    async def complete_multipart_upload(self, req: CompleteMultipartUpload) -> UploadCompleted:
        raise _unsupported("CompleteMultipartUpload")

    async def abort_multipart_upload(self, req: AbortMultipartUpload) -> Done:
        raise _unsupported("AbortMultipartUpload")

    async def list_parts(self, req: ListParts) -> PartList:
        raise _unsupported("ListParts")

    async def list_multipart_uploads(self, req: ListMultipartUploads) -> UploadList:
        raise _unsupported("ListMultipartUploads")

    async def ready(self) -> bool:
        return True

    async def close(self) -> None:
        return None
