"""Blob files of the embedded store: written once, renamed into place, never changed.

Layout under the data directory::

    tmp/<uuid>             a body being received; removed at start-up
    blobs/<xx>/<uuid>      a complete body; ``xx`` is the first two hex digits

Blob names are random UUIDs, never derived from object keys, so no key can
name a path outside the data directory.  A blob is published by
``fsync(file)``, ``rename(tmp → blobs/xx/…)``, ``fsync(blobs/xx)``; only then
may an index row point at it.  A blob is never rewritten: an overwrite gets a
new blob and the old one is unlinked after the index commit, so a reader
holding the old file open keeps reading the old bytes.

The synchronous methods here run on worker threads, one at a time per writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from backend_workers.storage.base import StorageUnavailable
from s3compat.errors import S3Error

__all__ = [
    "READ_CHUNK",
    "BlobChunks",
    "BlobStore",
    "BlobWriter",
    "close_opened",
    "consume_outcome",
    "fsync_dir",
]

READ_CHUNK: Final = 1024 * 1024
_FANOUT: Final = tuple(f"{i:02x}" for i in range(256))
_FILE_MODE: Final = 0o600


def fsync_dir(path: Path) -> None:
    """Make the directory entries of ``path`` durable (renames and creations in it)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class BlobStore:
    """The ``tmp/`` and ``blobs/`` directories."""

    def __init__(self, root: Path) -> None:
        self.tmp = root / "tmp"
        self.blobs = root / "blobs"

    @staticmethod
    def fanout() -> tuple[str, ...]:
        """The names of the 256 blob subdirectories, also the blob-name prefixes."""
        return _FANOUT

    def prepare(self) -> bool:
        """Create the directories (idempotent) and make them durable.

        Whether ``blobs/`` existed before."""
        existed = self.blobs.is_dir()
        created = False
        for directory in (self.tmp, self.blobs):
            if not directory.is_dir():
                directory.mkdir(parents=True, exist_ok=True)
                created = True
        for fan in _FANOUT:
            sub = self.blobs / fan
            if not sub.is_dir():
                sub.mkdir(exist_ok=True)
                created = True
        if created:
            fsync_dir(self.blobs)
            fsync_dir(self.tmp.parent)
        return existed

    def path(self, name: str) -> Path:
        return self.blobs / name[:2] / name

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def open(self, name: str) -> io.FileIO:
        """Open a blob for reading; the open file keeps its bytes even if it is unlinked."""
        return io.FileIO(self.path(name), "r")

    def unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(name).unlink()

    def clean_tmp(self) -> int:
        """Remove every temporary file (only safe while no writer runs); how many."""
        removed = 0
        with os.scandir(self.tmp) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) or entry.is_symlink():
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                    removed += 1
        return removed

    def names_in(self, fan: str) -> set[str]:
        """The files present in the subdirectory ``fan``."""
        with os.scandir(self.blobs / fan) as entries:
            return {e.name for e in entries if e.is_file(follow_symlinks=False) or e.is_symlink()}

    def remove_in(self, fan: str, name: str) -> None:
        """Remove the file ``name`` of the subdirectory ``fan`` (whatever its name)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.blobs / fan / name)


class BlobWriter:
    """One blob being written: append chunks, then publish or discard.

    The MD5 is computed on the writing thread, as the bytes go to disk.
    """

    def __init__(self, store: BlobStore) -> None:
        self.name = uuid.uuid4().hex
        self._store = store
        self._tmp = store.tmp / self.name
        self._fd: int | None = None
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._published = False
        #: Set when a thread still works on this writer after its caller gave
        #: up; that thread's completion then discards it.
        self.abandoned = False

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(
                self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE
            )
        return self._fd

    def write(self, chunks: list[bytes | memoryview]) -> None:
        fd = self._open()
        for chunk in chunks:
            self._md5.update(chunk)
            _write_all(fd, chunk)

    def finish(self, chunks: list[bytes | memoryview], expected_md5: str) -> str:
        """Write the last chunks, check the MD5 and publish; the MD5 hex.

        ``BadDigest`` when the content's MD5 is not ``expected_md5``; the
        caller then discards the writer.
        """
        self.write(chunks)
        digest = self._md5.hexdigest()
        # A streamed body arrives without an MD5 up front; the caller's
        # iterator has checked it before handing over the last bytes.
        if expected_md5 and digest != expected_md5.lower():
            raise S3Error("BadDigest", f"the content MD5 is {digest}, not {expected_md5}")
        fd = self._open()
        os.fsync(fd)
        self._fd = None
        os.close(fd)
        target = self._store.path(self.name)
        os.rename(self._tmp, target)
        self._published = True
        fsync_dir(target.parent)
        return digest

    def link_from(self, source: str) -> None:
        """Make this writer's temporary file a hard link to the blob ``source``.

        Blobs are never rewritten, so the link shares bytes safely (a copy that
        costs no I/O).  Raises ``OSError`` where the file system has no hard
        links; the caller then copies with :meth:`copy_from`.
        """
        os.link(self._store.path(source), self._tmp)

    def copy_from(self, file: io.FileIO, size: int) -> None:
        """Write the first ``size`` bytes of ``file`` (an open blob) to this writer."""
        fd = self._open()
        offset = 0
        while offset < size:
            data = os.pread(file.fileno(), min(READ_CHUNK, size - offset), offset)
            if not data:
                raise StorageUnavailable("a stored object is shorter than its index entry")
            self._md5.update(data)
            _write_all(fd, data)
            offset += len(data)

    def append_from(
        self,
        file: io.FileIO,
        offset: int,
        length: int,
        observe: Callable[[bytes], None] | None = None,
    ) -> None:
        """Append bytes ``[offset, offset + length)`` of ``file`` (an open blob)
        without adding them to this writer's MD5: for assembling parts whose
        digests are known.  The kernel copies them (``copy_file_range``) unless
        ``observe`` must see them, or the file system cannot."""
        fd = self._open()
        done = 0
        if observe is None:
            try:
                while done < length:
                    copied = os.copy_file_range(file.fileno(), fd, length - done, offset + done)
                    if copied == 0:
                        break
                    done += copied
            except OSError:
                os.lseek(fd, 0, os.SEEK_END)  # no kernel copy here: copy through memory
        while done < length:
            data = os.pread(file.fileno(), min(READ_CHUNK, length - done), offset + done)
            if not data:
                break
            if observe is not None:
                observe(data)
            _write_all(fd, data)
            done += len(data)
        if done != length:
            raise StorageUnavailable("a stored part is shorter than its index entry")

    def publish(self) -> None:
        """Make the temporary file durable and move it into ``blobs/`` as is,
        without a digest check (for copies of blobs already verified)."""
        fd = self._fd if self._fd is not None else os.open(self._tmp, os.O_RDONLY | os.O_CLOEXEC)
        self._fd = None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        target = self._store.path(self.name)
        os.rename(self._tmp, target)
        self._published = True
        fsync_dir(target.parent)

    def discard(self) -> None:
        """Remove whatever this writer created.  Never call while a thread uses it."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self._tmp.unlink()
        if self._published:
            self._store.unlink(self.name)


def consume_outcome(fut: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned future's outcome so asyncio does not log it."""
    if not fut.cancelled():
        fut.exception()


_Opened = TypeVar("_Opened", bound=tuple[Any, io.FileIO | None])


def close_opened(done: asyncio.Future[_Opened]) -> None:
    """For an abandoned job that returned ``(value, file)``: close the file."""
    if not done.cancelled() and done.exception() is None:
        file = done.result()[1]
        if file is not None:
            file.close()


class BlobChunks:
    """The bytes ``[start, end)`` of an open blob, read in :data:`READ_CHUNK`
    pieces on worker threads.  An async iterator with ``aclose``; closing
    it closes the file, also when it was never iterated."""

    def __init__(self, file: io.FileIO, start: int, end: int) -> None:
        self._file: io.FileIO | None = file
        self._pos = start
        self._end = end
        self._reading: asyncio.Future[bytes] | None = None

    def __aiter__(self) -> BlobChunks:
        return self

    async def __anext__(self) -> bytes:
        file = self._file
        if file is None or self._pos >= self._end:
            await self.aclose()
            raise StopAsyncIteration
        length = min(READ_CHUNK, self._end - self._pos)
        fut = asyncio.get_running_loop().run_in_executor(
            None, os.pread, file.fileno(), length, self._pos
        )
        self._reading = fut
        data = await asyncio.shield(fut)  # on cancellation, aclose waits for the thread
        self._reading = None
        if not data:
            await self.aclose()
            raise StorageUnavailable("a stored object is shorter than its index entry")
        self._pos += len(data)
        return data

    async def aclose(self) -> None:
        file, self._file = self._file, None
        if file is None:
            return
        reading, self._reading = self._reading, None
        if reading is not None and not reading.done():
            # A read thread still uses the descriptor: close it when that read ends.
            def _close(done: asyncio.Future[bytes]) -> None:
                consume_outcome(done)
                file.close()

            reading.add_done_callback(_close)
        else:
            file.close()
