"""Child process of the crash test: writes and deletes in a loop until SIGKILLed.

Usage: python _crash_child.py DATA_DIR START_SEQ WORKERS KEY...

Every operation on a key is planned by :func:`plan` from ``(key, seq)``, seq
counting up from START_SEQ per key, so the parent can tell which states are
allowed.  After an operation returns, the child prints ``ack KEY SEQ``.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

MiB = 1024 * 1024
BUCKET = "crash"


def plan(key: str, seq: int) -> bytes | None:
    """The body the operation ``seq`` on ``key`` writes, or None for a delete."""
    digest = hashlib.sha256(f"{key}:{seq}".encode()).digest()
    if digest[0] % 6 == 0:
        return None
    size = int.from_bytes(digest[1:4], "big") % (256 * 1024)
    if digest[4] % 8 == 0:
        size += 2 * MiB  # several flushes to the writer thread
    return (digest * (size // len(digest) + 1))[:size]


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), 256 * 1024):
        yield data[offset : offset + 256 * 1024]


async def main(root: Path, start: int, workers: int, keys: list[str]) -> None:
    from backend_workers.storage.local import LocalStorage
    from s3compat.errors import S3Error
    from sangraha.contract import CreateBucket, DeleteObject, PutObject

    store = LocalStorage(root)
    await store.start()
    try:
        await store.create_bucket(CreateBucket(bucket=BUCKET))
    except S3Error as exc:
        if exc.code != "BucketAlreadyOwnedByYou":
            raise
    print("ready", flush=True)

    async def worker(mine: list[str]) -> None:
        seq = start
        while True:
            for key in mine:
                data = plan(key, seq)
                if data is None:
                    await store.delete_object(DeleteObject(bucket=BUCKET, key=key))
                else:
                    md5 = hashlib.md5(data).hexdigest()
                    req = PutObject(bucket=BUCKET, key=key, size=len(data), md5=md5)
                    await store.put_object(req, _chunks(data))
                print(f"ack {key} {seq}", flush=True)
            seq += 1

    await asyncio.gather(*(worker(keys[i::workers]) for i in range(workers)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]))
