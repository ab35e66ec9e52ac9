"""Gateways started with extra settings (credentials file, TLS, a domain).

The session's ``target`` fixture serves the default configuration.  Tests of
settings start their own gateway, in both modes: a further gateway process on
the session's distributed stack (sharing its receiver and getter), or a
``sangraha serve`` process with its own data directory.
"""

from __future__ import annotations

import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.conftest import Target
from tests.integration.stack import EmbeddedServer, Process, free_port

MODES = ["distributed", "embedded"]


def wait_ready(endpoint: str, context: ssl.SSLContext | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(
                endpoint + "/_sangraha/ready", timeout=5, context=context
            ) as r:
                if r.status == 200:
                    return
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{endpoint} not ready after {timeout}s: {last}")


@contextmanager
def configured_target(
    request: pytest.FixtureRequest,
    mode: str,
    workdir: Path,
    *,
    scheme: str = "http",
    context: ssl.SSLContext | None = None,
    **env: str,
) -> Iterator[Target]:
    """Start a gateway in ``mode`` with ``SANGRAHA_*`` settings ``env``; yield
    its Target; stop it afterwards."""
    port = free_port()
    endpoint = f"{scheme}://127.0.0.1:{port}"
    proc: Process
    if mode == "distributed":
        stack = request.getfixturevalue("stack")
        proc = stack.spawn("gateway", "--port", str(port), **env)
        keys = stack.access_key, stack.secret_key
    else:
        server = EmbeddedServer(workdir, port)
        server.proc.env.update(env)
        proc = server.proc
        proc.start()
        keys = server.access_key, server.secret_key
    try:
        try:
            wait_ready(endpoint, context)
        except RuntimeError:
            pytest.fail(f"{mode} gateway did not start:\n{proc.log_text()[-3000:]}")
        yield Target(mode, endpoint, *keys)
    finally:
        proc.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 and localhost (openssl CLI)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key
