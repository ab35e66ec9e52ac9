"""LocalStorage: CopyObject, DeleteObjects, tags, checksums, conditional writes,
and the schema migration that added tags and checksums."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

import pytest

from backend_workers.storage.local import LocalStorage
from backend_workers.storage.local_blobs import BlobWriter
from backend_workers.storage.local_index import _MIGRATIONS
from s3compat.errors import S3Error
from s3compat.timefmt import http_date
from sangraha.contract import (
    CopyObject,
    CreateBucket,
    DeleteObject,
    DeleteObjects,
    DeleteObjectTagging,
    GetObjectTagging,
    HeadObject,
    PutObjectTagging,
)
from tests.unit.backend_workers.conftest import BUCKET, get, md5, put


def blob_files(store: LocalStorage) -> list[Path]:
    return sorted(p for p in (store.data_dir / "blobs").rglob("*") if p.is_file())


def tmp_files(store: LocalStorage) -> list[Path]:
    return sorted((store.data_dir / "tmp").iterdir())


async def error_of(awaitable: object) -> S3Error:
    with pytest.raises(S3Error) as info:
        await awaitable  # type: ignore[misc]
    return info.value


def _copy(key: str = "dst", source_key: str = "src", **fields: object) -> CopyObject:
    return CopyObject(
        bucket=fields.pop("bucket", BUCKET),  # type: ignore[arg-type]
        key=key,
        source_bucket=fields.pop("source_bucket", BUCKET),  # type: ignore[arg-type]
        source_key=source_key,
        **fields,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ copy


async def test_copy_hard_links_the_source_blob(storage: LocalStorage) -> None:
    data = os.urandom(200_000)
    await put(storage, "src", data, content_type="text/x", metadata={"a": "1"}, tags={"t": "v"})
    copied = await storage.copy_object(_copy())
    assert copied.etag == md5(data)
    assert copied.last_modified == pytest.approx(time.time(), abs=5)
    assert await get(storage, "dst") == data
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="dst"))
    assert (meta.content_type, meta.metadata, meta.tag_count) == ("text/x", {"a": "1"}, 1)
    blobs = blob_files(storage)
    assert len(blobs) == 2
    assert os.stat(blobs[0]).st_ino == os.stat(blobs[1]).st_ino  # no bytes copied
    assert tmp_files(storage) == []


async def test_copy_without_hard_links_copies_the_bytes(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(self: BlobWriter, source: str) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(BlobWriter, "link_from", no_links)
    data = os.urandom(3 * 1024 * 1024 + 5)
    await put(storage, "src", data)
    await storage.copy_object(_copy())
    assert await get(storage, "dst") == data
    blobs = blob_files(storage)
    assert len(blobs) == 2
    assert os.stat(blobs[0]).st_ino != os.stat(blobs[1]).st_ino


async def test_a_copy_outlives_its_deleted_source(storage: LocalStorage) -> None:
    await put(storage, "src", b"survivor")
    await storage.copy_object(_copy())
    await storage.delete_object(DeleteObject(bucket=BUCKET, key="src"))
    assert await get(storage, "dst") == b"survivor"
    assert len(blob_files(storage)) == 1


async def test_copy_replace_takes_metadata_and_tags_from_the_request(
    storage: LocalStorage,
) -> None:
    await put(
        storage,
        "src",
        b"x",
        content_type="text/old",
        metadata={"old": "1"},
        headers={"cache-control": "no-cache"},
        tags={"old": "t"},
        checksums={"CRC32": "AAAAAA=="},
    )
    await storage.copy_object(
        _copy(
            replace_metadata=True,
            content_type="text/new",
            metadata={"new": "2"},
            replace_tags=True,
            tags={"new": "t", "more": "u"},
        )
    )
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="dst"))
    assert (meta.content_type, meta.metadata, meta.headers) == ("text/new", {"new": "2"}, {})
    assert meta.checksums == {"CRC32": "AAAAAA=="}  # the bytes are the same
    tags = await storage.get_object_tagging(GetObjectTagging(bucket=BUCKET, key="dst"))
    assert tags.tags == {"new": "t", "more": "u"}


async def test_copy_onto_itself_replaces_metadata_and_keeps_bytes(storage: LocalStorage) -> None:
    await put(storage, "src", b"same bytes", metadata={"mtime": "1"})
    before = await storage.head_object(HeadObject(bucket=BUCKET, key="src"))
    await asyncio.sleep(0.01)
    await storage.copy_object(_copy(key="src", replace_metadata=True, metadata={"mtime": "2"}))
    after = await storage.head_object(HeadObject(bucket=BUCKET, key="src"))
    assert after.metadata == {"mtime": "2"}
    assert after.etag == before.etag
    assert after.last_modified > before.last_modified
    assert await get(storage, "src") == b"same bytes"
    assert len(blob_files(storage)) == 1


async def test_copy_source_conditions(storage: LocalStorage) -> None:
    etag = await put(storage, "src", b"x")
    await storage.copy_object(_copy(source_conditions={"x-amz-copy-source-if-match": etag}))
    err = await error_of(
        storage.copy_object(_copy(source_conditions={"x-amz-copy-source-if-none-match": etag}))
    )
    assert err.code == "PreconditionFailed"
    future = http_date(time.time() + 3600)
    err = await error_of(
        storage.copy_object(
            _copy(source_conditions={"x-amz-copy-source-if-modified-since": future})
        )
    )
    assert err.code == "PreconditionFailed"


async def test_copy_destination_conditions(storage: LocalStorage) -> None:
    await put(storage, "src", b"new")
    await put(storage, "dst", b"old")
    err = await error_of(storage.copy_object(_copy(conditions={"if-none-match": "*"})))
    assert err.code == "PreconditionFailed"
    err = await error_of(storage.copy_object(_copy(key="fresh", conditions={"if-match": '"x"'})))
    assert err.code == "NoSuchKey"
    await storage.copy_object(_copy(conditions={"if-match": md5(b"old")}))
    assert await get(storage, "dst") == b"new"
    assert len(blob_files(storage)) == 2
    assert tmp_files(storage) == []


async def test_copy_errors_for_missing_source_or_buckets(storage: LocalStorage) -> None:
    await put(storage, "src", b"x")
    assert (await error_of(storage.copy_object(_copy(source_key="absent")))).code == "NoSuchKey"
    err = await error_of(storage.copy_object(_copy(source_bucket="nobucket")))
    assert err.code == "NoSuchBucket"
    assert (await error_of(storage.copy_object(_copy(bucket="nobucket")))).code == "NoSuchBucket"
    assert len(blob_files(storage)) == 1
    assert tmp_files(storage) == []


async def test_copy_across_buckets(storage: LocalStorage) -> None:
    await storage.create_bucket(CreateBucket(bucket="other"))
    await put(storage, "src", b"travels")
    await storage.copy_object(_copy(bucket="other", key="deep/dst"))
    assert await get(storage, "deep/dst", bucket="other") == b"travels"


# ------------------------------------------------------------------ delete objects


async def test_delete_objects_removes_rows_and_blobs(storage: LocalStorage) -> None:
    for key in ("a", "b", "c"):
        await put(storage, key, key.encode())
    out = await storage.delete_objects(
        DeleteObjects(bucket=BUCKET, keys=["a", "c", "never", "x" * 1025, ""])
    )
    assert out.deleted == ["a", "c", "never"]
    assert [(e.key, e.code) for e in out.errors] == [
        ("x" * 1025, "KeyTooLongError"),
        ("", "InvalidArgument"),
    ]
    assert await get(storage, "b") == b"b"
    assert len(blob_files(storage)) == 1


async def test_delete_objects_in_a_missing_bucket(storage: LocalStorage) -> None:
    err = await error_of(storage.delete_objects(DeleteObjects(bucket="nobucket", keys=["a"])))
    assert err.code == "NoSuchBucket"


# ------------------------------------------------------------------ tags and checksums


async def test_tags_are_stored_replaced_and_deleted(storage: LocalStorage) -> None:
    await put(storage, "k", b"x", tags={"a": "1", "b": "2"})
    got = await storage.get_object_tagging(GetObjectTagging(bucket=BUCKET, key="k"))
    assert got.tags == {"a": "1", "b": "2"}
    before = await storage.head_object(HeadObject(bucket=BUCKET, key="k"))
    await storage.put_object_tagging(PutObjectTagging(bucket=BUCKET, key="k", tags={"c": "3"}))
    after = await storage.head_object(HeadObject(bucket=BUCKET, key="k"))
    assert after.tag_count == 1
    assert (after.etag, after.last_modified) == (before.etag, before.last_modified)
    await storage.delete_object_tagging(DeleteObjectTagging(bucket=BUCKET, key="k"))
    got = await storage.get_object_tagging(GetObjectTagging(bucket=BUCKET, key="k"))
    assert got.tags == {}


async def test_tagging_missing_objects(storage: LocalStorage) -> None:
    for request in (
        storage.get_object_tagging(GetObjectTagging(bucket=BUCKET, key="absent")),
        storage.put_object_tagging(PutObjectTagging(bucket=BUCKET, key="absent", tags={})),
        storage.delete_object_tagging(DeleteObjectTagging(bucket=BUCKET, key="absent")),
    ):
        assert (await error_of(request)).code == "NoSuchKey"
    err = await error_of(storage.get_object_tagging(GetObjectTagging(bucket="nob", key="k")))
    assert err.code == "NoSuchBucket"


async def test_checksums_are_reported_with_the_object(storage: LocalStorage) -> None:
    await put(storage, "k", b"x", checksums={"SHA256": "abc=", "CRC32": "def="})
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="k"))
    assert meta.checksums == {"SHA256": "abc=", "CRC32": "def="}


# ------------------------------------------------------------------ conditional writes


async def test_put_if_none_match_star(storage: LocalStorage) -> None:
    await put(storage, "k", b"first", conditions={"if-none-match": "*"})
    err = await error_of(put(storage, "k", b"second", conditions={"if-none-match": "*"}))
    assert err.code == "PreconditionFailed"
    assert await get(storage, "k") == b"first"
    assert len(blob_files(storage)) == 1
    assert tmp_files(storage) == []


async def test_put_if_match(storage: LocalStorage) -> None:
    assert (await error_of(put(storage, "k", b"x", conditions={"if-match": "*"}))).code == (
        "NoSuchKey"
    )
    etag = await put(storage, "k", b"v1")
    await put(storage, "k", b"v2", conditions={"if-match": f'"{etag}"'})
    err = await error_of(put(storage, "k", b"v3", conditions={"if-match": etag}))
    assert err.code == "PreconditionFailed"
    assert await get(storage, "k") == b"v2"


async def test_concurrent_creates_in_one_commit_batch_have_one_winner(
    storage: LocalStorage,
) -> None:
    results = await asyncio.gather(
        *(
            put(storage, "lock", f"{i}".encode(), conditions={"if-none-match": "*"})
            for i in range(20)
        ),
        return_exceptions=True,
    )
    winners = [i for i, r in enumerate(results) if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(
        isinstance(r, S3Error) and r.code == "PreconditionFailed"
        for i, r in enumerate(results)
        if i not in winners
    )
    assert await get(storage, "lock") == f"{winners[0]}".encode()
    assert len(blob_files(storage)) == 1


# ------------------------------------------------------------------ schema migration


async def test_a_version_1_index_gains_tags_and_checksums(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "index.sqlite3")
    db.executescript(_MIGRATIONS[0])
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version (version) VALUES (1)")
    db.execute("INSERT INTO buckets VALUES ('old', 1.0)")
    db.execute(
        "INSERT INTO objects VALUES ('old', ?, 'b' || '0'||'0', 0, ?, 2.0, 'text/x', '{}', '{}')",
        (b"k", md5(b"")),
    )
    db.commit()
    db.close()
    (tmp_path / "blobs" / "b0").mkdir(parents=True)
    (tmp_path / "blobs" / "b0" / "b00").write_bytes(b"")
    store = LocalStorage(tmp_path)
    await store.start()
    try:
        meta = await store.head_object(HeadObject(bucket="old", key="k"))
        assert (meta.checksums, meta.tag_count) == ({}, 0)
        tags = await store.get_object_tagging(GetObjectTagging(bucket="old", key="k"))
        assert tags.tags == {}
    finally:
        await store.close()
