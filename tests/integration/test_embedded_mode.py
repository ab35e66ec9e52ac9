"""Embedded mode as a user meets it: ``sangraha serve`` as a real process.

- ``kill -9`` in the middle of concurrent PUTs and overwrites, then a restart
  on the same data directory: every object is a version a client wrote, never
  a torn or mixed one, and nothing is left in ``tmp/``;
- hostile keys (``../``, absolute paths, encoded dots, NUL) are plain keys that
  read back exactly, and nothing is written outside the data directory;
- the README's run command, exactly as written, driven with the aws CLI and
  stopped with Ctrl-C;
- credentials: created once (0600), reused, or taken from the environment.

None of these needs RabbitMQ or MinIO.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from sangraha.settings import ENV_VARS
from tests.integration.conftest import make_client
from tests.integration.stack import EmbeddedServer, Process, free_port, wait_ready

REPO = Path(__file__).resolve().parents[2]
KiB = 1024
MiB = 1024 * KiB


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any Sangraha setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(extra)
    return env


# ------------------------------------------------------------------ banner


@dataclass(frozen=True)
class Banner:
    endpoint: str
    access_key: str
    secret_key: str


_BANNER_END = "Press Ctrl-C to stop."


def parse_banner(text: str) -> Banner:
    """The endpoint and credentials ``sangraha serve`` printed."""
    found = {}
    for name, pattern in (
        ("endpoint", r"Sangraha is serving S3 at (\S+)"),
        ("access_key", r"^\s*Access key:\s*(\S+)\s*$"),
        ("secret_key", r"^\s*Secret key:\s*(\S+)\s*$"),
    ):
        match = re.search(pattern, text, re.MULTILINE)
        assert match, f"the banner has no {name}:\n{text}"
        found[name] = match.group(1)
    return Banner(**found)


def wait_banner(
    log: Path, proc: subprocess.Popen[bytes], timeout: float, errors: Path | None = None
) -> Banner:
    """The banner printed to ``log``; ``errors`` (stderr) is shown on failure."""

    def shown() -> str:
        return "".join(
            p.read_text(errors="replace") for p in (log, errors) if p is not None and p.exists()
        )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if _BANNER_END in text:
            return parse_banner(text)
        if proc.poll() is not None:
            pytest.fail(f"the server exited with {proc.returncode} before its banner:\n{shown()}")
        time.sleep(0.1)
    pytest.fail(f"no banner after {timeout}s:\n{shown()}")


def serve_process(workdir: Path, data_dir: Path, port: int, **env: str) -> Process:
    """``sangraha serve`` with no Sangraha setting in its environment but ``env``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return Process(
        role="serve",
        args=["serve", "--port", str(port), "--data", str(data_dir)],
        env=_clean_env(**env),
        log_path=workdir / f"serve-{uuid.uuid4().hex[:6]}.log",
    )


def start_and_read_banner(proc: Process) -> Banner:
    proc.start()
    assert proc.popen is not None
    banner = wait_banner(proc.log_path, proc.popen, timeout=60)
    wait_ready(banner.endpoint)
    return banner


# ------------------------------------------------------------------ crash test


@dataclass
class _Write:
    key: str
    md5: str
    size: int
    started: float
    ended: float = math.inf  # when the answer (success or error) arrived
    acked: bool = False


def _writer(
    client: Any,
    bucket: str,
    keys: list[str],
    rng: random.Random,
    stop: threading.Event,
    record: list[_Write],
    problems: list[str],
) -> None:
    while not stop.is_set():
        key = rng.choice(keys)
        size = rng.choice((0, rng.randrange(1, 64 * KiB), rng.randrange(1, 2 * MiB + 1)))
        body = rng.randbytes(size)
        write = _Write(key=key, md5=_md5(body), size=size, started=time.monotonic())
        record.append(write)
        try:
            answer = client.put_object(Bucket=bucket, Key=key, Body=body)
        except (ClientError, BotoCoreError):
            write.ended = time.monotonic()
            continue
        write.ended = time.monotonic()
        write.acked = True
        if answer["ETag"].strip('"') != write.md5:
            problems.append(f"PUT {key} answered ETag {answer['ETag']}, expected {write.md5}")


def _allowed(writes: list[_Write], killed_at: float) -> set[str]:
    """MD5s the key may hold after the crash: any write that had reached the
    server (started before the kill) unless an acknowledged write began after
    it had been answered (that one was committed later, so it wins)."""
    acked_starts = [w.started for w in writes if w.acked]
    return {
        w.md5
        for w in writes
        if w.started < killed_at and not any(s > w.ended for s in acked_starts)
    }


def _data_files(data_dir: Path, sub: str) -> list[Path]:
    return [p for p in (data_dir / sub).rglob("*") if p.is_file()]


@pytest.mark.heavy
def test_kill_9_during_concurrent_puts_leaves_whole_versions_and_no_temp_files(tmp_path):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    server = EmbeddedServer(tmp_path)
    server.start()
    bucket = "crash"
    make_client(server.endpoint, server.access_key, server.secret_key).create_bucket(Bucket=bucket)
    writers = 6
    hot = [f"hot-{i}" for i in range(3)]
    keyspaces = [hot + [f"w{t}/k{i:02d}" for i in range(10)] for t in range(writers)]
    # Per key, what it may hold: the writes of the current round, after a
    # pseudo-write standing for the state verified at the end of the last one.
    history: dict[str, list[_Write]] = {}
    stats = []
    try:
        for round_no in range(3):
            stop = threading.Event()
            records: list[list[_Write]] = [[] for _ in range(writers)]
            problems: list[str] = []
            clients = [
                make_client(
                    server.endpoint,
                    server.access_key,
                    server.secret_key,
                    connect_timeout=5,
                    read_timeout=30,
                )
                for _ in range(writers)
            ]
            threads = [
                threading.Thread(
                    target=_writer,
                    args=(
                        clients[t],
                        bucket,
                        keyspaces[t],
                        random.Random(rng.random()),
                        stop,
                        records[t],
                        problems,
                    ),
                    daemon=True,
                )
                for t in range(writers)
            ]
            for thread in threads:
                thread.start()
            # Kill mid-stream: once some PUTs were acknowledged, at a random moment.
            settle = time.monotonic() + 30
            while sum(w.acked for r in records for w in r) < 10 and time.monotonic() < settle:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.2, 1.5))
            assert server.proc.popen is not None
            server.proc.popen.send_signal(signal.SIGKILL)
            stop.set()
            server.proc.popen.wait(10)
            killed_at = time.monotonic()  # no write sent after this reached the server
            for thread in threads:
                thread.join(30)
                assert not thread.is_alive(), "a writer hung after the server died"
            assert problems == [], f"seed {seed}: {problems}"

            writes = [w for record in records for w in record]
            for w in writes:
                history.setdefault(w.key, []).append(w)
            acked = sum(w.acked for w in writes)
            in_flight = sum(not w.acked and w.started < killed_at for w in writes)
            assert acked > 0, f"seed {seed}: round {round_no} acknowledged no PUT before the kill"

            server.start()  # same port, data directory and credentials
            leftovers = _data_files(server.data_dir, "tmp")
            assert leftovers == [], f"seed {seed}: temporary files after restart: {leftovers}"

            client = make_client(server.endpoint, server.access_key, server.secret_key)
            listed = {}
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for entry in page.get("Contents", []):
                    listed[entry["Key"]] = entry
            for key, writes_of_key in history.items():
                if any(w.acked for w in writes_of_key):
                    assert key in listed, f"seed {seed}: acknowledged {key!r} is gone"
            now = time.monotonic()
            for key, entry in listed.items():
                got = client.get_object(Bucket=bucket, Key=key)
                body = got["Body"].read()
                digest = _md5(body)
                assert len(body) == entry["Size"] == got["ContentLength"], key
                assert entry["ETag"].strip('"') == got["ETag"].strip('"') == digest, (
                    f"seed {seed}: {key!r} ETag disagrees with its bytes (torn or mixed)"
                )
                allowed = _allowed(history.get(key, []), killed_at)
                assert digest in allowed, (
                    f"seed {seed}, round {round_no}: {key!r} holds {digest} ({len(body)} bytes), "
                    f"not a version a client could have left: {sorted(allowed)}"
                )
                history[key] = [_Write(key, digest, len(body), now, now, acked=True)]
            blobs = _data_files(server.data_dir, "blobs")
            assert len(blobs) == len(listed), (
                f"seed {seed}: {len(blobs)} blob files for {len(listed)} objects after recovery"
            )
            stats.append((len(writes), acked, in_flight, len(listed)))
    finally:
        server.stop()
    print(f"\ncrash test seed {seed}; per round (PUTs sent, acked, in flight, objects): {stats}")


# ------------------------------------------------------------------ hostile keys


def _snapshot(root: Path, skip: set[Path]) -> dict[str, tuple[bool, int, int]]:
    """Every path under ``root`` except ``skip`` (and what is under them)."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in dirnames + filenames:
            path = here / name
            if path in skip:
                continue
            st = path.lstat()
            tree[str(path.relative_to(root))] = (
                stat.S_ISDIR(st.st_mode),
                st.st_size,
                0 if stat.S_ISDIR(st.st_mode) else st.st_mtime_ns,
            )
    return tree


_DATA_LAYOUT = re.compile(
    r"^(LOCK|index\.sqlite3(-wal|-shm|-journal)?|tmp|blobs|blobs/[0-9a-f]{2}"
    r"|blobs/[0-9a-f]{2}/[0-9a-f]{32})$"
)


class _RawS3:
    """Signed requests whose path goes on the wire exactly as given."""

    def __init__(self, server: EmbeddedServer) -> None:
        self._server = server
        self._credentials = Credentials(server.access_key, server.secret_key)

    def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        host = f"127.0.0.1:{self._server.port}"
        req = AWSRequest(
            method=method,
            url=f"http://{host}{path}",
            data=body,
            headers={"Host": host, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()},
        )
        # S3 signing uses the path as sent (no dot-segment normalisation).
        S3SigV4Auth(self._credentials, "s3", "us-east-1").add_auth(req)
        conn = http.client.HTTPConnection("127.0.0.1", self._server.port, timeout=30)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in req.headers.items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def _hostile_keys(escape: str) -> list[tuple[str, str]]:
    """(path after ``/bucket/`` as sent on the wire, the key S3 decodes from it)."""
    deep = "../" * 16
    return [
        ("../../etc/passwd", "../../etc/passwd"),
        ("../outside", "../outside"),
        ("/abs/path", "/abs/path"),
        (f"/tmp/{escape}-abs", f"/tmp/{escape}-abs"),
        (f"%2ftmp%2f{escape}-abs-enc", f"/tmp/{escape}-abs-enc"),
        ("a/../../b", "a/../../b"),
        ("%2e%2e/x", "../x"),
        ("%2E%2E%2F%2E%2E%2Fy", "../../y"),
        (f"{deep}tmp/{escape}-deep", f"{deep}tmp/{escape}-deep"),
        (quote(f"{deep}tmp/{escape}-deep-enc", safe=""), f"{deep}tmp/{escape}-deep-enc"),
        ("..", ".."),
        (".", "."),
        ("%2e", "."),
        ("a%00b", "a\x00b"),
        ("%00", "\x00"),
        (f"..%00/../../tmp/{escape}-nul", f"..\x00/../../tmp/{escape}-nul"),
        ("..%5c..%5cwindows", "..\\..\\windows"),
        ("blobs/00/../../index.sqlite3", "blobs/00/../../index.sqlite3"),
        ("tmp/x", "tmp/x"),
        ("LOCK", "LOCK"),
    ]


def test_hostile_keys_are_plain_keys_and_write_nothing_outside_the_data_dir(tmp_path):
    escape = f"sangraha-escape-{uuid.uuid4().hex[:12]}"
    server = EmbeddedServer(tmp_path / "srv")
    (tmp_path / "srv").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0\n")
    server.start()
    skip = {server.data_dir, server.proc.log_path}
    try:
        s3 = make_client(server.endpoint, server.access_key, server.secret_key)
        raw = _RawS3(server)
        bucket, boto_bucket = "hostile-raw", "hostile-boto"
        s3.create_bucket(Bucket=bucket)
        s3.create_bucket(Bucket=boto_bucket)
        before = _snapshot(tmp_path, skip)
        stored: dict[str, dict[str, bytes]] = {bucket: {}, boto_bucket: {}}
        outcomes = []
        for wire, key in _hostile_keys(escape):
            body = f"body of {wire!r} ".encode() * 3
            status, answer = raw.request("PUT", f"/{bucket}/{wire}", body)
            if status == 200:
                stored[bucket][key] = body
                outcomes.append(f"{wire} stored")
            else:
                assert 400 <= status < 500 and b"<Error><Code>" in answer, (
                    f"PUT {wire!r}: neither stored nor refused as S3 does: {status} {answer!r}"
                )
                outcomes.append(f"{wire} refused {status}")
            # The same key through boto3, which encodes it its own way.
            try:
                s3.put_object(Bucket=boto_bucket, Key=key, Body=body)
            except ClientError as exc:
                status = exc.response["ResponseMetadata"]["HTTPStatusCode"]
                assert 400 <= status < 500, f"boto3 PUT {key!r}: {exc}"
            else:
                stored[boto_bucket][key] = body

        for name, objects in stored.items():
            listed = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                listed += [entry["Key"] for entry in page.get("Contents", [])]
            assert listed == sorted(objects, key=str.encode), f"{name} lists other keys"
            for key, body in objects.items():
                got = s3.get_object(Bucket=name, Key=key)["Body"].read()
                assert got == body, f"{key!r} does not read back exactly from {name}"
        for wire, key in _hostile_keys(escape):
            if key in stored[bucket]:
                assert raw.request("GET", f"/{bucket}/{wire}") == (200, stored[bucket][key]), wire

        assert _snapshot(tmp_path, skip) == before, "something was written outside the data dir"
        for path in (Path("/tmp"), Path("/")):
            debris = [p for p in path.iterdir() if p.name.startswith(escape)]
            assert debris == [], f"a key escaped the data directory: {debris}"
        assert (tmp_path / "etc" / "passwd").read_text() == "root:x:0:0\n"
        layout = [str(p.relative_to(server.data_dir)) for p in sorted(server.data_dir.rglob("*"))]
        strays = [name for name in layout if not _DATA_LAYOUT.match(name)]
        assert strays == [], f"files in the data directory outside its layout: {strays}"
    finally:
        server.stop()
    print("\n" + "; ".join(outcomes))


# ------------------------------------------------------------------ README


def readme_run_command() -> str:
    """The first ```sh block after the "Quick start" heading of README.md."""
    text = (REPO / "README.md").read_text()
    heading = re.search(r"^#+ Quick start.*$", text, re.MULTILINE)
    assert heading, "README.md has no Quick start section"
    block = re.search(r"^```sh\n(.*?)^```", text[heading.end() :], re.MULTILINE | re.DOTALL)
    assert block, "the Quick start has no ```sh block"
    return block.group(1).strip()


def _port_in_use(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _aws(env: dict[str, str], endpoint: str, *args: str) -> str:
    aws_bin = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    assert aws_bin, "the aws CLI is not installed (it is a test dependency)"
    result = subprocess.run(
        [aws_bin, "--endpoint-url", endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"aws {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def test_readme_run_command_as_written_serves_the_aws_cli_and_stops_on_ctrl_c(tmp_path):
    command = readme_run_command()
    assert command == "./scripts/serve", f"the README's run command changed: {command!r}"
    if _port_in_use(8000):
        pytest.fail(
            "port 8000 is in use; the README's command serves on 8000, so this test "
            "needs it free (stop whatever listens there)"
        )
    data_dir = REPO / "sangraha-data"
    created = not data_dir.exists()
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=REPO,
            env=_clean_env(),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group, as a terminal's job
        )
    try:
        banner = wait_banner(out, proc, timeout=300, errors=err)  # a first run builds the venv
        assert banner.endpoint == "http://127.0.0.1:8000"
        assert data_dir.is_dir(), "the README's command did not store in ./sangraha-data"
        wait_ready(banner.endpoint)
        env = dict(os.environ)
        env.update(
            AWS_ACCESS_KEY_ID=banner.access_key,
            AWS_SECRET_ACCESS_KEY=banner.secret_key,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
        )
        bucket = f"readme-{uuid.uuid4().hex[:12]}"
        upload = tmp_path / "upload.bin"
        upload.write_bytes(os.urandom(3 * MiB + 123))
        _aws(env, banner.endpoint, "s3", "mb", f"s3://{bucket}")
        _aws(env, banner.endpoint, "s3", "cp", str(upload), f"s3://{bucket}/dir/upload.bin")
        listing = _aws(env, banner.endpoint, "s3", "ls", f"s3://{bucket}/dir/")
        assert "upload.bin" in listing and str(upload.stat().st_size) in listing, listing
        download = tmp_path / "download.bin"
        _aws(env, banner.endpoint, "s3", "cp", f"s3://{bucket}/dir/upload.bin", str(download))
        assert download.read_bytes() == upload.read_bytes()
        _aws(env, banner.endpoint, "s3", "rb", "--force", f"s3://{bucket}")

        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail("Ctrl-C did not stop the server within 10 s")
        errors = err.read_text(errors="replace")
        assert rc == 0, f"Ctrl-C exit status {rc}:\n{errors}"
        assert "Traceback" not in errors, errors
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        if created:
            shutil.rmtree(data_dir, ignore_errors=True)


# ------------------------------------------------------------------ credentials


def _signed_in(banner: Banner) -> bool:
    client = make_client(banner.endpoint, banner.access_key, banner.secret_key)
    try:
        client.list_buckets()
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 403, exc
        return False
    return True


def test_first_start_saves_random_credentials_0600_and_restart_reuses_them(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    first = serve_process(tmp_path, data, port)
    try:
        banner = start_and_read_banner(first)
    finally:
        first.stop(signal.SIGINT)
    assert first.popen is not None and first.popen.returncode == 0
    saved_path = data / "credentials.json"
    mode = stat.S_IMODE(saved_path.stat().st_mode)
    assert mode == 0o600, f"credentials.json has mode {mode:o}"
    saved = json.loads(saved_path.read_text())
    assert (saved["access_key"], saved["secret_key"]) == (banner.access_key, banner.secret_key)
    assert banner.endpoint == f"http://127.0.0.1:{port}"
    assert len(banner.access_key) >= 16 and len(banner.secret_key) >= 30

    again = serve_process(tmp_path, data, port)
    try:
        restarted = start_and_read_banner(again)
        assert restarted == banner, "a restart did not reuse the saved credentials"
        assert _signed_in(restarted)
        wrong = Banner(banner.endpoint, banner.access_key, banner.secret_key[:-1] + "x")
        assert not _signed_in(wrong)
    finally:
        again.stop(signal.SIGINT)
    assert json.loads(saved_path.read_text()) == saved
    assert stat.S_IMODE(saved_path.stat().st_mode) == 0o600

    other = serve_process(tmp_path, tmp_path / "other-data", free_port())
    try:
        fresh = start_and_read_banner(other)
    finally:
        other.stop(signal.SIGINT)
    assert (fresh.access_key, fresh.secret_key) != (banner.access_key, banner.secret_key)
    assert fresh.secret_key != banner.secret_key and fresh.access_key != banner.access_key


def test_credentials_from_environment_are_used_printed_and_not_saved(tmp_path):
    access, secret = "ENVKEY" + uuid.uuid4().hex[:10].upper(), "env-" + uuid.uuid4().hex
    data = tmp_path / "data"
    # A data directory that already has saved credentials: the environment wins.
    saved = serve_process(tmp_path, data, free_port())
    try:
        saved_banner = start_and_read_banner(saved)
    finally:
        saved.stop(signal.SIGINT)
    saved_text = (data / "credentials.json").read_text()

    for data_dir in (data, tmp_path / "fresh-data"):
        proc = serve_process(
            tmp_path,
            data_dir,
            free_port(),
            SANGRAHA_ACCESS_KEY=access,
            SANGRAHA_SECRET_KEY=secret,
        )
        try:
            banner = start_and_read_banner(proc)
            assert (banner.access_key, banner.secret_key) == (access, secret)
            assert _signed_in(banner)
            stale = Banner(banner.endpoint, saved_banner.access_key, saved_banner.secret_key)
            assert not _signed_in(stale), "the saved credentials still work beside the env ones"
        finally:
            proc.stop(signal.SIGINT)
        assert proc.popen is not None and proc.popen.returncode == 0
    assert (data / "credentials.json").read_text() == saved_text
    assert not (tmp_path / "fresh-data" / "credentials.json").exists(), (
        "credentials from the environment were saved to disk"
    )
