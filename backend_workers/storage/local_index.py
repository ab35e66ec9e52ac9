"""The index of the embedded store: buckets and objects in one SQLite database.

Every method is synchronous and must run on the one thread that opened the
index (:class:`~backend_workers.storage.local.LocalStorage` gives it a
dedicated single-thread executor), so access is serialized and the event loop
never waits on SQLite.

Keys are stored as BLOBs of their UTF-8 bytes, so SQLite's ``ORDER BY key``
(memcmp order) is S3's listing order.  Object bytes live in blob files named
by the ``blob`` column, never by the key.  The database runs in WAL mode with
``synchronous=FULL``: a committed row survives a crash.

The schema is versioned (table ``schema_version``); :data:`_MIGRATIONS` holds
one SQL script per version, applied in order at open.  Later features (tags,
checksums, multipart uploads) add a version; a table that references blob
files must also be consulted by :meth:`Index.referenced_blobs`, or recovery
would delete its files.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec

from s3compat.errors import S3Error

__all__ = ["SCHEMA_VERSION", "Index", "IndexUnusable", "ObjectRow", "Page", "prefix_end"]


class IndexUnusable(Exception):
    """The index file cannot be used (newer schema, corrupt)."""


# One script per schema version; never edit a released entry, append a new one.
_MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: buckets and single-part objects.
    """
    CREATE TABLE buckets (
        name    TEXT PRIMARY KEY,
        created REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE objects (
        bucket        TEXT    NOT NULL,
        key           BLOB    NOT NULL,  -- UTF-8 bytes: memcmp order is S3 order
        blob          TEXT    NOT NULL,  -- file name under blobs/, never derived from the key
        size          INTEGER NOT NULL,
        etag          TEXT    NOT NULL,
        last_modified REAL    NOT NULL,  -- epoch seconds
        content_type  TEXT    NOT NULL,
        metadata      TEXT    NOT NULL,  -- JSON object: user metadata
        headers       TEXT    NOT NULL,  -- JSON object: stored standard headers
        PRIMARY KEY (bucket, key)
    ) WITHOUT ROWID;
    CREATE INDEX objects_by_blob ON objects (blob);
    """,
)
SCHEMA_VERSION: Final = len(_MIGRATIONS)

_json_encode = msgspec.json.Encoder().encode
_json_dict = msgspec.json.Decoder(dict[str, str]).decode


@dataclass(frozen=True, slots=True)
class ObjectRow:
    """One object as the index knows it."""

    blob: str
    size: int
    etag: str
    last_modified: float
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Page:
    """One listing page in index terms: UTF-8 bytes, not yet decoded.

    ``entries`` are ``(key, size, etag, last_modified)``; ``last`` is the last
    key or common prefix returned, in listing order.
    """

    entries: list[tuple[bytes, int, str, float]] = field(default_factory=list)
    common_prefixes: list[bytes] = field(default_factory=list)
    is_truncated: bool = False
    last: bytes | None = None


def prefix_end(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``.

    ``None`` when there is none (empty prefix, or only 0xFF bytes).
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes((stripped[-1] + 1,))


class Index:
    """The SQLite index.  Construct, use and close on one thread."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise IndexUnusable(f"cannot open the index {path}: {exc}") from exc
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed (and fsynced) on exit, rolled back on error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT max(version) FROM schema_version").fetchone()
        current = int(row[0] or 0)
        if current > SCHEMA_VERSION:
            raise IndexUnusable(
                f"the index has schema version {current}; this Sangraha knows up to "
                f"{SCHEMA_VERSION}"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            with self._tx() as db:
                for statement in _MIGRATIONS[version - 1].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))

    def close(self) -> None:
        self._conn.close()

    def ping(self) -> None:
        self._conn.execute("SELECT 1").fetchone()

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    # ------------------------------------------------------------ buckets

    def list_buckets(self) -> list[tuple[str, float]]:
        rows = self._conn.execute("SELECT name, created FROM buckets ORDER BY name")
        return [(str(name), float(created)) for name, created in rows]

    def bucket_exists(self, name: str) -> bool:
        return self._bucket_exists(self._conn, name)

    @staticmethod
    def _bucket_exists(db: sqlite3.Connection, name: str) -> bool:
        return db.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone() is not None

    def create_bucket(self, name: str) -> None:
        with self._tx() as db:
            if self._bucket_exists(db, name):
                raise S3Error("BucketAlreadyOwnedByYou", resource=name)
            db.execute("INSERT INTO buckets (name, created) VALUES (?, ?)", (name, time.time()))

    def delete_bucket(self, name: str) -> None:
        with self._tx() as db:
            if not self._bucket_exists(db, name):
                raise S3Error("NoSuchBucket", resource=name)
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise S3Error("BucketNotEmpty", resource=name)
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))

    # ------------------------------------------------------------ objects

    def get_object(self, bucket: str, key: bytes) -> ObjectRow:
        """The object's row; ``NoSuchBucket`` or ``NoSuchKey`` when absent."""
        row = self._conn.execute(
            "SELECT blob, size, etag, last_modified, content_type, metadata, headers "
            "FROM objects WHERE bucket = ? AND key = ?",
            (bucket, key),
        ).fetchone()
        if row is None:
            if not self.bucket_exists(bucket):
                raise S3Error("NoSuchBucket", resource=bucket)
            raise S3Error("NoSuchKey")
        blob, size, etag, last_modified, content_type, metadata, headers = row
        return ObjectRow(
            blob=blob,
            size=size,
            etag=etag,
            last_modified=last_modified,
            content_type=content_type,
            metadata=_json_dict(metadata),
            headers=_json_dict(headers),
        )

    def put_object(self, bucket: str, key: bytes, row: ObjectRow) -> str | None:
        """Insert or replace one object; the replaced object's blob name, if any."""
        (outcome,) = self.put_objects([(bucket, key, row)])
        if isinstance(outcome, S3Error):
            raise outcome
        return outcome

    def put_objects(self, items: list[tuple[str, bytes, ObjectRow]]) -> list[str | S3Error | None]:
        """Insert or replace objects, in order, in one transaction (group commit).

        Per item: the replaced object's blob name (None if the key was new), or
        ``NoSuchBucket`` for an item whose bucket does not exist (that item
        only is skipped).  ``row.last_modified`` is ignored: the commit time is
        recorded, so the last commit is also the latest modification.
        """
        outcomes: list[str | S3Error | None] = []
        now = time.time()
        with self._tx() as db:
            for bucket, key, row in items:
                if not self._bucket_exists(db, bucket):
                    outcomes.append(S3Error("NoSuchBucket", resource=bucket))
                    continue
                old = db.execute(
                    "SELECT blob FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
                ).fetchone()
                db.execute(
                    "INSERT OR REPLACE INTO objects (bucket, key, blob, size, etag, "
                    "last_modified, content_type, metadata, headers) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        bucket,
                        key,
                        row.blob,
                        row.size,
                        row.etag,
                        now,
                        row.content_type,
                        _json_encode(row.metadata).decode(),
                        _json_encode(row.headers).decode(),
                    ),
                )
                outcomes.append(str(old[0]) if old is not None else None)
        return outcomes

    def delete_object(self, bucket: str, key: bytes) -> str | None:
        """Remove the object; its blob name, or None if there was none."""
        with self._tx() as db:
            if not self._bucket_exists(db, bucket):
                raise S3Error("NoSuchBucket", resource=bucket)
            old = db.execute(
                "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob", (bucket, key)
            ).fetchone()
        return str(old[0]) if old is not None else None

    # ------------------------------------------------------------ listing

    def _scan(self, bucket: str, lo: bytes, hi: bytes | None) -> sqlite3.Cursor:
        """Rows with ``lo <= key < hi`` in key order, stepped lazily."""
        if hi is None:
            return self._conn.execute(
                "SELECT key, size, etag, last_modified FROM objects "
                "WHERE bucket = ? AND key >= ? ORDER BY key",
                (bucket, lo),
            )
        return self._conn.execute(
            "SELECT key, size, etag, last_modified FROM objects "
            "WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key",
            (bucket, lo, hi),
        )

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: bytes,
        delimiter: bytes,
        max_keys: int,
        after: bytes | None,
    ) -> Page:
        """One page of the S3 listing of ``bucket``.

        The listing is the key-ordered sequence of keys under ``prefix``, where
        every run of keys sharing a common prefix (up to and including the
        first ``delimiter`` after ``prefix``) is replaced by that prefix.  The
        page holds the items of that sequence sorting strictly after
        ``after``, at most ``max_keys`` of them, keys and prefixes together.
        So when ``after`` is a common prefix, or a key under one, that prefix
        is not repeated (MinIO does the same).

        The cost is one index seek per returned item, not a walk of the
        bucket: after a common prefix is emitted the scan restarts past every
        key under it.
        """
        page = Page()
        if not self._bucket_exists(self._conn, bucket):
            raise S3Error("NoSuchBucket", resource=bucket)
        if max_keys <= 0:
            return page
        hi = prefix_end(prefix)
        lo = prefix
        if after is not None and after + b"\x00" > lo:
            lo = after + b"\x00"  # the smallest key sorting after `after`
        count = 0
        while True:
            restart: bytes | None = None
            cursor = self._scan(bucket, lo, hi)
            try:
                for key, size, etag, last_modified in cursor:
                    group = None
                    if delimiter:
                        at = key.find(delimiter, len(prefix))
                        if at >= 0:
                            group = key[: at + len(delimiter)]
                    if group is None:
                        if count == max_keys:
                            page.is_truncated = True
                            return page
                        page.entries.append((key, size, etag, last_modified))
                        page.last = key
                        count += 1
                        continue
                    if after is None or group > after:
                        if count == max_keys:
                            page.is_truncated = True
                            return page
                        page.common_prefixes.append(group)
                        page.last = group
                        count += 1
                    restart = prefix_end(group)
                    break
            finally:
                cursor.close()
            if restart is None:
                return page
            lo = restart

    # ------------------------------------------------------------ recovery

    def referenced_blobs(self, name_prefix: str) -> set[str]:
        """The blob names starting with ``name_prefix`` that some row references."""
        rows = self._conn.execute(
            "SELECT blob FROM objects WHERE blob >= ? AND blob < ?",
            (name_prefix, name_prefix + "\U0010ffff"),
        )
        return {str(blob) for (blob,) in rows}

    def has_objects(self) -> bool:
        return self._conn.execute("SELECT 1 FROM objects LIMIT 1").fetchone() is not None

    def forget_blobs(self, blobs: set[str]) -> int:
        """Drop the rows whose blob files are gone; how many rows were dropped."""
        dropped = 0
        with self._tx() as db:
            for blob in blobs:
                dropped += db.execute("DELETE FROM objects WHERE blob = ?", (blob,)).rowcount
        return dropped
