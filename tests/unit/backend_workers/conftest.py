"""Fixtures for the storage drivers: a started LocalStorage on a fresh directory."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest_asyncio

from backend_workers.storage.base import ObjectRead
from backend_workers.storage.local import LocalStorage
from sangraha.contract import CreateBucket, GetObject, PutObject

BUCKET = "bucket"


@pytest_asyncio.fixture(loop_scope="function")
async def storage(tmp_path: Path) -> AsyncIterator[LocalStorage]:
    store = LocalStorage(tmp_path / "data")
    await store.start()
    await store.create_bucket(CreateBucket(bucket=BUCKET))
    try:
        yield store
    finally:
        await store.close()


async def body_of(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


async def put(
    store: LocalStorage,
    key: str,
    data: bytes | Iterable[bytes],
    *,
    bucket: str = BUCKET,
    **fields: object,
) -> str:
    chunks = [data] if isinstance(data, bytes) else list(data)
    whole = b"".join(chunks)
    written = await store.put_object(
        PutObject(bucket=bucket, key=key, size=len(whole), md5=md5(whole), **fields),  # type: ignore[arg-type]
        body_of(*chunks),
    )
    return written.etag


async def read_all(opened: ObjectRead) -> bytes:
    try:
        return b"".join([chunk async for chunk in opened.chunks])
    finally:
        await opened.close()


async def get(store: LocalStorage, key: str, *, bucket: str = BUCKET, **fields: object) -> bytes:
    return await read_all(await store.get_object(GetObject(bucket=bucket, key=key, **fields)))  # type: ignore[arg-type]
