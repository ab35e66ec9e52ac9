"""Crash safety of the local store: SIGKILL a process in the middle of writes and
deletes, reopen the directory, and check that every key holds a complete
version it was allowed to hold and that no file is left over."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend_workers.storage.local import LocalStorage
from s3compat.errors import S3Error
from sangraha.contract import GetObject, HeadObject, ListObjects
from tests.unit.backend_workers._crash_child import BUCKET, plan

REPO = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("_crash_child.py")
KEYS = [f"key-{i}" for i in range(8)] + ["dir/../../escape", "ключ"]


def run_child(root: Path, start: int, kill_after: float) -> dict[str, int]:
    """Run the child until ``kill_after`` seconds after it is ready; the last acked seq per key."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), str(start), "4", *KEYS],
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(kill_after)
    finally:
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    acked: dict[str, int] = {}
    for line in out.decode().splitlines():
        _, key, seq = line.split(" ")
        acked[key] = int(seq)
    return acked


async def read_state(store: LocalStorage, key: str) -> bytes | None:
    try:
        meta = await store.head_object(HeadObject(bucket=BUCKET, key=key))
    except S3Error as exc:
        assert exc.code == "NoSuchKey"
        return None
    opened = await store.get_object(GetObject(bucket=BUCKET, key=key))
    try:
        data = b"".join([chunk async for chunk in opened.chunks])
    finally:
        await opened.close()
    assert len(data) == meta.size
    assert hashlib.md5(data).hexdigest() == meta.etag, f"{key}: torn or mixed content"
    return data


@pytest.mark.heavy
async def test_sigkill_during_writes_leaves_old_or_new_and_no_debris(tmp_path: Path) -> None:
    rng = random.Random(20261126)
    state: dict[str, bytes | None] = dict.fromkeys(KEYS)
    total_acks = 0
    for round_no in range(5):
        start = round_no * 1_000_000
        acked = run_child(tmp_path, start, rng.uniform(0.3, 1.2))
        total_acks += len(acked)

        store = LocalStorage(tmp_path)
        await store.start()
        try:
            assert list((tmp_path / "tmp").iterdir()) == []
            present = []
            for key in KEYS:
                if key in acked:
                    allowed = [plan(key, acked[key]), plan(key, acked[key] + 1)]
                else:
                    allowed = [state[key], plan(key, start)]
                observed = await read_state(store, key)
                assert observed in allowed, f"round {round_no}: {key} holds a version it never had"
                state[key] = observed
                if observed is not None:
                    present.append(key)
            listing = await store.list_objects(ListObjects(bucket=BUCKET))
            assert [e.key for e in listing.entries] == sorted(present, key=str.encode)
            blobs = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
            assert len(blobs) == len(present)
        finally:
            await store.close()
    assert total_acks > 0, "the child never completed an operation"
