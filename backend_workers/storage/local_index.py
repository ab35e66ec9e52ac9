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
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec

from s3compat.conditional import check_write
from s3compat.errors import S3Error

__all__ = [
    "SCHEMA_VERSION",
    "Index",
    "IndexUnusable",
    "ObjectRow",
    "Page",
    "PartRow",
    "UploadRow",
    "prefix_end",
]


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
    # 2: object tags and verified checksums (algorithm -> base64), JSON objects.
    """
    ALTER TABLE objects ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE objects ADD COLUMN checksums TEXT NOT NULL DEFAULT '{}';
    """,
    # 3: multipart uploads in progress and their parts (blob files, like objects).
    """
    CREATE TABLE uploads (
        upload_id          TEXT PRIMARY KEY,  -- time-ordered: ID order is creation order
        bucket             TEXT NOT NULL,
        key                BLOB NOT NULL,
        initiated          REAL NOT NULL,
        content_type       TEXT NOT NULL,
        metadata           TEXT NOT NULL,
        headers            TEXT NOT NULL,
        tags               TEXT NOT NULL,
        checksum_algorithm TEXT NOT NULL,
        checksum_type      TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);
    CREATE TABLE parts (
        upload_id     TEXT    NOT NULL,
        number        INTEGER NOT NULL,
        blob          TEXT    NOT NULL,
        size          INTEGER NOT NULL,
        etag          TEXT    NOT NULL,
        last_modified REAL    NOT NULL,
        checksums     TEXT    NOT NULL,
        PRIMARY KEY (upload_id, number)
    ) WITHOUT ROWID;
    CREATE INDEX parts_by_blob ON parts (blob);
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
    tags: dict[str, str] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UploadRow:
    """A multipart upload in progress; what the completed object will keep."""

    upload_id: str
    bucket: str
    key: bytes
    initiated: float
    content_type: str
    metadata: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    checksum_algorithm: str = ""
    checksum_type: str = ""


@dataclass(frozen=True, slots=True)
class PartRow:
    """One uploaded part: its blob file, size, ETag (MD5) and checksums."""

    number: int
    blob: str
    size: int
    etag: str
    last_modified: float
    checksums: dict[str, str] = field(default_factory=dict)


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

    def delete_bucket(self, name: str) -> list[str]:
        """Remove an empty bucket.  Uploads in progress go with it, as in S3:
        the blob names of their parts, for the caller to unlink."""
        with self._tx() as db:
            if not self._bucket_exists(db, name):
                raise S3Error("NoSuchBucket", resource=name)
            if db.execute("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)).fetchone():
                raise S3Error("BucketNotEmpty", resource=name)
            db.execute("DELETE FROM buckets WHERE name = ?", (name,))
            return self._drop_uploads(db, name)

    # ------------------------------------------------------------ objects

    def get_object(self, bucket: str, key: bytes) -> ObjectRow:
        """The object's row; ``NoSuchBucket`` or ``NoSuchKey`` when absent."""
        row = self._conn.execute(
            "SELECT blob, size, etag, last_modified, content_type, metadata, headers, tags, "
            "checksums FROM objects WHERE bucket = ? AND key = ?",
            (bucket, key),
        ).fetchone()
        if row is None:
            if not self.bucket_exists(bucket):
                raise S3Error("NoSuchBucket", resource=bucket)
            raise S3Error("NoSuchKey")
        blob, size, etag, last_modified, content_type, metadata, headers, tags, checksums = row
        return ObjectRow(
            blob=blob,
            size=size,
            etag=etag,
            last_modified=last_modified,
            content_type=content_type,
            metadata=_json_dict(metadata),
            headers=_json_dict(headers),
            tags=_json_dict(tags),
            checksums=_json_dict(checksums),
        )

    @staticmethod
    def _current_etag(db: sqlite3.Connection, bucket: str, key: bytes) -> str | None:
        row = db.execute(
            "SELECT etag FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        return str(row[0]) if row is not None else None

    def check_write(self, bucket: str, key: bytes, conditions: Mapping[str, str]) -> None:
        """Raise as a conditional write of ``key`` would fail now (an early check;
        :meth:`put_objects` checks again atomically with the write)."""
        if not self._bucket_exists(self._conn, bucket):
            raise S3Error("NoSuchBucket", resource=bucket)
        check_write(conditions, current_etag=self._current_etag(self._conn, bucket, key))

    def put_object(self, bucket: str, key: bytes, row: ObjectRow) -> str | None:
        """Insert or replace one object; the replaced object's blob name, if any."""
        (outcome,) = self.put_objects([(bucket, key, row)])
        if isinstance(outcome, S3Error):
            raise outcome
        return outcome

    def put_objects(
        self,
        items: list[tuple[str, bytes, ObjectRow]],
        conditions: Sequence[Mapping[str, str] | None] | None = None,
        *,
        now: float | None = None,
    ) -> list[str | S3Error | None]:
        """Insert or replace objects, in order, in one transaction (group commit).

        Per item: the replaced object's blob name (None if the key was new), or
        the S3 error that skipped that item only: ``NoSuchBucket`` when its
        bucket does not exist, or the failure of its conditional-write headers
        (``conditions[i]``, evaluated after the items before it).
        ``row.last_modified`` is ignored: the commit time (``now``, default the
        current time) is recorded, so the last commit is also the latest
        modification.
        """
        outcomes: list[str | S3Error | None] = []
        now = time.time() if now is None else now
        with self._tx() as db:
            for i, (bucket, key, row) in enumerate(items):
                if not self._bucket_exists(db, bucket):
                    outcomes.append(S3Error("NoSuchBucket", resource=bucket))
                    continue
                wanted = conditions[i] if conditions is not None else None
                if wanted:
                    try:
                        check_write(wanted, current_etag=self._current_etag(db, bucket, key))
                    except S3Error as exc:
                        outcomes.append(exc)
                        continue
                outcomes.append(_replace_object(db, bucket, key, row, now))
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

    def delete_objects(self, bucket: str, keys: Sequence[bytes]) -> list[str]:
        """Remove several objects in one transaction; the blob names they used."""
        blobs: list[str] = []
        with self._tx() as db:
            if not self._bucket_exists(db, bucket):
                raise S3Error("NoSuchBucket", resource=bucket)
            for key in keys:
                old = db.execute(
                    "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob",
                    (bucket, key),
                ).fetchone()
                if old is not None:
                    blobs.append(str(old[0]))
        return blobs

    def get_tags(self, bucket: str, key: bytes) -> dict[str, str]:
        """The object's tag set; ``NoSuchBucket`` or ``NoSuchKey`` when absent."""
        row = self._conn.execute(
            "SELECT tags FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
        ).fetchone()
        if row is None:
            if not self.bucket_exists(bucket):
                raise S3Error("NoSuchBucket", resource=bucket)
            raise S3Error("NoSuchKey")
        return _json_dict(row[0])

    def set_tags(self, bucket: str, key: bytes, tags: Mapping[str, str]) -> None:
        """Replace the object's tag set (its data, ETag and date are unchanged)."""
        with self._tx() as db:
            changed = db.execute(
                "UPDATE objects SET tags = ? WHERE bucket = ? AND key = ?",
                (_json_encode(dict(tags)).decode(), bucket, key),
            ).rowcount
            if not changed:
                if not self._bucket_exists(db, bucket):
                    raise S3Error("NoSuchBucket", resource=bucket)
                raise S3Error("NoSuchKey")

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
        """The blob names starting with ``name_prefix`` that some row (object or
        part of an upload) references."""
        rows = self._conn.execute(
            "SELECT blob FROM objects WHERE blob >= ? AND blob < ? "
            "UNION ALL SELECT blob FROM parts WHERE blob >= ? AND blob < ?",
            (name_prefix, name_prefix + "\U0010ffff") * 2,
        )
        return {str(blob) for (blob,) in rows}

    def has_objects(self) -> bool:
        """Whether any row references a blob (an object or an uploaded part)."""
        return (
            self._conn.execute(
                "SELECT 1 FROM objects UNION ALL SELECT 1 FROM parts LIMIT 1"
            ).fetchone()
            is not None
        )

    def forget_blobs(self, blobs: set[str]) -> int:
        """Drop the rows (objects, parts) whose blob files are gone; how many."""
        dropped = 0
        with self._tx() as db:
            for blob in blobs:
                dropped += db.execute("DELETE FROM objects WHERE blob = ?", (blob,)).rowcount
                dropped += db.execute("DELETE FROM parts WHERE blob = ?", (blob,)).rowcount
        return dropped

    # ------------------------------------------------------------ multipart uploads

    @staticmethod
    def _drop_uploads(db: sqlite3.Connection, bucket: str) -> list[str]:
        blobs = [
            str(blob)
            for (blob,) in db.execute(
                "DELETE FROM parts WHERE upload_id IN "
                "(SELECT upload_id FROM uploads WHERE bucket = ?) RETURNING blob",
                (bucket,),
            ).fetchall()
        ]
        db.execute("DELETE FROM uploads WHERE bucket = ?", (bucket,))
        return blobs

    def create_upload(self, upload: UploadRow) -> None:
        with self._tx() as db:
            if not self._bucket_exists(db, upload.bucket):
                raise S3Error("NoSuchBucket", resource=upload.bucket)
            db.execute(
                "INSERT INTO uploads (upload_id, bucket, key, initiated, content_type, metadata, "
                "headers, tags, checksum_algorithm, checksum_type) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upload.upload_id,
                    upload.bucket,
                    upload.key,
                    upload.initiated,
                    upload.content_type,
                    _json_encode(upload.metadata).decode(),
                    _json_encode(upload.headers).decode(),
                    _json_encode(upload.tags).decode(),
                    upload.checksum_algorithm,
                    upload.checksum_type,
                ),
            )

    def _upload(self, db: sqlite3.Connection, bucket: str, key: bytes, upload_id: str) -> UploadRow:
        """The upload ``upload_id`` of ``bucket/key``; ``NoSuchUpload`` (or
        ``NoSuchBucket``) when there is none."""
        row = db.execute(
            "SELECT initiated, content_type, metadata, headers, tags, checksum_algorithm, "
            "checksum_type FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
            (upload_id, bucket, key),
        ).fetchone()
        if row is None:
            if not self._bucket_exists(db, bucket):
                raise S3Error("NoSuchBucket", resource=bucket)
            raise S3Error("NoSuchUpload")
        initiated, content_type, metadata, headers, tags, algorithm, checksum_type = row
        return UploadRow(
            upload_id=upload_id,
            bucket=bucket,
            key=key,
            initiated=initiated,
            content_type=content_type,
            metadata=_json_dict(metadata),
            headers=_json_dict(headers),
            tags=_json_dict(tags),
            checksum_algorithm=algorithm,
            checksum_type=checksum_type,
        )

    def get_upload(self, bucket: str, key: bytes, upload_id: str) -> UploadRow:
        return self._upload(self._conn, bucket, key, upload_id)

    def put_part(
        self, bucket: str, key: bytes, upload_id: str, part: PartRow, now: float
    ) -> str | None:
        """Record an uploaded part (replacing a part of that number) if the upload
        still exists; the replaced part's blob name, if any.  ``part.last_modified``
        is ignored: ``now`` is recorded."""
        with self._tx() as db:
            self._upload(db, bucket, key, upload_id)
            old = db.execute(
                "SELECT blob FROM parts WHERE upload_id = ? AND number = ?",
                (upload_id, part.number),
            ).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO parts (upload_id, number, blob, size, etag, "
                "last_modified, checksums) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload_id,
                    part.number,
                    part.blob,
                    part.size,
                    part.etag,
                    now,
                    _json_encode(part.checksums).decode(),
                ),
            )
        return str(old[0]) if old is not None else None

    def list_parts(self, upload_id: str, *, after: int, limit: int) -> list[PartRow]:
        """At most ``limit`` parts numbered above ``after``, ascending."""
        rows = self._conn.execute(
            "SELECT number, blob, size, etag, last_modified, checksums FROM parts "
            "WHERE upload_id = ? AND number > ? ORDER BY number LIMIT ?",
            (upload_id, after, limit),
        )
        return [
            PartRow(
                number=number,
                blob=blob,
                size=size,
                etag=etag,
                last_modified=last_modified,
                checksums=_json_dict(checksums),
            )
            for number, blob, size, etag, last_modified, checksums in rows
        ]

    def complete_upload(
        self,
        upload: UploadRow,
        row: ObjectRow,
        conditions: Mapping[str, str] | None,
        now: float,
    ) -> tuple[str | None, list[str]]:
        """In one transaction: if the upload still exists and the conditional-write
        headers hold, point the key at the assembled blob ``row.blob`` and end
        the upload.  The replaced object's blob name (if any) and the blob names
        of the upload's parts, for the caller to unlink."""
        bucket, key = upload.bucket, upload.key
        with self._tx() as db:
            self._upload(db, bucket, key, upload.upload_id)
            if conditions:
                check_write(conditions, current_etag=self._current_etag(db, bucket, key))
            old = _replace_object(db, bucket, key, row, now)
            parts = self._end_upload(db, upload.upload_id)
        return old, parts

    @staticmethod
    def _end_upload(db: sqlite3.Connection, upload_id: str) -> list[str]:
        blobs = [
            str(blob)
            for (blob,) in db.execute(
                "DELETE FROM parts WHERE upload_id = ? RETURNING blob", (upload_id,)
            ).fetchall()
        ]
        db.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        return blobs

    def abort_upload(self, bucket: str, key: bytes, upload_id: str) -> list[str]:
        """End the upload; the blob names of its parts, for the caller to unlink."""
        with self._tx() as db:
            self._upload(db, bucket, key, upload_id)
            return self._end_upload(db, upload_id)

    def uploads(
        self, bucket: str, *, start: bytes
    ) -> Generator[tuple[bytes, str, float], None, None]:
        """``(key, upload_id, initiated)`` of the bucket's uploads with key >=
        ``start``, in (key, upload ID) order, read lazily; ``NoSuchBucket``."""
        if not self._bucket_exists(self._conn, bucket):
            raise S3Error("NoSuchBucket", resource=bucket)
        cursor = self._conn.execute(
            "SELECT key, upload_id, initiated FROM uploads WHERE bucket = ? AND key >= ? "
            "ORDER BY key, upload_id",
            (bucket, start),
        )
        try:
            for key, upload_id, initiated in cursor:
                yield bytes(key), str(upload_id), float(initiated)
        finally:
            cursor.close()


def _replace_object(
    db: sqlite3.Connection, bucket: str, key: bytes, row: ObjectRow, now: float
) -> str | None:
    """Write ``row`` as the object ``bucket/key``; the blob it replaced, if any."""
    old = db.execute(
        "SELECT blob FROM objects WHERE bucket = ? AND key = ?", (bucket, key)
    ).fetchone()
    db.execute(
        "INSERT OR REPLACE INTO objects (bucket, key, blob, size, etag, "
        "last_modified, content_type, metadata, headers, tags, checksums) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            _json_encode(row.tags).decode(),
            _json_encode(row.checksums).decode(),
        ),
    )
    return str(old[0]) if old is not None else None
