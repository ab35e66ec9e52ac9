"""Start and stop the three targets of a bench run.

- ``distributed``: one gateway and ``workers`` receivers and getters
  (``python -m sangraha.cli ...``) on a RabbitMQ virtual host of their own
  (created with ``rabbitmqctl`` and deleted afterwards), storing to MinIO;
- ``embedded``: ``sangraha serve`` on a temporary data directory;
- ``minio``: the MinIO behind the distributed target, directly.

Everything started is registered on a :class:`contextlib.ExitStack`, so
processes, the virtual host and temporary directories go away even on
Ctrl-C.  Child processes run in their own session (a Ctrl-C reaches only the
bench, which stops them in order) and die with the bench if it is killed.
The children inherit ``SANGRAHA_*`` tuning variables from the environment;
the bench sets only what it must (keys, addresses, buckets, directories).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sangraha.bench.client import Account
from sangraha.bench.cpu import find_pids
from sangraha.settings import Settings

__all__ = ["TARGETS", "Target", "start_targets"]

TARGETS = ("distributed", "embedded", "minio")
_READY_PATH = "/_sangraha/ready"
_STARTUP_TIMEOUT = 90.0
_DEFAULT_S3 = ("http://127.0.0.1:9000", "minioadmin", "minioadmin")


@dataclass
class Target:
    """An endpoint under test and the processes behind it."""

    name: str
    account: Account
    native: bool  # serves the native REST API
    pids: dict[str, list[int]] = field(default_factory=dict)  # component -> pids
    native_buckets: tuple[str, ...] = ()  # created by the server, removed by the bench
    fallback: Target | None = None  # where to remove its buckets if it is gone
    procs: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)  # and logs

    def casualties(self) -> list[str]:
        """What each of its processes that exited said last (its log's tail)."""
        dead = []
        for proc, log in self.procs:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                dead.append(f"{self.name}: {proc.args!r} exited ({proc.returncode}):\n{tail}")
        return dead


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM this child when the bench dies."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "sangraha.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )


def _stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _wait_ready(url: str, procs: list[subprocess.Popen[bytes]], logs: list[Path]) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT
    last = ""
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{proc.args!r} exited:\n{tail}")
        try:
            with _NO_PROXY.open(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {_STARTUP_TIMEOUT:.0f}s: {last}")


def _rabbitmqctl(*args: str) -> None:
    node = os.environ.get("SANGRAHA_RABBITMQ_NODENAME", "rabbit@localhost")
    result = subprocess.run(
        ["rabbitmqctl", "-q", "-n", node, *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd="/",
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()}")


def _isolated_vhost(stack: contextlib.ExitStack, amqp_url: str, run_id: str) -> str:
    """A fresh virtual host, deleted when ``stack`` closes; its AMQP URL."""
    name = f"sangraha-bench-{run_id}"
    parts = urllib.parse.urlsplit(amqp_url)
    _rabbitmqctl("add_vhost", name)
    stack.callback(_rabbitmqctl, "delete_vhost", name)
    _rabbitmqctl("set_permissions", "-p", name, parts.username or "guest", ".*", ".*", ".*")
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(name, safe="")))


def _is_local(endpoint: str) -> bool:
    return urllib.parse.urlsplit(endpoint).hostname in ("127.0.0.1", "localhost", "::1")


def _service_pids(minio_endpoint: str) -> dict[str, list[int]]:
    """RabbitMQ's and MinIO's pids, when they run on this machine."""
    pids = {}
    node = os.environ.get("SANGRAHA_RABBITMQ_NODENAME", "rabbit@localhost")
    rabbit = find_pids("beam.smp", ("RABBITMQ_NODENAME", node))
    if rabbit:
        pids["rabbitmq"] = rabbit
    if _is_local(minio_endpoint):
        minio = find_pids("minio")
        if minio:
            pids["minio"] = minio
    return pids


def _child_env(settings: Settings, **values: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SANGRAHA_HOST="127.0.0.1",
        SANGRAHA_TLS_CERT_FILE="",
        SANGRAHA_TLS_KEY_FILE="",
        SANGRAHA_DOMAIN="",
        SANGRAHA_REGION=settings.region,
    )
    env.update({"SANGRAHA_" + k.upper(): v for k, v in values.items()})
    return env


def start_targets(
    names: list[str],
    settings: Settings,
    stack: contextlib.ExitStack,
    *,
    run_id: str,
    workers: int = 1,
    status: Callable[[str], None] = print,
) -> list[Target]:
    """Start the named targets (in :data:`TARGETS` order) and wait until each
    answers; everything is undone when ``stack`` closes."""
    workdir = Path(tempfile.mkdtemp(prefix=f"sangraha-bench-{run_id}-"))
    stack.callback(shutil.rmtree, workdir, True)
    s3_endpoint, s3_key, s3_secret = (
        settings.s3_endpoint or _DEFAULT_S3[0],
        settings.s3_access_key or _DEFAULT_S3[1],
        settings.s3_secret_key or _DEFAULT_S3[2],
    )
    services = _service_pids(s3_endpoint)
    minio = Target(
        "minio",
        Account(s3_endpoint, s3_key, s3_secret, settings.s3_region),
        native=False,
        pids={k: v for k, v in services.items() if k == "minio"},
    )
    targets: dict[str, Target] = {}
    waits: list[tuple[str, list[subprocess.Popen[bytes]], list[Path]]] = []

    def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        proc = _spawn(args, env, log)
        stack.callback(_stop, proc)
        return proc

    if "distributed" in names:
        status("starting Sangraha distributed: RabbitMQ vhost, gateway, receiver, getter")
        amqp_url = _isolated_vhost(stack, settings.amqp_url, run_id)
        access, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(24)
        port = _free_port()
        native_buckets = (f"sgb-{run_id}-dist-native", f"sgb-{run_id}-dist-native-status")
        common = {
            "access_key": access,
            "secret_key": secret,
            "amqp_url": amqp_url,
            "s3_endpoint": s3_endpoint,
            "s3_access_key": s3_key,
            "s3_secret_key": s3_secret,
            "s3_region": settings.s3_region,
            "native_bucket": native_buckets[0],
            "native_status_bucket": native_buckets[1],
        }
        procs, logs = [], []
        pids: dict[str, list[int]] = {}
        # Registered first, stopped last: workers finish what the gateway sent.
        for role in ("receiver", "getter"):
            for i in range(workers):
                log = workdir / f"{role}-{i}.log"
                beat = str(workdir / f"{role}-{i}.alive")
                proc = spawn([role], _child_env(settings, **common, heartbeat_file=beat), log)
                procs.append(proc)
                logs.append(log)
                pids.setdefault(role, []).append(proc.pid)
        log = workdir / "gateway.log"
        gateway_env = _child_env(settings, **common, port=str(port))
        procs.append(spawn(["gateway", "--port", str(port)], gateway_env, log))
        logs.append(log)
        pids["gateway"] = [procs[-1].pid]
        pids.update(services)
        endpoint = f"http://127.0.0.1:{port}"
        targets["distributed"] = Target(
            "distributed",
            Account(endpoint, access, secret, settings.region),
            native=True,
            pids=pids,
            native_buckets=native_buckets,
            fallback=minio,
            procs=list(zip(procs, logs, strict=True)),
        )
        waits.append((endpoint + _READY_PATH, procs, logs))

    if "embedded" in names:
        status("starting Sangraha embedded: sangraha serve on a temporary data directory")
        access, secret = "BENCH" + secrets.token_hex(6).upper(), secrets.token_urlsafe(24)
        port = _free_port()
        data = workdir / "embedded-data"
        log = workdir / "serve.log"
        env = _child_env(settings, access_key=access, secret_key=secret)
        proc = spawn(["serve", "--port", str(port), "--data", str(data)], env, log)
        endpoint = f"http://127.0.0.1:{port}"
        targets["embedded"] = Target(
            "embedded",
            Account(endpoint, access, secret, settings.region),
            native=True,
            pids={"serve": [proc.pid]},
            procs=[(proc, log)],
        )
        waits.append((endpoint + _READY_PATH, [proc], [log]))

    if "minio" in names:
        waits.append((s3_endpoint.rstrip("/") + "/minio/health/live", [], []))
        targets["minio"] = minio

    for url, procs, logs in waits:
        _wait_ready(url, procs, logs)
    return [targets[n] for n in TARGETS if n in targets]
