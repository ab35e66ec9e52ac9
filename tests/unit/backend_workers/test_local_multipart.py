"""LocalStorage multipart uploads: parts as blobs, atomic completion, abort,
listing, checksums, cancellation and start-up recovery of part files."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sqlite3
import zlib
from pathlib import Path

import pytest

from backend_workers.storage.local import LocalStorage
from backend_workers.storage.local_index import SCHEMA_VERSION
from s3compat.errors import S3Error
from s3compat.multipart import MIN_PART_SIZE
from sangraha.contract import (
    AbortMultipartUpload,
    CompletedPart,
    CompleteMultipartUpload,
    CreateBucket,
    CreateMultipartUpload,
    DeleteBucket,
    HeadObject,
    ListMultipartUploads,
    ListParts,
    UploadPart,
    UploadPartCopy,
)
from tests.unit.backend_workers.conftest import BUCKET, body_of, get, md5, put

MiB = 1024 * 1024


def blob_files(store: LocalStorage) -> set[str]:
    return {p.name for p in (store.data_dir / "blobs").rglob("*") if p.is_file()}


def tmp_files(store: LocalStorage) -> list[Path]:
    return list((store.data_dir / "tmp").iterdir())


async def create(store: LocalStorage, key: str = "obj", **fields: object) -> str:
    reply = await store.create_multipart_upload(
        CreateMultipartUpload(bucket=BUCKET, key=key, **fields)  # type: ignore[arg-type]
    )
    return reply.upload_id


async def part(
    store: LocalStorage,
    upload_id: str,
    number: int,
    data: bytes,
    key: str = "obj",
    **fields: object,
) -> str:
    written = await store.upload_part(
        UploadPart(
            bucket=BUCKET,
            key=key,
            upload_id=upload_id,
            part_number=number,
            size=len(data),
            md5=md5(data),
            **fields,  # type: ignore[arg-type]
        ),
        body_of(data),
    )
    return written.etag


async def complete(
    store: LocalStorage, upload_id: str, parts: list[tuple[int, str]], key: str = "obj"
) -> str:
    done = await store.complete_multipart_upload(
        CompleteMultipartUpload(
            bucket=BUCKET,
            key=key,
            upload_id=upload_id,
            parts=[CompletedPart(number=n, etag=e) for n, e in parts],
        )
    )
    return done.etag


async def error_of(awaitable: object) -> str:
    with pytest.raises(S3Error) as info:
        await awaitable  # type: ignore[misc]
    return info.value.code


def multipart_etag(parts: list[bytes]) -> str:
    return hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + (
        f"-{len(parts)}"
    )


async def test_schema_has_the_multipart_tables(storage: LocalStorage) -> None:
    assert SCHEMA_VERSION >= 3
    db = sqlite3.connect(storage.data_dir / "index.sqlite3")
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        db.close()
    assert {"uploads", "parts"} <= tables


async def test_parts_are_blobs_and_completion_leaves_only_the_object(
    storage: LocalStorage,
) -> None:
    before = blob_files(storage)
    upload_id = await create(storage, content_type="text/x", metadata={"a": "1"})
    data = [os.urandom(MIN_PART_SIZE), os.urandom(MIN_PART_SIZE + 1), b"end"]
    etags = [await part(storage, upload_id, n, d) for n, d in enumerate(data, 1)]
    assert len(blob_files(storage) - before) == 3
    etag = await complete(storage, upload_id, list(enumerate(etags, 1)))
    assert etag == multipart_etag(data)
    assert len(blob_files(storage) - before) == 1  # the assembled object only
    assert tmp_files(storage) == []
    assert await get(storage, "obj") == b"".join(data)
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="obj"))
    assert (meta.etag, meta.size, meta.content_type, meta.metadata) == (
        etag,
        sum(map(len, data)),
        "text/x",
        {"a": "1"},
    )
    code = await error_of(
        storage.list_parts(ListParts(bucket=BUCKET, key="obj", upload_id=upload_id))
    )
    assert code == "NoSuchUpload"


async def test_completion_replaces_an_object_and_removes_its_blob(storage: LocalStorage) -> None:
    await put(storage, "obj", b"old")
    before = blob_files(storage)
    upload_id = await create(storage)
    etag = await part(storage, upload_id, 1, b"new")
    await complete(storage, upload_id, [(1, etag)])
    assert await get(storage, "obj") == b"new"
    assert len(blob_files(storage)) == len(before)
    assert blob_files(storage) != before


async def test_a_replaced_part_blob_is_removed(storage: LocalStorage) -> None:
    upload_id = await create(storage)
    await part(storage, upload_id, 1, b"first")
    once = blob_files(storage)
    await part(storage, upload_id, 1, b"second")
    assert len(blob_files(storage)) == len(once)
    listed = await storage.list_parts(ListParts(bucket=BUCKET, key="obj", upload_id=upload_id))
    assert [(p.number, p.etag, p.size) for p in listed.parts] == [(1, md5(b"second"), 6)]


async def test_abort_removes_every_part_blob(storage: LocalStorage) -> None:
    before = blob_files(storage)
    upload_id = await create(storage)
    for n in range(1, 4):
        await part(storage, upload_id, n, os.urandom(1000))
    await storage.abort_multipart_upload(
        AbortMultipartUpload(bucket=BUCKET, key="obj", upload_id=upload_id)
    )
    assert blob_files(storage) == before
    code = await error_of(
        storage.abort_multipart_upload(
            AbortMultipartUpload(bucket=BUCKET, key="obj", upload_id=upload_id)
        )
    )
    assert code == "NoSuchUpload"


async def test_a_part_for_a_vanished_upload_is_not_kept(storage: LocalStorage) -> None:
    before = blob_files(storage)
    upload_id = await create(storage)

    async def slow() -> object:
        yield b"x" * 10
        await storage.abort_multipart_upload(
            AbortMultipartUpload(bucket=BUCKET, key="obj", upload_id=upload_id)
        )
        yield b"y" * 10

    request = UploadPart(
        bucket=BUCKET, key="obj", upload_id=upload_id, part_number=1, size=20, md5=""
    )
    code = await error_of(storage.upload_part(request, slow()))  # type: ignore[arg-type]
    assert code == "NoSuchUpload"
    assert blob_files(storage) == before
    assert tmp_files(storage) == []


async def test_deleting_the_bucket_removes_its_uploads_and_part_blobs(
    storage: LocalStorage,
) -> None:
    await storage.create_bucket(CreateBucket(bucket="other"))
    reply = await storage.create_multipart_upload(CreateMultipartUpload(bucket="other", key="k"))
    await storage.upload_part(
        UploadPart(
            bucket="other",
            key="k",
            upload_id=reply.upload_id,
            part_number=1,
            size=3,
            md5=md5(b"abc"),
        ),
        body_of(b"abc"),
    )
    before = blob_files(storage)
    await storage.delete_bucket(DeleteBucket(bucket="other"))
    assert len(before - blob_files(storage)) == 1
    await storage.create_bucket(CreateBucket(bucket="other"))
    listed = await storage.list_multipart_uploads(ListMultipartUploads(bucket="other"))
    assert listed.uploads == []


async def test_completion_errors(storage: LocalStorage) -> None:
    upload_id = await create(storage)
    small = await part(storage, upload_id, 1, b"small")
    last = await part(storage, upload_id, 2, b"last")
    assert await error_of(complete(storage, upload_id, [(1, small), (2, last)])) == "EntityTooSmall"
    assert await error_of(complete(storage, upload_id, [(3, small)])) == "InvalidPart"
    assert await error_of(complete(storage, upload_id, [(1, md5(b"x"))])) == "InvalidPart"
    assert await error_of(complete(storage, upload_id, [(2, last), (1, small)])) == (
        "InvalidPartOrder"
    )
    assert await error_of(complete(storage, "nope", [(1, small)])) == "NoSuchUpload"
    assert await error_of(complete(storage, upload_id, [(1, small)], key="other")) == (
        "NoSuchUpload"
    )
    # Quoted and upper-case ETags match.
    assert await complete(storage, upload_id, [(1, f'"{small.upper()}"')]) == multipart_etag(
        [b"small"]
    )


async def test_upload_part_copy_copies_a_range(storage: LocalStorage) -> None:
    source = os.urandom(3 * MiB + 5)
    await put(storage, "src", source)
    upload_id = await create(storage)
    written = await storage.upload_part_copy(
        UploadPartCopy(
            bucket=BUCKET,
            key="obj",
            upload_id=upload_id,
            part_number=1,
            source_bucket=BUCKET,
            source_key="src",
            source_range=f"bytes=10-{2 * MiB}",
        )
    )
    assert written.etag == md5(source[10 : 2 * MiB + 1])
    await complete(storage, upload_id, [(1, written.etag)])
    assert await get(storage, "obj") == source[10 : 2 * MiB + 1]


async def test_upload_part_copy_errors(storage: LocalStorage) -> None:
    await put(storage, "src", b"0123456789")
    upload_id = await create(storage)

    def copy(**fields: object) -> UploadPartCopy:
        base = {
            "bucket": BUCKET,
            "key": "obj",
            "upload_id": upload_id,
            "part_number": 1,
            "source_bucket": BUCKET,
            "source_key": "src",
        }
        return UploadPartCopy(**(base | fields))  # type: ignore[arg-type]

    assert await error_of(storage.upload_part_copy(copy(source_range="bytes=5-10"))) == (
        "InvalidRange"
    )
    assert await error_of(
        storage.upload_part_copy(copy(source_conditions={"x-amz-copy-source-if-match": '"x"'}))
    ) == ("PreconditionFailed")
    assert await error_of(storage.upload_part_copy(copy(source_key="none"))) == "NoSuchKey"
    assert await error_of(storage.upload_part_copy(copy(upload_id="none"))) == "NoSuchUpload"


def _crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


async def test_composite_checksum_from_parts_computed_when_not_sent(
    storage: LocalStorage,
) -> None:
    upload_id = await create(storage, checksum_algorithm="CRC32", checksum_type="COMPOSITE")
    data = [os.urandom(MIN_PART_SIZE), b"tail"]
    # The first part brings its checksum, the second does not: it is computed.
    e1 = await part(storage, upload_id, 1, data[0], checksums={"CRC32": _crc32(data[0])})
    e2 = await part(storage, upload_id, 2, data[1])
    listed = await storage.list_parts(ListParts(bucket=BUCKET, key="obj", upload_id=upload_id))
    assert [p.checksums for p in listed.parts] == [{"CRC32": _crc32(d)} for d in data]
    done = await storage.complete_multipart_upload(
        CompleteMultipartUpload(
            bucket=BUCKET,
            key="obj",
            upload_id=upload_id,
            parts=[CompletedPart(number=1, etag=e1), CompletedPart(number=2, etag=e2)],
        )
    )
    binary = b"".join(zlib.crc32(d).to_bytes(4, "big") for d in data)
    assert done.checksums == {"CRC32": f"{_crc32(binary)}-2"}
    assert done.checksum_type == "COMPOSITE"
    meta = await storage.head_object(HeadObject(bucket=BUCKET, key="obj"))
    assert meta.checksums == done.checksums


async def test_full_object_checksum_is_computed_while_assembling(storage: LocalStorage) -> None:
    upload_id = await create(storage, checksum_algorithm="CRC32", checksum_type="FULL_OBJECT")
    data = [os.urandom(MIN_PART_SIZE), b"tail"]
    etags = [await part(storage, upload_id, n, d) for n, d in enumerate(data, 1)]
    done = await storage.complete_multipart_upload(
        CompleteMultipartUpload(
            bucket=BUCKET,
            key="obj",
            upload_id=upload_id,
            parts=[CompletedPart(number=n, etag=e) for n, e in enumerate(etags, 1)],
            checksums={"CRC32": _crc32(b"".join(data))},
        )
    )
    assert done.checksums == {"CRC32": _crc32(b"".join(data))}
    assert done.checksum_type == "FULL_OBJECT"


async def test_list_uploads_pages_in_key_then_creation_order(storage: LocalStorage) -> None:
    created = [(k, await create(storage, key=k)) for k in ["b", "a/x", "b", "a/y", "c"]]
    everything = sorted(created)  # upload IDs are time-ordered
    assert [u for k, u in everything if k == "b"] == [u for k, u in created if k == "b"]
    seen: list[tuple[str, str]] = []
    key_marker = upload_id_marker = ""
    while True:
        page = await storage.list_multipart_uploads(
            ListMultipartUploads(
                bucket=BUCKET,
                max_uploads=2,
                key_marker=key_marker,
                upload_id_marker=upload_id_marker,
            )
        )
        seen += [(u.key, u.upload_id) for u in page.uploads]
        if not page.is_truncated:
            break
        key_marker = page.next_key_marker or ""
        upload_id_marker = page.next_upload_id_marker or ""
    assert seen == everything
    grouped = await storage.list_multipart_uploads(
        ListMultipartUploads(bucket=BUCKET, delimiter="/")
    )
    assert grouped.common_prefixes == ["a/"]
    assert [u.key for u in grouped.uploads] == ["b", "b", "c"]


async def test_list_parts_pages(storage: LocalStorage) -> None:
    upload_id = await create(storage)
    for n in (1, 2, 5, 9):
        await part(storage, upload_id, n, b"%d" % n)
    page = await storage.list_parts(
        ListParts(bucket=BUCKET, key="obj", upload_id=upload_id, max_parts=2, part_number_marker=1)
    )
    assert [p.number for p in page.parts] == [2, 5]
    assert (page.is_truncated, page.next_marker) == (True, 5)
    page = await storage.list_parts(
        ListParts(bucket=BUCKET, key="obj", upload_id=upload_id, part_number_marker=5)
    )
    assert ([p.number for p in page.parts], page.is_truncated) == ([9], False)


async def test_cancelled_part_upload_leaves_nothing(storage: LocalStorage) -> None:
    upload_id = await create(storage)
    before = blob_files(storage)
    started = asyncio.Event()

    async def endless() -> object:
        while True:
            started.set()
            yield os.urandom(256 * 1024)
            await asyncio.sleep(0)

    request = UploadPart(
        bucket=BUCKET, key="obj", upload_id=upload_id, part_number=1, size=64 * MiB, md5=""
    )
    task = asyncio.create_task(storage.upload_part(request, endless()))  # type: ignore[arg-type]
    await started.wait()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)  # let an abandoned writer thread finish and discard
    assert blob_files(storage) == before
    assert tmp_files(storage) == []


async def test_restart_keeps_part_blobs_and_removes_orphans(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    upload_id = await create(store)
    etag = await part(store, upload_id, 1, b"kept across restarts")
    kept = blob_files(store)
    await store.close()
    # A crash after a part's blob was published but before its row committed.
    orphan = tmp_path / "blobs" / "ab" / ("ab" + "0" * 30)
    orphan.write_bytes(b"orphan")
    store = LocalStorage(tmp_path)
    await store.start()
    try:
        assert blob_files(store) == kept
        await complete(store, upload_id, [(1, etag)])
        assert await get(store, "obj") == b"kept across restarts"
    finally:
        await store.close()


async def test_restart_drops_part_rows_whose_blob_is_gone(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    upload_id = await create(store)
    await part(store, upload_id, 1, b"doomed")
    (blob,) = blob_files(store)
    await store.close()
    (tmp_path / "blobs" / blob[:2] / blob).unlink()
    store = LocalStorage(tmp_path)
    await store.start()
    try:
        listed = await store.list_parts(ListParts(bucket=BUCKET, key="obj", upload_id=upload_id))
        assert listed.parts == []
    finally:
        await store.close()
