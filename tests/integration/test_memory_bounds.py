"""A 1 GiB single PUT and GET, streamed: every process stays small.

Prints the throughput beside direct MinIO with the same client (a number for
the closing note, never a pass/fail criterion).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import uuid

import psutil
import pytest

from tests.integration.conftest import make_client

pytestmark = [pytest.mark.services, pytest.mark.heavy]

MiB = 1024 * 1024
SIZE = 1024 * MiB
RSS_LIMIT = 300 * MiB


class PeakRss(threading.Thread):
    """Samples the resident set size of some processes until stopped."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = dict.fromkeys(pids, 0)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            for name, proc in self.procs.items():
                with contextlib.suppress(psutil.Error):
                    self.peak[name] = max(self.peak[name], proc.memory_info().rss)
            time.sleep(0.05)

    def stop(self) -> dict[str, int]:
        self._done.set()
        self.join()
        return self.peak


@pytest.fixture(scope="module")
def gib_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("gib") / "one.gib"
    md5 = hashlib.md5()
    block = os.urandom(64 * MiB)
    with path.open("wb") as f:
        for i in range(SIZE // len(block)):
            piece = block[i:] + block[:i]  # distinct blocks, cheaply
            f.write(piece)
            md5.update(piece)
    return path, md5.hexdigest()


def _transfer(client, bucket, path, md5) -> tuple[float, float]:
    started = time.perf_counter()
    with path.open("rb") as f:
        put = client.put_object(Bucket=bucket, Key="one.gib", Body=f)
    put_s = time.perf_counter() - started
    assert put["ETag"] == f'"{md5}"'
    started = time.perf_counter()
    body = client.get_object(Bucket=bucket, Key="one.gib")["Body"]
    digest = hashlib.md5()
    while chunk := body.read(8 * MiB):
        digest.update(chunk)
    get_s = time.perf_counter() - started
    assert digest.hexdigest() == md5
    client.delete_object(Bucket=bucket, Key="one.gib")
    return SIZE / put_s / 1e6, SIZE / get_s / 1e6


def test_one_gib_put_and_get_stay_under_300_mib_rss(isolated_stack, services, gib_file):
    path, md5 = gib_file
    stack = isolated_stack
    client = make_client(stack.endpoint, stack.access_key, stack.secret_key, read_timeout=300)
    bucket = f"gib-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    pids = {p.role: p.pid for p in stack.processes}
    sampler = PeakRss(pids)
    sampler.start()
    try:
        put_rate, get_rate = _transfer(client, bucket, path, md5)
    finally:
        peak = sampler.stop()
    direct = make_client(
        services.s3_endpoint, services.s3_access_key, services.s3_secret_key, read_timeout=300
    )
    with contextlib.suppress(direct.exceptions.BucketAlreadyOwnedByYou):
        direct.create_bucket(Bucket="gib-direct")
    d_put, d_get = _transfer(direct, "gib-direct", path, md5)
    print(
        f"\n1 GiB single PUT/GET: sangraha {put_rate:.0f}/{get_rate:.0f} MB/s, "
        f"direct MinIO {d_put:.0f}/{d_get:.0f} MB/s; peak RSS "
        + ", ".join(f"{name} {rss / MiB:.0f} MiB" for name, rss in peak.items())
    )
    client.delete_bucket(Bucket=bucket)
    for name, rss in peak.items():
        assert rss < RSS_LIMIT, f"{name} peaked at {rss / MiB:.0f} MiB"
