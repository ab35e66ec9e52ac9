"""LocalStorage: every operation, its S3 errors, ranges, conditions, safety of keys,
concurrent overwrites, cancellation and start-up recovery."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backend_workers.storage.base import StorageUnavailable
from backend_workers.storage.local import LocalStorage
from backend_workers.storage.local_index import SCHEMA_VERSION
from s3compat.errors import S3Error
from s3compat.timefmt import http_date
from sangraha.contract import (
    CreateBucket,
    DeleteBucket,
    DeleteObject,
    GetObject,
    HeadBucket,
    HeadObject,
    ListBuckets,
    ListObjects,
    PutObject,
)
from tests.unit.backend_workers.conftest import BUCKET, body_of, get, md5, put, read_all

MiB = 1024 * 1024
_BLOB_NAME = re.compile(r"[0-9a-f]{32}")


def blob_files(store: LocalStorage) -> list[Path]:
    return sorted(p for p in (store.data_dir / "blobs").rglob("*") if p.is_file())


def tmp_files(store: LocalStorage) -> list[Path]:
    return sorted((store.data_dir / "tmp").iterdir())


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def error_of(awaitable: object) -> S3Error:
    with pytest.raises(S3Error) as info:
        await awaitable  # type: ignore[misc]
    return info.value


# ------------------------------------------------------------------ lifecycle


async def test_start_creates_the_layout_and_is_ready(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "new" / "data")
    assert not await store.ready()
    await store.start()
    try:
        assert await store.ready()
        root = tmp_path / "new" / "data"
        assert (root / "index.sqlite3").is_file()
        assert (root / "tmp").is_dir()
        assert len(list((root / "blobs").iterdir())) == 256
    finally:
        await store.close()
    assert not await store.ready()
    await store.close()  # idempotent


async def test_closed_storage_answers_unavailable(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    with pytest.raises(StorageUnavailable):
        await store.list_buckets(ListBuckets())
    await store.start()
    await store.close()
    with pytest.raises(StorageUnavailable):
        await store.head_bucket(HeadBucket(bucket=BUCKET))


async def test_a_second_storage_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    first = LocalStorage(tmp_path)
    await first.start()
    try:
        with pytest.raises(StorageUnavailable, match="in use"):
            await LocalStorage(tmp_path).start()
    finally:
        await first.close()
    second = LocalStorage(tmp_path)
    await second.start()
    await second.close()


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.create_bucket(CreateBucket(bucket="keep"))
    await put(store, "k", b"persisted", bucket="keep", metadata={"a": "1"})
    await store.close()
    store = LocalStorage(tmp_path)
    await store.start()
    try:
        assert await get(store, "k", bucket="keep") == b"persisted"
        meta = await store.head_object(HeadObject(bucket="keep", key="k"))
        assert meta.metadata == {"a": "1"}
    finally:
        await store.close()


async def test_index_records_its_schema_version(storage: LocalStorage) -> None:
    db = sqlite3.connect(storage.data_dir / "index.sqlite3")
    try:
        assert db.execute("SELECT max(version) FROM schema_version").fetchone() == (
            SCHEMA_VERSION,
        )
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        db.close()


async def test_an_index_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.close()
    db = sqlite3.connect(tmp_path / "index.sqlite3")
    db.execute("INSERT INTO schema_version (version) VALUES (99)")
    db.commit()
    db.close()
    with pytest.raises(StorageUnavailable, match="schema version 99"):
        await LocalStorage(tmp_path).start()
    # The failed start released the directory lock.
    db = sqlite3.connect(tmp_path / "index.sqlite3")
    db.execute("DELETE FROM schema_version WHERE version = 99")
    db.commit()
    db.close()
    store = LocalStorage(tmp_path)
    await store.start()
    await store.close()


# ------------------------------------------------------------------ buckets


async def test_list_buckets_is_sorted_by_name(storage: LocalStorage) -> None:
    for name in ("zeta", "alpha", "mid-1"):
        await storage.create_bucket(CreateBucket(bucket=name))
    listed = await storage.list_buckets(ListBuckets())
    assert [b.name for b in listed.buckets] == ["alpha", BUCKET, "mid-1", "zeta"]
    assert all(abs(b.created - time.time()) < 60 for b in listed.buckets)


async def test_create_existing_bucket_is_already_owned_by_you(storage: LocalStorage) -> None:
    err = await error_of(storage.create_bucket(CreateBucket(bucket=BUCKET)))
    assert err.code == "BucketAlreadyOwnedByYou"


async def test_head_bucket(storage: LocalStorage) -> None:
    await storage.head_bucket(HeadBucket(bucket=BUCKET))
    err = await error_of(storage.head_bucket(HeadBucket(bucket="missing")))
    assert err.code == "NoSuchBucket"


async def test_delete_bucket_missing_non_empty_and_empty(storage: LocalStorage) -> None:
    err = await error_of(storage.delete_bucket(DeleteBucket(bucket="missing")))
    assert err.code == "NoSuchBucket"
    await put(storage, "x", b"1")
    err = await error_of(storage.delete_bucket(DeleteBucket(bucket=BUCKET)))
    assert err.code == "BucketNotEmpty"
    await storage.delete_object(DeleteObject(bucket=BUCKET, key="x"))
    await storage.delete_bucket(DeleteBucket(bucket=BUCKET))
    assert (await storage.list_buckets(ListBuckets())).buckets == []
    err = await error_of(storage.head_bucket(HeadBucket(bucket=BUCKET)))
    assert err.code == "NoSuchBucket"


# ------------------------------------------------------------------ put and get


async def test_put_then_get_returns_bytes_and_metadata(storage: LocalStorage) -> None:
    data = b"hello, sangraha"
    before = time.time()
    etag = await put(
        storage,
        "greeting.txt",
        data,
        content_type="text/plain",
        metadata={"colour": "blue"},
        headers={"cache-control": "no-cache", "content-language": "en"},
    )
    assert etag == md5(data)
    opened = await storage.get_object(GetObject(bucket=BUCKET, key="greeting.txt"))
    meta = opened.meta
    assert await read_all(opened) == data
    assert (meta.etag, meta.size, meta.content_type) == (etag, len(data), "text/plain")
    assert meta.metadata == {"colour": "blue"}
    assert meta.headers == {"cache-control": "no-cache", "content-language": "en"}
    assert before - 1 <= meta.last_modified <= time.time() + 1
    assert meta.range is None
    head = await storage.head_object(HeadObject(bucket=BUCKET, key="greeting.txt"))
    assert head == meta


async def test_put_default_content_type(storage: LocalStorage) -> None:
    await put(storage, "k", b"x")
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="k"))
    assert meta.content_type == "binary/octet-stream"


async def test_empty_object(storage: LocalStorage) -> None:
    etag = await put(storage, "empty", b"")
    assert etag == md5(b"")
    assert await get(storage, "empty") == b""
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="empty"))
    assert meta.size == 0


async def test_large_body_is_streamed_to_disk_and_read_in_mebibyte_chunks(
    storage: LocalStorage,
) -> None:
    piece = 64 * 1024
    total = 5 * MiB + 123
    data = os.urandom(total)
    seen_on_disk: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for offset in range(0, total, piece):
            if offset == 3 * MiB:
                # Earlier chunks are already in the temporary file, not held in memory.
                seen_on_disk.extend(p.stat().st_size for p in tmp_files(storage))
            yield data[offset : offset + piece]

    written = await storage.put_object(
        PutObject(bucket=BUCKET, key="big", size=total, md5=md5(data)), body()
    )
    assert written.etag == md5(data)
    assert seen_on_disk and seen_on_disk[0] >= 2 * MiB
    opened = await storage.get_object(GetObject(bucket=BUCKET, key="big"))
    chunks = [c async for c in opened.chunks]
    await opened.close()
    assert b"".join(chunks) == data
    assert max(map(len, chunks)) == MiB
    assert tmp_files(storage) == []


async def test_put_into_missing_bucket_is_no_such_bucket(storage: LocalStorage) -> None:
    err = await error_of(put(storage, "k", b"data", bucket="missing"))
    assert err.code == "NoSuchBucket"
    assert blob_files(storage) == [] and tmp_files(storage) == []


async def test_put_with_wrong_md5_is_bad_digest_and_stores_nothing(storage: LocalStorage) -> None:
    req = PutObject(bucket=BUCKET, key="k", size=4, md5=md5(b"else"))
    err = await error_of(storage.put_object(req, body_of(b"da", b"ta")))
    assert err.code == "BadDigest"
    err = await error_of(storage.head_object(HeadObject(bucket=BUCKET, key="k")))
    assert err.code == "NoSuchKey"
    assert blob_files(storage) == [] and tmp_files(storage) == []


@pytest.mark.parametrize("chunks", [[b"abc"], [b"abcde", b"f"], []])
async def test_put_with_wrong_length_is_incomplete_body(
    storage: LocalStorage, chunks: list[bytes]
) -> None:
    req = PutObject(bucket=BUCKET, key="k", size=4, md5=md5(b"abcd"))
    err = await error_of(storage.put_object(req, body_of(*chunks)))
    assert err.code == "IncompleteBody"
    assert blob_files(storage) == [] and tmp_files(storage) == []


async def test_failed_overwrite_keeps_the_old_object(storage: LocalStorage) -> None:
    await put(storage, "k", b"old")
    req = PutObject(bucket=BUCKET, key="k", size=3, md5=md5(b"new"))
    err = await error_of(storage.put_object(req, body_of(b"bad")))
    assert err.code == "BadDigest"
    assert await get(storage, "k") == b"old"


async def test_body_that_raises_stores_nothing(storage: LocalStorage) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * MiB
        yield b"y" * MiB
        raise ConnectionResetError("client went away")

    req = PutObject(bucket=BUCKET, key="k", size=3 * MiB, md5="0" * 32)
    with pytest.raises(ConnectionResetError):
        await storage.put_object(req, broken())
    assert blob_files(storage) == [] and tmp_files(storage) == []


async def test_overwrite_replaces_content_and_removes_the_old_blob(storage: LocalStorage) -> None:
    await put(storage, "k", b"first", content_type="text/a", metadata={"v": "1"})
    first = blob_files(storage)
    await put(storage, "k", b"second!", content_type="text/b")
    assert await get(storage, "k") == b"second!"
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="k"))
    assert (meta.size, meta.content_type, meta.metadata) == (7, "text/b", {})
    assert len(blob_files(storage)) == 1 and blob_files(storage) != first


async def test_get_missing_key_and_bucket(storage: LocalStorage) -> None:
    err = await error_of(storage.get_object(GetObject(bucket=BUCKET, key="nope")))
    assert err.code == "NoSuchKey"
    err = await error_of(storage.get_object(GetObject(bucket="missing", key="nope")))
    assert err.code == "NoSuchBucket"
    err = await error_of(storage.head_object(HeadObject(bucket=BUCKET, key="nope")))
    assert err.code == "NoSuchKey"
    err = await error_of(storage.head_object(HeadObject(bucket="missing", key="nope")))
    assert err.code == "NoSuchBucket"


@pytest.mark.parametrize(
    ("key", "code"),
    [("", "InvalidArgument"), ("\ud800", "InvalidURI"), ("k" * 1025, "KeyTooLongError")],
)
async def test_unusable_keys_are_refused(storage: LocalStorage, key: str, code: str) -> None:
    assert (await error_of(put(storage, key, b"x"))).code == code
    assert (await error_of(storage.get_object(GetObject(bucket=BUCKET, key=key)))).code == code
    assert (
        await error_of(storage.delete_object(DeleteObject(bucket=BUCKET, key=key)))
    ).code == code


# ------------------------------------------------------------------ reads during writes


async def test_an_open_get_keeps_reading_the_old_bytes(storage: LocalStorage) -> None:
    old = os.urandom(3 * MiB)
    await put(storage, "k", old)
    opened = await storage.get_object(GetObject(bucket=BUCKET, key="k"))
    first = await anext(opened.chunks)
    await put(storage, "k", b"new content")
    await storage.delete_object(DeleteObject(bucket=BUCKET, key="k"))
    rest = [c async for c in opened.chunks]
    await opened.close()
    assert first + b"".join(rest) == old
    assert blob_files(storage) == []


async def test_an_opened_but_unread_get_can_outlive_a_delete(storage: LocalStorage) -> None:
    await put(storage, "k", b"before")
    opened = await storage.get_object(GetObject(bucket=BUCKET, key="k"))
    await storage.delete_object(DeleteObject(bucket=BUCKET, key="k"))
    assert await read_all(opened) == b"before"


async def test_closing_an_unread_get_releases_the_file(storage: LocalStorage) -> None:
    await put(storage, "k", b"x" * 100)
    baseline = open_fds()
    opened = [await storage.get_object(GetObject(bucket=BUCKET, key="k")) for _ in range(5)]
    assert open_fds() == baseline + 5
    for o in opened:
        await o.close()
    assert open_fds() == baseline


async def test_concurrent_overwrites_never_mix_content(storage: LocalStorage) -> None:
    versions = [bytes([i]) * (300_000 + i * 7919) for i in range(12)]
    etags = {md5(v) for v in versions}
    await put(storage, "hot", versions[0])

    async def writer(data: bytes) -> None:
        async def slow() -> AsyncIterator[bytes]:
            for offset in range(0, len(data), 50_000):
                await asyncio.sleep(0)
                yield data[offset : offset + 50_000]

        await storage.put_object(
            PutObject(bucket=BUCKET, key="hot", size=len(data), md5=md5(data)), slow()
        )

    async def reader() -> None:
        for _ in range(10):
            opened = await storage.get_object(GetObject(bucket=BUCKET, key="hot"))
            data = await read_all(opened)
            assert data in versions
            assert md5(data) == opened.meta.etag and len(data) == opened.meta.size
            await asyncio.sleep(0)

    await asyncio.gather(*(writer(v) for v in versions), *(reader() for _ in range(4)))
    final = await get(storage, "hot")
    assert final in versions
    assert (await storage.head_object(HeadObject(bucket=BUCKET, key="hot"))).etag in etags
    assert len(blob_files(storage)) == 1 and tmp_files(storage) == []


# ------------------------------------------------------------------ ranges


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=90-1000", (90, 99)),
        ("bytes=99-99", (99, 99)),
        ("bytes=5-1", None),  # invalid: ignored, whole object
        ("items=0-1", None),
        ("bytes=0-1,5-6", None),
    ],
)
async def test_get_and_head_apply_the_range(
    storage: LocalStorage, header: str, expected: tuple[int, int] | None
) -> None:
    data = bytes(range(100))
    await put(storage, "r", data)
    opened = await storage.get_object(GetObject(bucket=BUCKET, key="r", range=header))
    body = await read_all(opened)
    assert opened.meta.range == expected
    assert opened.meta.size == 100
    first, last = expected or (0, 99)
    assert body == data[first : last + 1]
    head = await storage.head_object(HeadObject(bucket=BUCKET, key="r", range=header))
    assert head.range == expected


async def test_range_spanning_read_chunks(storage: LocalStorage) -> None:
    data = os.urandom(3 * MiB)
    await put(storage, "r", data)
    first, last = MiB - 10, 2 * MiB + 10
    assert await get(storage, "r", range=f"bytes={first}-{last}") == data[first : last + 1]


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
async def test_unsatisfiable_range_is_invalid_range(storage: LocalStorage, header: str) -> None:
    await put(storage, "r", bytes(100))
    baseline = open_fds()
    err = await error_of(storage.get_object(GetObject(bucket=BUCKET, key="r", range=header)))
    assert err.code == "InvalidRange"
    assert err.headers == {"Content-Range": "bytes */100"}
    assert open_fds() == baseline
    err = await error_of(storage.head_object(HeadObject(bucket=BUCKET, key="r", range=header)))
    assert err.code == "InvalidRange"


async def test_range_on_an_empty_object_is_invalid_range(storage: LocalStorage) -> None:
    await put(storage, "e", b"")
    err = await error_of(storage.get_object(GetObject(bucket=BUCKET, key="e", range="bytes=0-0")))
    assert err.code == "InvalidRange"


# ------------------------------------------------------------------ conditions


def _past() -> str:
    return http_date(time.time() - 3600)


def _future() -> str:
    return http_date(time.time() + 3600)


@pytest.mark.parametrize(
    ("conditions", "code"),
    [
        ({"if-match": "ETAG"}, None),
        ({"if-match": '"ETAG"'}, None),
        ({"if-match": "*"}, None),
        ({"if-match": "other"}, "PreconditionFailed"),
        ({"if-none-match": "ETAG"}, "NotModified"),
        ({"if-none-match": "*"}, "NotModified"),
        ({"if-none-match": "other"}, None),
        ({"if-modified-since": "PAST"}, None),
        ({"if-modified-since": "FUTURE"}, "NotModified"),
        ({"if-unmodified-since": "FUTURE"}, None),
        ({"if-unmodified-since": "PAST"}, "PreconditionFailed"),
        ({"if-match": "ETAG", "if-unmodified-since": "PAST"}, None),
        ({"if-none-match": "other", "if-modified-since": "FUTURE"}, None),
        ({"if-match": "other", "if-none-match": "ETAG"}, "PreconditionFailed"),
    ],
)
async def test_read_conditions(
    storage: LocalStorage, conditions: dict[str, str], code: str | None
) -> None:
    etag = await put(storage, "c", b"conditional")
    values = {"ETAG": etag, "PAST": _past(), "FUTURE": _future()}
    resolved = {
        name: value.replace("ETAG", etag) if "ETAG" in value else values.get(value, value)
        for name, value in conditions.items()
    }
    baseline = open_fds()
    get_req = GetObject(bucket=BUCKET, key="c", conditions=resolved)
    head_req = HeadObject(bucket=BUCKET, key="c", conditions=resolved)
    if code is None:
        assert await get(storage, "c", conditions=resolved) == b"conditional"
        await storage.head_object(head_req)
    else:
        assert (await error_of(storage.get_object(get_req))).code == code
        assert (await error_of(storage.head_object(head_req))).code == code
    assert open_fds() == baseline


async def test_not_modified_carries_etag_and_last_modified(storage: LocalStorage) -> None:
    etag = await put(storage, "c", b"x")
    err = await error_of(
        storage.get_object(GetObject(bucket=BUCKET, key="c", conditions={"if-none-match": etag}))
    )
    assert err.headers["ETag"] == f'"{etag}"'
    assert "Last-Modified" in err.headers


async def test_conditions_are_checked_before_the_range(storage: LocalStorage) -> None:
    await put(storage, "c", bytes(10))
    req = GetObject(bucket=BUCKET, key="c", range="bytes=50-", conditions={"if-match": "other"})
    assert (await error_of(storage.get_object(req))).code == "PreconditionFailed"


# ------------------------------------------------------------------ delete


async def test_delete_object(storage: LocalStorage) -> None:
    await put(storage, "k", b"x")
    await storage.delete_object(DeleteObject(bucket=BUCKET, key="k"))
    err = await error_of(storage.head_object(HeadObject(bucket=BUCKET, key="k")))
    assert err.code == "NoSuchKey"
    assert blob_files(storage) == []


async def test_delete_missing_key_succeeds_missing_bucket_does_not(storage: LocalStorage) -> None:
    await storage.delete_object(DeleteObject(bucket=BUCKET, key="never"))
    err = await error_of(storage.delete_object(DeleteObject(bucket="missing", key="k")))
    assert err.code == "NoSuchBucket"


# ------------------------------------------------------------------ hostile keys


HOSTILE_KEYS = [
    "../../etc/passwd",
    "../outside",
    "/abs/path",
    "/",
    "..",
    ".",
    "a/../../b",
    "a\x00b",
    "\x00",
    "..\\..\\windows",
    "a//b",
    "tmp/x",
    "blobs/00/" + "0" * 32,
    "index.sqlite3",
    "LOCK",
    "~/home",
    "$(rm -rf)",
    "ключ/🔑",
]


async def test_hostile_keys_are_plain_keys_and_write_nothing_outside(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = LocalStorage(root)
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    try:
        outside_before = sorted(p for p in tmp_path.rglob("*") if root not in p.parents)
        for i, key in enumerate(HOSTILE_KEYS):
            await put(store, key, f"value {i}".encode())
        for i, key in enumerate(HOSTILE_KEYS):
            assert await get(store, key) == f"value {i}".encode()
        listing = await store.list_objects(ListObjects(bucket=BUCKET))
        assert [e.key for e in listing.entries] == sorted(HOSTILE_KEYS, key=str.encode)
        outside_after = sorted(p for p in tmp_path.rglob("*") if root not in p.parents)
        assert outside_after == outside_before
        for path in root.rglob("*"):
            rel = path.relative_to(root).parts
            assert rel[0] in {
                "LOCK",
                "index.sqlite3",
                "index.sqlite3-wal",
                "index.sqlite3-shm",
                "tmp",
                "blobs",
            }, path
            if rel[0] == "blobs" and len(rel) == 3:
                assert _BLOB_NAME.fullmatch(rel[2]) and rel[2][:2] == rel[1]
        for key in HOSTILE_KEYS:
            await store.delete_object(DeleteObject(bucket=BUCKET, key=key))
        assert blob_files(store) == []
    finally:
        await store.close()


# ------------------------------------------------------------------ cancellation


async def test_cancelled_put_leaves_nothing_behind(storage: LocalStorage) -> None:
    started = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield b"a" * (2 * MiB)
        started.set()
        await asyncio.Event().wait()
        yield b"never"

    req = PutObject(bucket=BUCKET, key="k", size=4 * MiB, md5="0" * 32)
    task = asyncio.create_task(storage.put_object(req, stalled()))
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if not tmp_files(storage):
            break
        await asyncio.sleep(0.01)
    assert tmp_files(storage) == [] and blob_files(storage) == []
    assert (await error_of(storage.head_object(HeadObject(bucket=BUCKET, key="k")))).code == (
        "NoSuchKey"
    )


async def test_put_cancelled_at_any_moment_leaves_old_or_new(storage: LocalStorage) -> None:
    """Cancel a put at moments spread over its whole run (streaming, publishing,
    committing): the key then holds the old or the new bytes, and once the
    threads settle no file is left unaccounted for."""
    old, new = b"old" * 1000, os.urandom(3 * MiB + 5)
    outcomes = set()
    delays = [0.0, 0.0, 0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.012, 0.02, 0.03]
    for delay in [*delays, 0.05, 0.1, 0.5]:
        await put(storage, "k", old)
        task = asyncio.create_task(
            put(storage, "k", [new[:MiB], new[MiB : 2 * MiB], new[2 * MiB :]])
        )
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Abandoned threads finish and clean up after themselves.
        for _ in range(500):
            if len(blob_files(storage)) == 1 and not tmp_files(storage):
                break
            await asyncio.sleep(0.01)
        data = await get(storage, "k")
        assert data in (old, new), delay
        outcomes.add(data == new)
        assert len(blob_files(storage)) == 1, delay
        assert tmp_files(storage) == [], delay
    assert outcomes == {False, True}


# ------------------------------------------------------------------ recovery


async def test_restart_removes_temp_files_and_unreferenced_blobs(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    contents = {f"k{i}": os.urandom(1000 * i + 1) for i in range(20)}
    for key, data in contents.items():
        await put(store, key, data)
    await store.close()

    # What a crash leaves: a half-written temp file, a published blob whose
    # index commit never happened, and a blob whose replacement's unlink never ran.
    (tmp_path / "tmp" / "0123456789abcdef0123456789abcdef").write_bytes(b"partial")
    orphan = tmp_path / "blobs" / "ab" / ("ab" + "1" * 30)
    orphan.write_bytes(b"unreferenced")
    stray = tmp_path / "blobs" / "00" / "not-a-blob-name"
    stray.write_bytes(b"?")

    store = LocalStorage(tmp_path)
    await store.start()
    try:
        assert tmp_files(store) == []
        assert not orphan.exists() and not stray.exists()
        assert len(blob_files(store)) == len(contents)
        for key, data in contents.items():
            opened = await store.get_object(GetObject(bucket=BUCKET, key=key))
            assert opened.meta.etag == md5(data)
            assert md5(await read_all(opened)) == md5(data)
    finally:
        await store.close()


async def test_restart_drops_index_rows_whose_blob_is_gone(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    await put(store, "kept", b"kept")
    await put(store, "lost", b"lost")
    await store.close()
    db = sqlite3.connect(tmp_path / "index.sqlite3")
    (blob,) = db.execute("SELECT blob FROM objects WHERE key = ?", (b"lost",)).fetchone()
    db.close()
    (tmp_path / "blobs" / blob[:2] / blob).unlink()

    store = LocalStorage(tmp_path)
    await store.start()
    try:
        err = await error_of(store.head_object(HeadObject(bucket=BUCKET, key="lost")))
        assert err.code == "NoSuchKey"
        assert await get(store, "kept") == b"kept"
        listing = await store.list_objects(ListObjects(bucket=BUCKET))
        assert [e.key for e in listing.entries] == ["kept"]
    finally:
        await store.close()


async def test_keys_are_stored_as_utf8_blobs(storage: LocalStorage) -> None:
    await put(storage, "é/ü", b"x")
    db = sqlite3.connect(storage.data_dir / "index.sqlite3")
    try:
        row = db.execute("SELECT typeof(key), key FROM objects").fetchone()
    finally:
        db.close()
    assert row == ("blob", "é/ü".encode())


async def test_a_missing_blobs_directory_under_a_full_index_is_refused(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    await put(store, "k", b"x")
    await store.close()
    (tmp_path / "blobs").rename(tmp_path / "elsewhere")
    with pytest.raises(StorageUnavailable, match="mounted"):
        await LocalStorage(tmp_path).start()
    shutil.rmtree(tmp_path / "blobs")
    (tmp_path / "elsewhere").rename(tmp_path / "blobs")
    store = LocalStorage(tmp_path)
    await store.start()
    try:
        assert await get(store, "k") == b"x"
    finally:
        await store.close()


async def test_start_on_an_unusable_path_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageUnavailable):
        await LocalStorage(tmp_path / "file" / "data").start()


# ------------------------------------------------------------------ group commit


async def test_concurrent_puts_share_index_transactions(storage: LocalStorage) -> None:
    index = storage._index
    assert index is not None
    batches: list[int] = []
    original = index.put_objects

    def counting(items, *args, **kwargs):  # type: ignore[no-untyped-def]
        batches.append(len(items))
        return original(items, *args, **kwargs)

    index.put_objects = counting  # type: ignore[method-assign]
    contents = {f"k{i}": os.urandom(1000 + i) for i in range(60)}
    await asyncio.gather(*(put(storage, key, data) for key, data in contents.items()))
    assert sum(batches) == 60 and len(batches) < 60 and max(batches) > 1
    for key, data in contents.items():
        assert await get(storage, key) == data


async def test_bucket_deleted_during_upload_is_no_such_bucket(storage: LocalStorage) -> None:
    await storage.create_bucket(CreateBucket(bucket="brief"))
    streaming = asyncio.Event()
    proceed = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 10
        streaming.set()
        await proceed.wait()
        yield b"b" * 10

    data = b"a" * 10 + b"b" * 10
    req = PutObject(bucket="brief", key="k", size=20, md5=md5(data))
    task = asyncio.create_task(storage.put_object(req, body()))
    others = [asyncio.create_task(put(storage, f"other{i}", b"x")) for i in range(5)]
    await streaming.wait()
    await storage.delete_bucket(DeleteBucket(bucket="brief"))
    proceed.set()
    assert (await error_of(task)).code == "NoSuchBucket"
    await asyncio.gather(*others)
    assert len(blob_files(storage)) == 5 and tmp_files(storage) == []


async def test_close_waits_for_queued_commits(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    puts = [asyncio.create_task(put(store, f"k{i}", b"v%d" % i)) for i in range(20)]
    await asyncio.sleep(0.005)
    await store.close()
    outcomes = await asyncio.gather(*puts, return_exceptions=True)
    store = LocalStorage(tmp_path)
    await store.start()
    try:
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, BaseException):
                assert isinstance(outcome, StorageUnavailable)
                assert (
                    await error_of(store.head_object(HeadObject(bucket=BUCKET, key=f"k{i}")))
                ).code == "NoSuchKey"
            else:
                assert await get(store, f"k{i}") == b"v%d" % i
        assert tmp_files(store) == []
    finally:
        await store.close()
