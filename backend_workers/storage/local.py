"""Local storage driver: a data directory, for embedded mode (one process, one node).

Layout of ``data_dir``::

    LOCK               flock'ed while a process owns the directory
    index.sqlite3      buckets and objects (:mod:`.local_index`), WAL mode
    tmp/               bodies being received (:mod:`.local_blobs`)
    blobs/xx/<uuid>    complete bodies, named by random UUIDs, never by keys

A PUT streams the body to ``tmp/``, computing its MD5 on the writing thread,
fsyncs it, renames it into ``blobs/`` and fsyncs the directory; then one
SQLite transaction (``synchronous=FULL``) points the key at the new blob, and
only then is the replaced blob unlinked.  A crash at any moment leaves the
old object or the new one, never a torn one; :meth:`LocalStorage.start`
removes what a crash left behind (temporary files, blobs no row references).
PUTs that finish while the index thread is busy share the next transaction
(group commit), so concurrent writers share one WAL fsync; within it they
apply in the order they finished.

SQLite runs on one dedicated thread: every index access, and every blob
open or unlink that must be ordered with the index, is a job on it.  So a
GET that found a row has the blob open before any later commit can unlink
it, and the last committed PUT of a key wins.  Other file I/O runs on the
default executor.  The event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import fcntl
import io
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Final, TypeVar

from backend_workers.storage.base import ObjectRead, StorageUnavailable, UnsupportedStorage
from backend_workers.storage.local_blobs import (
    BlobChunks,
    BlobStore,
    BlobWriter,
    close_opened,
    consume_outcome,
)
from backend_workers.storage.local_index import Index, IndexUnusable, ObjectRow
from backend_workers.storage.local_multipart import LocalMultipart
from s3compat.conditional import check_copy_source, check_read
from s3compat.errors import S3Error
from s3compat.names import validate_key
from s3compat.ranges import parse_range
from s3compat.timefmt import to_datetime
from sangraha.contract import (
    BucketInfo,
    BucketList,
    CopyObject,
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    Done,
    GetObject,
    GetObjectTagging,
    HeadBucket,
    HeadObject,
    KeyFailure,
    ListBuckets,
    ListEntry,
    Listing,
    ListObjects,
    ObjectCopied,
    ObjectMeta,
    ObjectsDeleted,
    ObjectWritten,
    PutObject,
    PutObjectTagging,
    TagSet,
)

__all__ = ["LocalStorage"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_INDEX_FILE: Final = "index.sqlite3"
_LOCK_FILE: Final = "LOCK"
# Small body chunks are gathered up to this many bytes per hop to a writer thread.
_FLUSH_BYTES: Final = 1024 * 1024
_MAX_KEYS: Final = 1000
# At most this many PUTs share one index transaction.
_MAX_BATCH: Final = 256
# The largest object CopyObject copies (AWS's limit; larger ones need UploadPartCopy).
_MAX_COPY_BYTES: Final = 5 * 1024**3


@dataclass(slots=True)
class _PendingCommit:
    bucket: str
    key: bytes
    row: ObjectRow
    done: asyncio.Future[float]  # resolves to the commit time
    conditions: Mapping[str, str] | None = None


def _key_bytes(key: str) -> bytes:
    validate_key(key)
    return key.encode("utf-8")


def _text_bytes(value: str, name: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise S3Error("InvalidArgument", f"The {name} is not valid UTF-8.") from None


def _materialize(writer: BlobWriter, file: io.FileIO | None, size: int) -> None:
    """Worker thread: copy the bytes of ``file`` if the blob could not be
    linked, then publish the writer's file as a blob."""
    if file is not None:
        try:
            writer.copy_from(file, size)
        finally:
            file.close()
    writer.publish()


def _meta(row: ObjectRow, conditions: dict[str, str], range_header: str | None) -> ObjectMeta:
    """What GET and HEAD report; raises NotModified, PreconditionFailed, InvalidRange."""
    check_read(conditions, etag=row.etag, last_modified=to_datetime(row.last_modified))
    return ObjectMeta(
        etag=row.etag,
        size=row.size,
        last_modified=row.last_modified,
        content_type=row.content_type,
        metadata=row.metadata,
        headers=row.headers,
        range=parse_range(range_header, row.size),
        checksums=row.checksums,
        tag_count=len(row.tags),
    )


class LocalStorage(LocalMultipart, UnsupportedStorage):
    """Storage in a local data directory.  ``await start()`` before use."""

    def __init__(self, data_dir: str | Path) -> None:
        self._root = Path(data_dir)
        self._blobs = BlobStore(self._root)
        self._index: Index | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock_fd: int | None = None
        self._closing = False
        # Group commit: PUTs waiting for the index, and the task committing them.
        self._commits: list[_PendingCommit] = []
        self._committer: asyncio.Task[None] | None = None

    @property
    def data_dir(self) -> Path:
        return self._root

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Create the directories, take the directory lock, open the index, recover."""
        if self._pool is not None:
            return
        try:
            await asyncio.to_thread(self._root.mkdir, parents=True, exist_ok=True)
            self._lock_fd = await asyncio.to_thread(self._lock)
        except OSError as exc:
            raise StorageUnavailable(f"cannot use the data directory {self._root}: {exc}") from exc
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sangraha-index")
        loop = asyncio.get_running_loop()
        try:
            had_blobs = await asyncio.to_thread(self._blobs.prepare)
            index = await loop.run_in_executor(pool, Index, self._root / _INDEX_FILE)
            try:
                await loop.run_in_executor(pool, self._recover, index, had_blobs)
            except BaseException:
                await loop.run_in_executor(pool, index.close)
                raise
        except (IndexUnusable, sqlite3.Error, OSError) as exc:
            pool.shutdown(wait=False)
            self._unlock()
            raise StorageUnavailable(f"cannot open the data directory {self._root}: {exc}") from exc
        except BaseException:
            pool.shutdown(wait=False)
            self._unlock()
            raise
        self._index, self._pool = index, pool
        self._closing = False

    def _lock(self) -> int:
        fd = os.open(self._root / _LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StorageUnavailable(
                f"the data directory {self._root} is in use by another Sangraha"
            ) from None
        return fd

    def _unlock(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    def _recover(self, index: Index, had_blobs: bool) -> None:
        """Make the files agree with the index after a crash (index thread, at start).

        Temporary files and blobs no row references are removed; rows whose blob
        is gone (damage from outside: a crash cannot cause it) are dropped and
        logged.  A missing ``blobs/`` directory under a non-empty index is a
        misconfiguration (wrong mount), not damage: refuse to start.
        """
        if not had_blobs and index.has_objects():
            raise IndexUnusable(
                f"the index lists objects but {self._blobs.blobs} did not exist; "
                "is the data directory mounted?"
            )
        removed_tmp = self._blobs.clean_tmp()
        orphans = lost = 0
        for fan in self._blobs.fanout():
            present = self._blobs.names_in(fan)
            referenced = index.referenced_blobs(fan)
            for name in present - referenced:
                self._blobs.remove_in(fan, name)
                orphans += 1
            missing = referenced - present
            if missing:
                lost += index.forget_blobs(missing)
        if lost:
            log.error("%d indexed objects had no blob file and were dropped from the index", lost)
        if removed_tmp or orphans:
            log.info(
                "recovered the data directory: %d temporary files and %d unreferenced blobs "
                "removed",
                removed_tmp,
                orphans,
            )

    async def close(self) -> None:
        """Refuse new operations, let queued commits finish, close the index."""
        if self._pool is None:
            return
        self._closing = True
        committer = self._committer
        if committer is not None:
            await asyncio.wait([committer])
        pool, index = self._pool, self._index
        self._pool = self._index = None
        if pool is None or index is None:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(pool, index.close)
        finally:
            await asyncio.to_thread(pool.shutdown, wait=True)
            self._unlock()

    async def ready(self) -> bool:
        if self._index is None or self._closing:
            return False
        try:
            await self._db(self._index.ping)
        except StorageUnavailable:
            return False
        return True

    # ---------------------------------------------------------------- plumbing

    def _require_index(self) -> Index:
        if self._index is None or self._closing:
            raise StorageUnavailable("the local storage is not started or is closed")
        return self._index

    async def _db(
        self,
        job: Callable[[], T],
        on_cancel: Callable[[asyncio.Future[T]], object] = consume_outcome,
    ) -> T:
        """Run ``job`` on the index thread.  Once submitted it runs to the end even if
        the caller is cancelled, so a commit and its blob bookkeeping stay together;
        ``on_cancel`` then gets the job's future once it is done (to close a file
        the job opened, say)."""
        pool = self._pool
        if pool is None:
            raise StorageUnavailable("the local storage is not started or is closed")
        fut = asyncio.get_running_loop().run_in_executor(pool, job)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            fut.add_done_callback(on_cancel)
            raise
        except (sqlite3.Error, OSError) as exc:
            log.error("local storage failed: %s: %s", type(exc).__name__, exc)
            raise StorageUnavailable(f"local storage failed: {exc}") from exc

    async def _spool(
        self,
        writer: BlobWriter,
        body: AsyncIterator[bytes | memoryview],
        size: int,
        write: Callable[[list[bytes | memoryview]], object],
    ) -> list[bytes | memoryview]:
        """Write ``body`` (exactly ``size`` bytes) through ``write`` on a worker
        thread in batches of about _FLUSH_BYTES; returns the last, unwritten
        batch for the caller's finishing step."""
        pending: list[bytes | memoryview] = []
        pending_bytes = received = 0
        async for chunk in body:
            received += len(chunk)
            if received > size:
                raise S3Error(
                    "IncompleteBody", f"the body is longer than the {size} bytes announced"
                )
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= _FLUSH_BYTES:
                await self._write(writer, partial(write, pending))
                pending, pending_bytes = [], 0
        if received != size:
            raise S3Error("IncompleteBody", f"received {received} bytes of the {size} announced")
        return pending

    async def _write(self, writer: BlobWriter, job: Callable[[], T]) -> T:
        """Run a step of ``writer`` on a worker thread.  If the caller is cancelled
        meanwhile, the writer is discarded when the thread is done with it."""
        fut = asyncio.get_running_loop().run_in_executor(None, job)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            writer.abandoned = True

            def _discard(done: asyncio.Future[T]) -> None:
                consume_outcome(done)
                writer.discard()

            fut.add_done_callback(_discard)
            raise
        except OSError as exc:
            log.error("local storage write failed: %s: %s", type(exc).__name__, exc)
            raise StorageUnavailable(f"local storage write failed: {exc}") from exc

    # ---------------------------------------------------------------- buckets

    async def list_buckets(self, req: ListBuckets) -> BucketList:
        rows = await self._db(self._require_index().list_buckets)
        return BucketList(buckets=[BucketInfo(name=name, created=ts) for name, ts in rows])

    async def create_bucket(self, req: CreateBucket) -> Done:
        await self._db(partial(self._require_index().create_bucket, req.bucket))
        return Done()

    async def head_bucket(self, req: HeadBucket) -> Done:
        if not await self._db(partial(self._require_index().bucket_exists, req.bucket)):
            raise S3Error("NoSuchBucket", resource=req.bucket)
        return Done()

    async def delete_bucket(self, req: DeleteBucket) -> Done:
        # With it go its uploads in progress and their part blobs.
        await self._db(partial(self._mpu_drop_bucket, self._require_index(), req.bucket))
        return Done()

    # ---------------------------------------------------------------- objects

    async def put_object(
        self, req: PutObject, body: AsyncIterator[bytes | memoryview]
    ) -> ObjectWritten:
        index = self._require_index()
        key = _key_bytes(req.key)
        if req.conditions:
            # Fail before the body is stored; the commit checks again, atomically.
            await self._db(partial(index.check_write, req.bucket, key, req.conditions))
        elif not await self._db(partial(index.bucket_exists, req.bucket)):
            raise S3Error("NoSuchBucket", resource=req.bucket)
        writer = self._blobs.writer()
        handed_over = False
        try:
            pending = await self._spool(writer, body, req.size, writer.write)
            etag = await self._write(writer, partial(writer.finish, pending, req.md5))
            row = ObjectRow(
                blob=writer.name,
                size=req.size,
                etag=etag,
                last_modified=0.0,  # the index records its commit time
                content_type=req.content_type,
                metadata=dict(req.metadata),
                headers=dict(req.headers),
                tags=dict(req.tags),
                checksums=dict(req.checksums),
            )
            committed = self._queue_commit(req.bucket, key, row, req.conditions)
            handed_over = True  # from here the committer owns the blob
            await committed
        finally:
            if not handed_over and not writer.abandoned:
                writer.discard()
        return ObjectWritten(etag=etag)

    # ---------------------------------------------------------------- group commit

    def _queue_commit(
        self,
        bucket: str,
        key: bytes,
        row: ObjectRow,
        conditions: Mapping[str, str] | None = None,
    ) -> asyncio.Future[float]:
        """Queue a finished blob for the index; the future resolves to the commit
        time once it is committed.  ``conditions`` are conditional-write headers,
        evaluated inside the commit's transaction.

        Commits that queue while the index thread is busy share the next
        transaction, so concurrent PUTs share one WAL fsync.  A queued commit
        always runs, even if its caller is cancelled: it owns the blob.
        """
        if self._closing or self._pool is None:
            raise StorageUnavailable("the local storage was closed during the upload")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[float] = loop.create_future()
        self._commits.append(_PendingCommit(bucket, key, row, done, conditions))
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._run_commits())
        return done

    async def _run_commits(self) -> None:
        pool, index = self._pool, self._index
        loop = asyncio.get_running_loop()
        while self._commits:
            if pool is None or index is None:  # cannot happen: close() waits for this task
                for c in self._commits:
                    if not c.done.done():
                        c.done.set_exception(StorageUnavailable("the local storage is closed"))
                self._commits.clear()
                return
            batch = self._commits[:_MAX_BATCH]
            del self._commits[:_MAX_BATCH]
            items = [(c.bucket, c.key, c.row) for c in batch]
            conditions = [c.conditions for c in batch]
            now = time.time()
            try:
                outcomes = await loop.run_in_executor(
                    pool, self._commit_batch, index, items, conditions, now
                )
            except (sqlite3.Error, OSError) as exc:
                log.error("local storage commit failed: %s: %s", type(exc).__name__, exc)
                for c in batch:
                    if not c.done.done():
                        c.done.set_exception(StorageUnavailable(f"local storage failed: {exc}"))
                continue
            for c, outcome in zip(batch, outcomes, strict=True):
                if c.done.done():  # the caller was cancelled; the commit happened anyway
                    continue
                if outcome is None:
                    c.done.set_result(now)
                else:
                    c.done.set_exception(outcome)

    def _commit_batch(
        self,
        index: Index,
        items: list[tuple[str, bytes, ObjectRow]],
        conditions: list[Mapping[str, str] | None],
        now: float,
    ) -> list[S3Error | None]:
        """Index thread: point the keys at their new blobs, then unlink replaced blobs.

        A failure of the transaction itself leaves the new blobs for start-up
        recovery: whether the commit reached the disk is then unknown.
        """
        results: list[S3Error | None] = []
        outcomes = index.put_objects(items, conditions, now=now)
        for (_, _, row), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, S3Error):
                # Skipped (the bucket is gone, a condition failed): nothing
                # references the new blob.
                self._blobs.unlink(row.blob)
                results.append(outcome)
                continue
            if outcome is not None and outcome != row.blob:
                self._blobs.unlink(outcome)
            results.append(None)
        return results

    def _open(
        self, index: Index, bucket: str, key: bytes, req: GetObject
    ) -> tuple[ObjectMeta, io.FileIO]:
        """Index thread: look the object up, check conditions and range, open its blob.

        Opening here orders the open before any later commit's unlink."""
        row = index.get_object(bucket, key)
        meta = _meta(row, req.conditions, req.range)
        try:
            file = self._blobs.open(row.blob)
        except FileNotFoundError:
            log.error("blob %s of %s/%r is missing", row.blob, bucket, key)
            raise StorageUnavailable("a stored object's data file is missing") from None
        return meta, file

    async def get_object(self, req: GetObject) -> ObjectRead:
        index = self._require_index()
        key = _key_bytes(req.key)
        meta, file = await self._db(
            partial(self._open, index, req.bucket, key, req), on_cancel=close_opened
        )
        start, end = (meta.range[0], meta.range[1] + 1) if meta.range else (0, meta.size)
        return ObjectRead(meta=meta, chunks=BlobChunks(file, start, end))

    async def head_object(self, req: HeadObject) -> ObjectMeta:
        index = self._require_index()
        key = _key_bytes(req.key)
        row = await self._db(partial(index.get_object, req.bucket, key))
        return _meta(row, req.conditions, req.range)

    async def delete_object(self, req: DeleteObject) -> Done:
        index = self._require_index()
        key = _key_bytes(req.key)
        await self._db(partial(self._delete, index, req.bucket, key))
        return Done()

    def _delete(self, index: Index, bucket: str, key: bytes) -> None:
        """Index thread: remove the row, then its blob."""
        old = index.delete_object(bucket, key)
        if old is not None:
            self._blobs.unlink(old)

    async def delete_objects(self, req: DeleteObjects) -> ObjectsDeleted:
        """One index transaction for every valid key; invalid keys fail alone."""
        index = self._require_index()
        names: list[str] = []
        keys: list[bytes] = []
        errors: list[KeyFailure] = []
        for name in req.keys:
            try:
                keys.append(_key_bytes(name))
            except S3Error as exc:
                errors.append(KeyFailure(key=name, code=exc.code, message=exc.message))
                continue
            names.append(name)
        await self._db(partial(self._delete_many, index, req.bucket, keys))
        return ObjectsDeleted(deleted=names, errors=errors)

    def _delete_many(self, index: Index, bucket: str, keys: list[bytes]) -> None:
        """Index thread: remove the rows in one transaction, then their blobs."""
        for blob in index.delete_objects(bucket, keys):
            self._blobs.unlink(blob)

    # ---------------------------------------------------------------- copy

    async def copy_object(self, req: CopyObject) -> ObjectCopied:
        """Copy by hard-linking the source blob (blobs are immutable), or by
        copying its bytes where the file system has no hard links; then commit
        the new row like a PUT.  A crash in between leaves a temporary file or
        an unreferenced blob, which start-up removes."""
        index = self._require_index()
        source_key = _key_bytes(req.source_key)
        key = _key_bytes(req.key)
        writer = self._blobs.writer()
        handed_over = False
        try:
            source, file = await self._prepare_copy(index, req, source_key, key, writer)
            await self._write(writer, partial(_materialize, writer, file, source.size))
            row = ObjectRow(
                blob=writer.name,
                size=source.size,
                etag=source.etag,
                last_modified=0.0,  # the index records its commit time
                content_type=req.content_type if req.replace_metadata else source.content_type,
                metadata=dict(req.metadata) if req.replace_metadata else source.metadata,
                headers=dict(req.headers) if req.replace_metadata else source.headers,
                tags=dict(req.tags) if req.replace_tags else source.tags,
                checksums=source.checksums,
            )
            committed = self._queue_commit(req.bucket, key, row, req.conditions)
            handed_over = True  # from here the committer owns the blob
            when = await committed
        finally:
            if not handed_over and not writer.abandoned:
                writer.discard()
        return ObjectCopied(etag=source.etag, last_modified=when)

    async def _prepare_copy(
        self, index: Index, req: CopyObject, source_key: bytes, key: bytes, writer: BlobWriter
    ) -> tuple[ObjectRow, io.FileIO | None]:
        def _drop(done: asyncio.Future[tuple[ObjectRow, io.FileIO | None]]) -> None:
            close_opened(done)
            writer.discard()

        try:
            return await self._db(
                partial(self._copy_source, index, req, source_key, key, writer), on_cancel=_drop
            )
        except asyncio.CancelledError:
            writer.abandoned = True
            raise

    def _copy_source(
        self, index: Index, req: CopyObject, source_key: bytes, key: bytes, writer: BlobWriter
    ) -> tuple[ObjectRow, io.FileIO | None]:
        """Index thread: check the source, its conditions and the destination,
        then link the source blob into the writer (or open it to be copied).

        Linking or opening here orders it before any later commit's unlink."""
        source = index.get_object(req.source_bucket, source_key)
        check_copy_source(
            req.source_conditions,
            etag=source.etag,
            last_modified=to_datetime(source.last_modified),
        )
        if source.size > _MAX_COPY_BYTES:
            raise S3Error(
                "InvalidRequest",
                "The specified copy source is larger than the maximum allowable size for a "
                f"copy source: {_MAX_COPY_BYTES}",
            )
        if req.conditions:
            index.check_write(req.bucket, key, req.conditions)
        elif not index.bucket_exists(req.bucket):
            raise S3Error("NoSuchBucket", resource=req.bucket)
        try:
            writer.link_from(source.blob)
        except OSError:
            return source, self._blobs.open(source.blob)  # no hard links here: copy bytes
        return source, None

    # ---------------------------------------------------------------- tagging

    async def get_object_tagging(self, req: GetObjectTagging) -> TagSet:
        index = self._require_index()
        key = _key_bytes(req.key)
        return TagSet(tags=await self._db(partial(index.get_tags, req.bucket, key)))

    async def put_object_tagging(self, req: PutObjectTagging) -> Done:
        index = self._require_index()
        key = _key_bytes(req.key)
        await self._db(partial(index.set_tags, req.bucket, key, req.tags))
        return Done()

    async def delete_object_tagging(self, req: DeleteObjectTagging) -> Done:
        index = self._require_index()
        key = _key_bytes(req.key)
        await self._db(partial(index.set_tags, req.bucket, key, {}))
        return Done()

    # ---------------------------------------------------------------- listing

    async def list_objects(self, req: ListObjects) -> Listing:
        index = self._require_index()
        if req.max_keys < 0:
            raise S3Error("InvalidArgument", "max-keys must not be negative")
        after_text = req.cursor if req.cursor is not None else req.start_after
        page = await self._db(
            partial(
                index.list_objects,
                req.bucket,
                prefix=_text_bytes(req.prefix, "prefix"),
                delimiter=_text_bytes(req.delimiter, "delimiter"),
                max_keys=min(req.max_keys, _MAX_KEYS),
                after=_text_bytes(after_text, "start position") if after_text else None,
            )
        )
        last = page.last.decode("utf-8") if page.last is not None else None
        return Listing(
            entries=[
                ListEntry(key=key.decode("utf-8"), size=size, etag=etag, last_modified=ts)
                for key, size, etag, ts in page.entries
            ],
            common_prefixes=[p.decode("utf-8") for p in page.common_prefixes],
            is_truncated=page.is_truncated,
            next_cursor=last if page.is_truncated else None,
            last=last,
        )
