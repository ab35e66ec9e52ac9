"""Scale-out on one machine: 2 gateways, 3 receivers and 3 getters as separate
processes on the real RabbitMQ and MinIO, under a concurrent boto3 load.

The processes run in a RabbitMQ virtual host of their own, so no worker of the
session's stack takes a share of this load.  Which worker process handled a
request is read from its log: the operation handlers log one JSON line per
request with its ``op``.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.integration.stack import Process, Stack, isolated_vhost

pytestmark = [pytest.mark.services, pytest.mark.heavy]

KiB = 1024
DEADLINE = 10  # SANGRAHA_REQUEST_TIMEOUT of the gateways under test
# A call may use 3 attempts, each bounded by the gateway's deadline, plus backoff.
MAX_CALL_SECONDS = 3 * DEADLINE + 5


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def client(endpoint: str, access_key: str, secret_key: str) -> Any:
    """A realistic client: standard retries (3 attempts), read timeout above the deadline."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=Config(
            retries={"mode": "standard", "total_max_attempts": 3},
            connect_timeout=5,
            read_timeout=3 * DEADLINE,
            max_pool_connections=4,
        ),
    )


@dataclass
class Cluster:
    stack: Stack
    endpoints: list[str]

    def workers(self, role: str) -> list[Process]:
        return self.stack.by_role(role)


def _wait_consuming(procs: list[Process], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(procs)
    while waiting and time.monotonic() < deadline:
        waiting = [p for p in waiting if " consuming " not in p.log_text()]
        time.sleep(0.2)
    assert not waiting, f"not consuming after {timeout}s: {[p.log_path.name for p in waiting]}"


@pytest.fixture
def cluster(services, tmp_path) -> Iterator[Cluster]:
    with isolated_vhost(services, "sangraha-scale") as isolated:
        stack = Stack(services=isolated, workdir=tmp_path)
        try:
            for role in ("receiver", "getter"):
                for _ in range(3):
                    stack.spawn(role, SANGRAHA_REQUEST_TIMEOUT=str(DEADLINE))
            endpoints = [stack.gateway(SANGRAHA_REQUEST_TIMEOUT=str(DEADLINE)) for _ in range(2)]
            _wait_consuming(stack.by_role("receiver") + stack.by_role("getter"))
            yield Cluster(stack, endpoints)
        finally:
            stack.stop()


@pytest.fixture
def bucket(cluster, services) -> Iterator[str]:
    name = f"scale-{uuid.uuid4().hex[:16]}"
    st = cluster.stack
    client(cluster.endpoints[0], st.access_key, st.secret_key).create_bucket(Bucket=name)
    yield name
    # Straight to MinIO: the cluster may be partly stopped by now.
    minio = boto3.client(
        "s3",
        endpoint_url=services.s3_endpoint,
        aws_access_key_id=services.s3_access_key,
        aws_secret_access_key=services.s3_secret_key,
        region_name="us-east-1",
    )
    for page in minio.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            minio.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    minio.delete_bucket(Bucket=name)


# ------------------------------------------------------------------ load


@dataclass
class Call:
    op: str
    key: str
    gateway: int
    seconds: float
    outcome: str  # "ok", an S3 error code, or the client exception
    status: int = 200
    md5: str = ""


@dataclass
class Load:
    calls: list[Call] = field(default_factory=list)
    acked: dict[str, str] = field(default_factory=dict)  # key -> MD5 of every PUT answered 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: int = 0

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)
            self.done += 1
            if call.op == "PUT" and call.outcome == "ok":
                self.acked[call.key] = call.md5


def _timed(load: Load, op: str, key: str, gateway: int, fn: Callable[[], Any]) -> Any:
    started = time.monotonic()
    try:
        result = fn()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
        load.record(
            Call(op, key, gateway, time.monotonic() - started, error.get("Code", "?"), status)
        )
        return None
    except BotoCoreError as exc:
        load.record(Call(op, key, gateway, time.monotonic() - started, repr(exc), 0))
        return None
    call = Call(op, key, gateway, time.monotonic() - started, "ok")
    if op == "PUT":
        call.md5 = result
    load.record(call)
    return result


THREADS, PUTS_PER_THREAD = 16, 38


def run_load(cluster: Cluster, bucket: str, load: Load) -> float:
    """Each thread PUTs objects of 1-200 KiB through one of the gateways and GETs
    one of its acknowledged objects after each PUT, checking its MD5; the
    seconds it took."""
    st = cluster.stack

    def worker(t: int) -> None:
        gateway = t % len(cluster.endpoints)
        s3 = client(cluster.endpoints[gateway], st.access_key, st.secret_key)
        rng = random.Random(t)
        mine: list[tuple[str, str]] = []
        for i in range(PUTS_PER_THREAD):
            key = f"t{t:02d}/obj-{i:03d}"
            body = rng.randbytes(rng.randrange(1 * KiB, 200 * KiB + 1))
            digest = _md5(body)

            def put(key: str = key, body: bytes = body, digest: str = digest) -> str:
                etag = s3.put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')
                if etag != digest:
                    raise AssertionError(f"PUT {key}: ETag {etag}, expected {digest}")
                return digest

            if _timed(load, "PUT", key, gateway, put) is not None:
                mine.append((key, digest))
            if mine:
                get_key, want = rng.choice(mine)

                def get(get_key: str = get_key, want: str = want) -> str:
                    data = s3.get_object(Bucket=bucket, Key=get_key)["Body"].read()
                    if _md5(data) != want:
                        raise AssertionError(f"GET {get_key}: wrong bytes")
                    return want

                _timed(load, "GET", get_key, gateway, get)

    started = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker, t) for t in range(THREADS)]:
            future.result(timeout=600)
    return time.monotonic() - started


def handled_per_process(cluster: Cluster, role: str, op: str) -> dict[str, int]:
    """Requests of ``op`` each ``role`` process logged as handled."""
    counts = {}
    for proc in cluster.workers(role):
        n = 0
        for raw in proc.log_text().splitlines():
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if line.get("op") == op and " -> " in str(line.get("message", "")):
                n += 1
        counts[proc.log_path.stem] = n
    return counts


def assert_calls_sound(load: Load) -> None:
    """Every call answered within the bound, with success or a 503 S3 error."""
    slow = [c for c in load.calls if c.seconds > MAX_CALL_SECONDS]
    assert slow == [], f"calls hung past {MAX_CALL_SECONDS}s: {slow[:5]}"
    bad = [c for c in load.calls if c.outcome != "ok" and c.status != 503]
    assert bad == [], f"{len(bad)} calls failed other than with a 503: {bad[:5]}"


def assert_acked_read_back(cluster: Cluster, bucket: str, acked: dict[str, str]) -> None:
    """Every PUT answered 200 reads back with its MD5 (through every live gateway)."""
    st = cluster.stack
    clients = [client(e, st.access_key, st.secret_key) for e in cluster.endpoints]

    def check(item: tuple[int, tuple[str, str]]) -> str | None:
        i, (key, want) = item
        data = clients[i % len(clients)].get_object(Bucket=bucket, Key=key)["Body"].read()
        return None if _md5(data) == want else key

    with ThreadPoolExecutor(8) as pool:
        wrong = [k for k in pool.map(check, enumerate(sorted(acked.items()))) if k]
    assert wrong == [], f"acknowledged objects read back wrong: {wrong[:5]}"


def _summary(load: Load, seconds: float) -> str:
    outcomes = Counter((c.op, c.outcome) for c in load.calls)
    slowest = max((c.seconds for c in load.calls), default=0.0)
    return (
        f"{len(load.calls)} calls in {seconds:.1f}s ({len(load.calls) / seconds:.0f} req/s), "
        f"slowest {slowest:.2f}s, outcomes {dict(outcomes)}"
    )


# ------------------------------------------------------------------ tests


def test_every_worker_process_takes_a_share_and_objects_read_back_intact(cluster, bucket):
    load = Load()
    seconds = run_load(cluster, bucket, load)
    assert_calls_sound(load)
    puts = [c for c in load.calls if c.op == "PUT"]
    gets = [c for c in load.calls if c.op == "GET"]
    assert len(load.acked) == len(puts), "a PUT failed with every worker alive"
    assert all(c.outcome == "ok" for c in gets), "a GET failed with every worker alive"
    assert {c.gateway for c in load.calls} == {0, 1}

    receivers = handled_per_process(cluster, "receiver", "PutObject")
    getters = handled_per_process(cluster, "getter", "GetObject")
    print(
        f"\n{_summary(load, seconds)}\nPutObject per receiver {receivers}\n"
        f"GetObject per getter {getters}"
    )
    assert all(n > 0 for n in receivers.values()), f"a receiver handled no PUT: {receivers}"
    assert all(n > 0 for n in getters.values()), f"a getter handled no GET: {getters}"
    assert sum(receivers.values()) >= len(puts)
    assert_acked_read_back(cluster, bucket, load.acked)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_stopping_a_receiver_and_a_getter_mid_load_loses_nothing_and_hangs_nothing(
    cluster, bucket, sig
):
    receiver, getter = cluster.workers("receiver")[0], cluster.workers("getter")[0]
    load = Load()
    stopped_at: list[float] = []

    def stop_mid_load() -> None:
        while load.done < THREADS * PUTS_PER_THREAD * 2 // 3:
            time.sleep(0.02)
        stopped_at.append(time.monotonic())
        for proc in (receiver, getter):
            assert proc.popen is not None
            proc.popen.send_signal(sig)

    stopper = threading.Thread(target=stop_mid_load, daemon=True)
    stopper.start()
    seconds = run_load(cluster, bucket, load)
    stopper.join(5)
    assert stopped_at, "the load finished before the workers were stopped"
    for proc in (receiver, getter):
        assert proc.popen is not None
        rc = proc.popen.wait(DEADLINE + 10)
        assert rc == (-signal.SIGKILL if sig == signal.SIGKILL else 0), (
            f"{proc.log_path.name} exited with {rc}"
        )

    redelivered = sum(p.log_text().count("request redelivered") for p in cluster.stack.processes)
    print(f"\n{signal.Signals(sig).name}: {_summary(load, seconds)}")
    print(f"requests redelivered to a surviving worker: {redelivered}")
    print(f"PutObject per receiver {handled_per_process(cluster, 'receiver', 'PutObject')}")
    print(f"GetObject per getter {handled_per_process(cluster, 'getter', 'GetObject')}")
    assert_calls_sound(load)
    after = [c for c in load.calls if c.op == "PUT" and c.outcome == "ok"]
    assert len(after) > 0
    assert_acked_read_back(cluster, bucket, load.acked)
