"""Start and stop real Sangraha processes for integration tests."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SANGRAHA = [sys.executable, "-m", "sangraha.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Services:
    amqp_url: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str


def service_settings() -> Services:
    return Services(
        amqp_url=os.environ.get("SANGRAHA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
        s3_endpoint=os.environ.get("SANGRAHA_TEST_S3_ENDPOINT", "http://127.0.0.1:9000"),
        s3_access_key=os.environ.get("SANGRAHA_TEST_S3_ACCESS_KEY", "minioadmin"),
        s3_secret_key=os.environ.get("SANGRAHA_TEST_S3_SECRET_KEY", "minioadmin"),
    )


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Process:
    role: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [*SANGRAHA, *self.args], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Stack:
    """Gateways and workers as separate processes on real RabbitMQ and MinIO."""

    services: Services
    workdir: Path
    access_key: str = field(default_factory=lambda: "AK" + secrets.token_hex(8).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))
    processes: list[Process] = field(default_factory=list)
    endpoint: str = ""

    def env(self, role: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SANGRAHA_")}
        env.update(
            SANGRAHA_ACCESS_KEY=self.access_key,
            SANGRAHA_SECRET_KEY=self.secret_key,
            SANGRAHA_AMQP_URL=self.services.amqp_url,
            SANGRAHA_S3_ENDPOINT=self.services.s3_endpoint,
            SANGRAHA_S3_ACCESS_KEY=self.services.s3_access_key,
            SANGRAHA_S3_SECRET_KEY=self.services.s3_secret_key,
            SANGRAHA_HEARTBEAT_FILE=str(self.workdir / f"{role}-{len(self.processes)}.alive"),
        )
        env.update(extra)
        return env

    def spawn(self, role: str, *args: str, **env: str) -> Process:
        index = sum(1 for p in self.processes if p.role == role)
        proc = Process(
            role=role,
            args=[role, *args],
            env=self.env(role, **env),
            log_path=self.workdir / f"{role}-{index}.log",
        )
        proc.start()
        self.processes.append(proc)
        return proc

    def gateway(self, **env: str) -> str:
        """Start a gateway and return its endpoint once it is ready."""
        port = free_port()
        self.spawn("gateway", "--port", str(port), **env)
        endpoint = f"http://127.0.0.1:{port}"
        wait_ready(endpoint)
        return endpoint

    def by_role(self, role: str) -> list[Process]:
        return [p for p in self.processes if p.role == role]

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()


def wait_ready(endpoint: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/_sangraha/ready", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{endpoint} not ready after {timeout}s: {last}")


class EmbeddedServer:
    """``sangraha serve`` as a subprocess (what a laptop user runs)."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key = "EMB" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.proc = Process(
            role="serve",
            args=["serve", "--port", str(self.port), "--data", str(self.data_dir)],
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("SANGRAHA_")},
                "SANGRAHA_ACCESS_KEY": self.access_key,
                "SANGRAHA_SECRET_KEY": self.secret_key,
            },
            log_path=workdir / "serve.log",
        )

    def start(self) -> None:
        self.proc.start()
        wait_ready(self.endpoint)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.proc.stop(sig)


RABBITMQ_NODE = os.environ.get("SANGRAHA_RABBITMQ_NODENAME", "rabbit@localhost")


def rabbitmqctl(*args: str) -> str:
    """Run ``rabbitmqctl`` against the test broker's node; its stdout."""
    result = subprocess.run(
        ["rabbitmqctl", "-q", "-n", RABBITMQ_NODE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


@contextlib.contextmanager
def isolated_vhost(services: Services, prefix: str = "sangraha-test") -> Iterator[Services]:
    """The services with a RabbitMQ virtual host of their own (deleted afterwards):
    processes started on it share no queue with the rest of the session."""
    name = f"{prefix}-{secrets.token_hex(5)}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        base = services.amqp_url.rstrip("/")
        yield dataclasses.replace(services, amqp_url=f"{base}/{urllib.parse.quote(name, safe='')}")
    finally:
        rabbitmqctl("delete_vhost", name)
