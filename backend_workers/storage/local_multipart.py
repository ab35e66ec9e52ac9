"""Multipart uploads of the local store (embedded mode).

Mixed into :class:`~backend_workers.storage.local.LocalStorage`; the same
rules as its PUTs apply:

- A part is a blob, written to ``tmp/``, fsynced and renamed into ``blobs/``
  before one index transaction records it in ``parts``; a replaced part's
  blob is unlinked after that commit.  A part whose upload has gone (aborted,
  completed) by then is not recorded and its blob is removed.
- CompleteMultipartUpload copies the parts, in order, into a new blob (the
  kernel copies them where it can), fsyncs and renames it; then one
  transaction points the key at it and deletes the upload and its part rows,
  and only then are the part blobs unlinked.  The object appears whole or
  not at all.
- Abort deletes the rows in one transaction, then the blobs.
- A crash at any point leaves temporary files or blobs no row references;
  start-up recovery removes them (:meth:`Index.referenced_blobs` counts
  parts).

Upload IDs start with the creation time in hex, so upload-ID order is
creation order.  Part ETags are the MD5 of the part's bytes.  When the upload
was created with a checksum algorithm, every part's checksum of that
algorithm is computed here if the client did not send it, and the object
gets a COMPOSITE checksum (of the part checksums, ``-N``) or a FULL_OBJECT
one (computed over the bytes while assembling).
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import partial
from typing import TYPE_CHECKING, Final, TypeVar

from backend_workers.storage.base import StorageUnavailable
from backend_workers.storage.local_blobs import READ_CHUNK, BlobStore, BlobWriter, close_opened
from backend_workers.storage.local_index import Index, ObjectRow, PartRow, UploadRow
from s3compat.checksums import Checksum, new_checksum
from s3compat.conditional import check_copy_source
from s3compat.errors import S3Error
from s3compat.multipart import (
    FULL_OBJECT,
    MAX_LISTED,
    MAX_PART_SIZE,
    CompletionPart,
    StoredPart,
    UploadsPage,
    check_completion,
    composite_checksum,
    multipart_etag,
    page_uploads,
)
from s3compat.names import validate_key
from s3compat.ranges import parse_copy_source_range
from s3compat.timefmt import to_datetime
from sangraha.contract import (
    AbortMultipartUpload,
    CompleteMultipartUpload,
    CreateMultipartUpload,
    Done,
    ListMultipartUploads,
    ListParts,
    PartInfo,
    PartList,
    PartWritten,
    UploadCompleted,
    UploadCreated,
    UploadInfo,
    UploadList,
    UploadPart,
    UploadPartCopy,
)

__all__ = ["LocalMultipart"]

T = TypeVar("T")

# Small body chunks are gathered up to this many bytes per hop to a writer thread.
_FLUSH_BYTES: Final = 1024 * 1024

_Entry = tuple[str, str, float]  # key, upload ID, initiated


def _key_bytes(key: str) -> bytes:
    validate_key(key)
    return key.encode("utf-8")


def _new_upload_id() -> str:
    """Time-ordered: 16 hex digits of nanoseconds, then 16 random hex digits."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def _write_part(
    writer: BlobWriter, chunks: list[bytes | memoryview], checksum: Checksum | None
) -> None:
    """Worker thread: append chunks to a part, feeding the upload's checksum."""
    if checksum is not None:
        for chunk in chunks:
            checksum.update(chunk)
    writer.write(chunks)


def _finish_part(
    writer: BlobWriter, chunks: list[bytes | memoryview], md5: str, checksum: Checksum | None
) -> str:
    """Worker thread: the last chunks, the MD5 check, publish; the part's MD5."""
    if checksum is not None:
        for chunk in chunks:
            checksum.update(chunk)
    return writer.finish(chunks, md5)


def _copy_part(
    writer: BlobWriter, file: io.FileIO, offset: int, length: int, checksum: Checksum | None
) -> str:
    """Worker thread: a part from bytes of an open blob; the part's MD5."""
    try:
        done = 0
        while done < length:
            data = os.pread(file.fileno(), min(READ_CHUNK, length - done), offset + done)
            if not data:
                raise StorageUnavailable("a stored object is shorter than its index entry")
            if checksum is not None:
                checksum.update(data)
            writer.write([data])
            done += len(data)
    finally:
        file.close()
    return writer.finish([], "")


class LocalMultipart:
    """The multipart operations of the local store."""

    if TYPE_CHECKING:
        _blobs: BlobStore
        _pool: ThreadPoolExecutor | None

        def _require_index(self) -> Index: ...
        async def _db(
            self,
            job: Callable[[], T],
            on_cancel: Callable[[asyncio.Future[T]], object] = ...,
        ) -> T: ...
        async def _write(self, writer: BlobWriter, job: Callable[[], T]) -> T: ...
        async def _spool(
            self,
            writer: BlobWriter,
            body: AsyncIterator[bytes | memoryview],
            size: int,
            write: Callable[[list[bytes | memoryview]], object],
        ) -> list[bytes | memoryview]: ...

    # ---------------------------------------------------------------- create, abort

    async def create_multipart_upload(self, req: CreateMultipartUpload) -> UploadCreated:
        index = self._require_index()
        upload = UploadRow(
            upload_id=_new_upload_id(),
            bucket=req.bucket,
            key=_key_bytes(req.key),
            initiated=time.time(),
            content_type=req.content_type,
            metadata=dict(req.metadata),
            headers=dict(req.headers),
            tags=dict(req.tags),
            checksum_algorithm=req.checksum_algorithm,
            checksum_type=req.checksum_type,
        )
        await self._db(partial(index.create_upload, upload))
        return UploadCreated(
            upload_id=upload.upload_id,
            checksum_algorithm=upload.checksum_algorithm,
            checksum_type=upload.checksum_type,
        )

    async def abort_multipart_upload(self, req: AbortMultipartUpload) -> Done:
        index = self._require_index()
        key = _key_bytes(req.key)
        await self._db(partial(self._mpu_abort, index, req.bucket, key, req.upload_id))
        return Done()

    def _mpu_abort(self, index: Index, bucket: str, key: bytes, upload_id: str) -> None:
        """Index thread: end the upload, then remove its part blobs."""
        for blob in index.abort_upload(bucket, key, upload_id):
            self._blobs.unlink(blob)

    def _mpu_drop_bucket(self, index: Index, bucket: str) -> None:
        """Index thread: delete a bucket, then the part blobs of its uploads."""
        for blob in index.delete_bucket(bucket):
            self._blobs.unlink(blob)

    # ---------------------------------------------------------------- parts

    async def upload_part(
        self, req: UploadPart, body: AsyncIterator[bytes | memoryview]
    ) -> PartWritten:
        index = self._require_index()
        key = _key_bytes(req.key)
        upload = await self._db(partial(index.get_upload, req.bucket, key, req.upload_id))
        algorithm = upload.checksum_algorithm
        checksum = new_checksum(algorithm) if algorithm and algorithm not in req.checksums else None
        writer = self._blobs.writer()
        handed_over = False
        try:
            pending = await self._spool(
                writer, body, req.size, partial(_write_part, writer, checksum=checksum)
            )
            etag = await self._write(
                writer, partial(_finish_part, writer, pending, req.md5, checksum)
            )
            checksums = dict(req.checksums)
            if checksum is not None:
                checksums[algorithm] = checksum.b64digest()
            part = PartRow(
                number=req.part_number,
                blob=writer.name,
                size=req.size,
                etag=etag,
                last_modified=0.0,
                checksums=checksums,
            )
            now = time.time()
            handed_over = True  # from here the index job owns the blob
            await self._db(
                partial(self._mpu_commit_part, index, req.bucket, key, req.upload_id, part, now)
            )
        finally:
            if not handed_over and not writer.abandoned:
                writer.discard()
        return PartWritten(etag=etag, last_modified=now, checksums=checksums)

    def _mpu_commit_part(
        self, index: Index, bucket: str, key: bytes, upload_id: str, part: PartRow, now: float
    ) -> None:
        """Index thread: record the part, then unlink the part it replaced.  If
        the upload is gone, the new blob is removed instead.  A failure of the
        transaction itself leaves the blob for start-up recovery."""
        try:
            old = index.put_part(bucket, key, upload_id, part, now)
        except S3Error:
            self._blobs.unlink(part.blob)
            raise
        if old is not None and old != part.blob:
            self._blobs.unlink(old)

    async def upload_part_copy(self, req: UploadPartCopy) -> PartWritten:
        """A part copied from (a range of) an object: its bytes are read once,
        for the part's MD5 and checksum."""
        index = self._require_index()
        key = _key_bytes(req.key)
        source_key = _key_bytes(req.source_key)
        (upload, first, length), file = await self._db(
            partial(self._mpu_copy_source, index, req, key, source_key), on_cancel=close_opened
        )
        algorithm = upload.checksum_algorithm
        checksum = new_checksum(algorithm) if algorithm else None
        writer = self._blobs.writer()
        handed_over = False
        try:
            etag = await self._write(
                writer, partial(_copy_part, writer, file, first, length, checksum)
            )
            checksums = {algorithm: checksum.b64digest()} if checksum is not None else {}
            part = PartRow(
                number=req.part_number,
                blob=writer.name,
                size=length,
                etag=etag,
                last_modified=0.0,
                checksums=checksums,
            )
            now = time.time()
            handed_over = True
            await self._db(
                partial(self._mpu_commit_part, index, req.bucket, key, req.upload_id, part, now)
            )
        finally:
            if not handed_over and not writer.abandoned:
                writer.discard()
        return PartWritten(etag=etag, last_modified=now, checksums=checksums)

    def _mpu_copy_source(
        self, index: Index, req: UploadPartCopy, key: bytes, source_key: bytes
    ) -> tuple[tuple[UploadRow, int, int], io.FileIO]:
        """Index thread: the upload, the source (its conditions and range
        checked) and the source blob, opened before any later commit can
        unlink it."""
        upload = index.get_upload(req.bucket, key, req.upload_id)
        source = index.get_object(req.source_bucket, source_key)
        check_copy_source(
            req.source_conditions, etag=source.etag, last_modified=to_datetime(source.last_modified)
        )
        if req.source_range is not None:
            first, last = parse_copy_source_range(req.source_range, source.size)
        else:
            first, last = 0, source.size - 1
        length = last - first + 1
        if length > MAX_PART_SIZE:
            raise S3Error(
                "InvalidRequest",
                "The specified copy source is larger than the maximum allowable size for a "
                f"copy source: {MAX_PART_SIZE}",
            )
        try:
            file = self._blobs.open(source.blob)
        except FileNotFoundError:
            raise StorageUnavailable("a stored object's data file is missing") from None
        return (upload, first, length), file

    # ---------------------------------------------------------------- complete

    async def complete_multipart_upload(self, req: CompleteMultipartUpload) -> UploadCompleted:
        index = self._require_index()
        key = _key_bytes(req.key)
        upload, parts = await self._db(partial(self._mpu_parts_to_complete, index, req, key))
        algorithm, checksum_type = upload.checksum_algorithm, upload.checksum_type
        full = new_checksum(algorithm) if algorithm and checksum_type == FULL_OBJECT else None
        writer = self._blobs.writer()
        handed_over = False
        try:
            await self._write(writer, partial(self._mpu_assemble, writer, parts, full))
            checksums: dict[str, str] = {}
            if full is not None:
                checksums[algorithm] = full.b64digest()
            elif algorithm:
                checksums[algorithm] = composite_checksum(
                    algorithm, [p.checksums[algorithm] for p in parts]
                )
            for name, value in req.checksums.items():
                if name in checksums and checksums[name] != value:
                    raise S3Error(
                        "BadDigest",
                        f"The {name} you specified did not match the calculated checksum.",
                    )
            row = ObjectRow(
                blob=writer.name,
                size=sum(p.size for p in parts),
                etag=multipart_etag([p.etag for p in parts]),
                last_modified=0.0,
                content_type=upload.content_type,
                metadata=upload.metadata,
                headers=upload.headers,
                tags=upload.tags,
                checksums=checksums,
            )
            handed_over = True
            await self._db(
                partial(
                    self._mpu_commit_completion, index, upload, row, req.conditions, time.time()
                )
            )
        finally:
            if not handed_over and not writer.abandoned:
                writer.discard()
        return UploadCompleted(
            etag=row.etag, checksums=checksums, checksum_type=checksum_type if algorithm else ""
        )

    def _mpu_parts_to_complete(
        self, index: Index, req: CompleteMultipartUpload, key: bytes
    ) -> tuple[UploadRow, list[PartRow]]:
        """Index thread: the upload and the parts the request names, checked."""
        upload = index.get_upload(req.bucket, key, req.upload_id)
        if req.conditions:  # fail before assembling; the commit checks again
            index.check_write(req.bucket, key, req.conditions)
        stored = {p.number: p for p in index.list_parts(req.upload_id, after=0, limit=-1)}
        check_completion(
            [CompletionPart(p.number, p.etag, p.checksums) for p in req.parts],
            {n: StoredPart(p.etag, p.size, p.checksums) for n, p in stored.items()},
        )
        algorithm = upload.checksum_algorithm
        chosen = [stored[p.number] for p in req.parts]
        if algorithm and any(algorithm not in p.checksums for p in chosen):
            raise S3Error("InvalidPart", f"A part has no {algorithm} checksum.")
        return upload, chosen

    def _mpu_assemble(
        self, writer: BlobWriter, parts: list[PartRow], full: Checksum | None
    ) -> None:
        """Worker thread: the parts' bytes, in order, into one published blob.
        A part blob gone meanwhile was replaced or aborted: InvalidPart."""
        observe = full.update if full is not None else None
        for part in parts:
            try:
                file = self._blobs.open(part.blob)
            except FileNotFoundError:
                raise S3Error(
                    "InvalidPart",
                    f"Part {part.number} was replaced or removed during the completion.",
                ) from None
            with file:
                writer.append_from(file, 0, part.size, observe)
        writer.publish()

    def _mpu_commit_completion(
        self,
        index: Index,
        upload: UploadRow,
        row: ObjectRow,
        conditions: dict[str, str],
        now: float,
    ) -> None:
        """Index thread: the commit that makes the object visible and ends the
        upload; then unlink the replaced object and the parts."""
        try:
            old, parts = index.complete_upload(upload, row, conditions, now)
        except S3Error:
            self._blobs.unlink(row.blob)
            raise
        if old is not None and old != row.blob:
            self._blobs.unlink(old)
        for blob in parts:
            self._blobs.unlink(blob)

    # ---------------------------------------------------------------- listing

    async def list_parts(self, req: ListParts) -> PartList:
        index = self._require_index()
        key = _key_bytes(req.key)
        limit = max(0, min(req.max_parts, MAX_LISTED))
        upload, rows = await self._db(partial(self._mpu_parts, index, req, key, limit))
        truncated = len(rows) > limit
        parts = rows[:limit]
        return PartList(
            parts=[
                PartInfo(
                    number=p.number,
                    etag=p.etag,
                    size=p.size,
                    last_modified=p.last_modified,
                    checksums=p.checksums,
                )
                for p in parts
            ],
            is_truncated=truncated,
            next_marker=parts[-1].number if truncated and parts else None,
            checksum_algorithm=upload.checksum_algorithm,
            checksum_type=upload.checksum_type,
        )

    @staticmethod
    def _mpu_parts(
        index: Index, req: ListParts, key: bytes, limit: int
    ) -> tuple[UploadRow, list[PartRow]]:
        upload = index.get_upload(req.bucket, key, req.upload_id)
        parts = index.list_parts(req.upload_id, after=req.part_number_marker, limit=limit + 1)
        return upload, parts

    async def list_multipart_uploads(self, req: ListMultipartUploads) -> UploadList:
        index = self._require_index()
        page = await self._db(partial(self._mpu_uploads_page, index, req))
        return UploadList(
            uploads=[UploadInfo(key=k, upload_id=u, initiated=t) for k, u, t in page.uploads],
            common_prefixes=page.common_prefixes,
            is_truncated=page.is_truncated,
            next_key_marker=page.next_key_marker,
            next_upload_id_marker=page.next_upload_id_marker,
        )

    @staticmethod
    def _mpu_uploads_page(index: Index, req: ListMultipartUploads) -> UploadsPage[_Entry]:
        """Index thread: scan the uploads from the later of prefix and marker."""
        if not index.bucket_exists(req.bucket):
            raise S3Error("NoSuchBucket", resource=req.bucket)
        try:
            start = max(req.prefix.encode("utf-8"), req.key_marker.encode("utf-8"))
        except UnicodeEncodeError:
            raise S3Error("InvalidArgument", "The prefix or key marker is not UTF-8.") from None
        with closing(index.uploads(req.bucket, start=start)) as rows:
            return page_uploads(
                ((key.decode("utf-8"), upload_id, initiated) for key, upload_id, initiated in rows),
                ident=lambda e: (e[0], e[1]),
                prefix=req.prefix,
                delimiter=req.delimiter,
                key_marker=req.key_marker,
                upload_id_marker=req.upload_id_marker,
                max_uploads=min(req.max_uploads, MAX_LISTED),
            )
