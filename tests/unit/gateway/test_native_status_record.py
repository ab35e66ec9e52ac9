"""The worker records an asynchronous put's outcome for the status URL."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest_asyncio

from backend_workers.operations import Operations
from backend_workers.storage.local import LocalStorage
from sangraha.contract import Call, CreateBucket, Failure, GetObject, ObjectWritten, PutObject
from sangraha.transport.base import InlineBody


@pytest_asyncio.fixture(loop_scope="function")
async def operations(tmp_path: Path):
    store = LocalStorage(tmp_path / "data")
    await store.start()
    for bucket in ("objects", "status"):
        await store.create_bucket(CreateBucket(bucket=bucket))
    try:
        yield Operations(store, max_inline_bytes=1 << 20), store
    finally:
        await store.close()


def put(bucket: str, data: bytes, *, status_key: str | None) -> PutObject:
    return PutObject(
        bucket=bucket,
        key="json/k.json",
        size=len(data),
        md5=hashlib.md5(data).hexdigest(),
        status_bucket="status" if status_key else None,
        status_key=status_key,
    )


async def record(store: LocalStorage, key: str) -> dict[str, object]:
    opened = await store.get_object(GetObject(bucket="status", key=key))
    try:
        return json.loads(b"".join([c async for c in opened.chunks]))
    finally:
        await opened.close()


async def run(ops: Operations, request: PutObject, data: bytes):
    call = Call(request_id="R", deadline=time.time() + 10, request=request)
    reply, _ = await ops(call, InlineBody(memoryview(data)))
    return reply


async def test_stored_outcome_is_recorded(operations):
    ops, store = operations
    reply = await run(ops, put("objects", b"{}", status_key="json/k.json"), b"{}")
    assert isinstance(reply, ObjectWritten)
    assert await record(store, "json/k.json") == {
        "status": "stored",
        "etag": reply.etag,
        "size": 2,
    }


async def test_failed_outcome_is_recorded(operations):
    ops, store = operations
    reply = await run(ops, put("missing-bucket", b"{}", status_key="json/k.json"), b"{}")
    assert isinstance(reply, Failure)
    got = await record(store, "json/k.json")
    assert got["status"] == "failed"
    assert got["error"] == {"code": "NoSuchBucket", "message": reply.message}


async def test_synchronous_puts_record_nothing(operations):
    ops, store = operations
    await run(ops, put("objects", b"{}", status_key=None), b"{}")
    listing = [k async for k in _keys(store)]
    assert listing == []


async def _keys(store: LocalStorage):
    from sangraha.contract import ListObjects

    for entry in (await store.list_objects(ListObjects(bucket="status"))).entries:
        yield entry.key
