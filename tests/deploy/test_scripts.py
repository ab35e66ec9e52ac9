"""scripts/deploy, scale and teardown, run against a fake Docker engine.

There is no Docker engine here; tests/deploy/fake_docker.py answers the
commands the scripts send and renders the stack with the real client's
``docker stack config``.  What is checked is the scripts' own logic: swarm
set-up, images, secrets (generated once, consistent, kept private), the
variables handed to ``docker stack deploy``, scaling and teardown.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).with_name("fake_docker.py")
PINNED_MINIO = re.search(
    r"^ARG MINIO_VERSION=(\S+)$", (ROOT / "docker" / "minio.Dockerfile").read_text(), re.M
).group(1)  # type: ignore[union-attr]

Run = Callable[..., subprocess.CompletedProcess[str]]


def _fresh_state() -> dict[str, Any]:
    return {
        "engine": True,
        "swarm": {"state": "inactive"},
        "nodes": {},
        "stacks": {},
        "services": {},
        "secrets": {},
        "images": [],
        "registry": [],
        "calls": [],
    }


@pytest.fixture
def engine(tmp_path: Path) -> Path:
    real = shutil.which("docker")
    if real is None:
        message = "the docker client is not installed (the fake renders with it)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("docker", "curl"):
        wrapper = bin_dir / tool
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" {tool} "$@"\n')
        wrapper.chmod(0o755)
    state = tmp_path / "state.json"
    state.write_text(json.dumps(_fresh_state()))
    return state


@pytest.fixture
def run(engine: Path, tmp_path: Path) -> Run:
    def _run(script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SANGRAHA_")}
        environ.update(
            PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}",
            FAKE_DOCKER_STATE=str(engine),
            REAL_DOCKER=str(shutil.which("docker")),  # the engine fixture checked it exists
            SANGRAHA_SECRETS_FILE=str(tmp_path / "private" / "secrets.env"),
            SANGRAHA_DEPLOY_TIMEOUT="20",
        )
        environ.update(env)
        return subprocess.run(
            [str(ROOT / "scripts" / script), *args],
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    return _run


def _state(engine: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(engine.read_text())
    return loaded


def _calls(engine: Path, *prefix: str) -> list[list[str]]:
    return [c for c in _state(engine)["calls"] if c[: len(prefix)] == list(prefix)]


def _ok(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_deploy_from_a_fresh_host(run: Run, engine: Path, tmp_path: Path) -> None:
    proc = _ok(run("deploy"))
    state = _state(engine)

    assert state["swarm"]["state"] == "active"
    assert state["nodes"]["node1"]["labels"] == {"sangraha.data": "true"}
    assert "sangraha-registry" in state["stacks"]
    tag = state["stacks"]["sangraha"]["env"]["SANGRAHA_TAG"]
    assert {
        f"127.0.0.1:5000/sangraha:{tag}",
        "127.0.0.1:5000/sangraha:latest",
        f"127.0.0.1:5000/sangraha-minio:{PINNED_MINIO}",
    } <= set(state["registry"])
    assert state["stacks"]["sangraha"]["env"]["SANGRAHA_MINIO_TAG"] == PINNED_MINIO

    services = state["services"]
    assert services["sangraha_gateway"]["image"] == f"127.0.0.1:5000/sangraha:{tag}"
    assert services["sangraha_minio"]["image"].endswith(f"sangraha-minio:{PINNED_MINIO}")
    replicas = {s: services[f"sangraha_{s}"]["replicas"] for s in ("gateway", "receiver", "getter")}
    assert replicas == {"gateway": 1, "receiver": 3, "getter": 3}

    secrets = state["secrets"]
    assert set(secrets) == {
        "sangraha_access_key",
        "sangraha_secret_key",
        "sangraha_s3_access_key",
        "sangraha_s3_secret_key",
        "sangraha_amqp_url",
        "sangraha_rabbitmq_credentials",
    }
    url = re.fullmatch(r"amqp://(\w+):(\w+)@rabbitmq:5672/", secrets["sangraha_amqp_url"])
    assert url, secrets["sangraha_amqp_url"]
    conf = dict(
        line.split(" = ", 1) for line in secrets["sangraha_rabbitmq_credentials"].splitlines()
    )
    assert conf == {"default_user": url.group(1), "default_pass": url.group(2)}
    assert len(url.group(2)) >= 32
    assert re.fullmatch(r"[0-9A-F]{20}", secrets["sangraha_access_key"])
    assert len(secrets["sangraha_secret_key"]) >= 40
    assert secrets["sangraha_access_key"] != secrets["sangraha_s3_access_key"]

    secrets_file = tmp_path / "private" / "secrets.env"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    saved = dict(
        line.split("=", 1) for line in secrets_file.read_text().splitlines() if "=" in line
    )
    assert saved["SANGRAHA_SECRET_KEY"] == secrets["sangraha_secret_key"]
    assert saved["RABBITMQ_PASSWORD"] == url.group(2)
    # The client credentials are shown once, on stdout.
    assert secrets["sangraha_access_key"] in proc.stdout
    assert secrets["sangraha_secret_key"] in proc.stdout
    assert secrets["sangraha_s3_secret_key"] not in proc.stdout + proc.stderr
    assert url.group(2) not in proc.stdout + proc.stderr
    # Readiness was awaited on the published port.
    assert any(c[-1] == "http://127.0.0.1:8000/_sangraha/ready" for c in _calls(engine, "curl"))


def test_redeploy_keeps_the_credentials_and_the_minio_build(run: Run, engine: Path) -> None:
    _ok(run("deploy"))
    before = _state(engine)["secrets"]
    builds = len(_calls(engine, "docker", "build"))
    proc = _ok(run("deploy", SANGRAHA_GATEWAY_REPLICAS="2", SANGRAHA_TAG="v2"))
    state = _state(engine)
    assert state["secrets"] == before
    assert "secret" not in proc.stderr.lower().replace("secrets.env", "")
    assert not _calls(engine, "docker", "swarm")[1:]
    new_builds = _calls(engine, "docker", "build")[builds:]
    assert len(new_builds) == 1 and "Dockerfile" in new_builds[0][new_builds[0].index("-f") + 1]
    assert state["services"]["sangraha_gateway"]["replicas"] == 2
    assert state["services"]["sangraha_gateway"]["image"] == "127.0.0.1:5000/sangraha:v2"
    assert state["secrets"]["sangraha_access_key"] not in proc.stdout


def test_deploy_recreates_secrets_from_the_secrets_file(run: Run, engine: Path) -> None:
    _ok(run("deploy"))
    before = _state(engine)["secrets"]
    _ok(run("teardown", "--secrets"))
    assert _state(engine)["secrets"] == {}
    _ok(run("deploy", "--no-build"))
    assert _state(engine)["secrets"] == before


def test_deploy_refuses_to_split_the_rabbitmq_password(
    run: Run, engine: Path, tmp_path: Path
) -> None:
    _ok(run("deploy"))
    state = _state(engine)
    del state["secrets"]["sangraha_rabbitmq_credentials"]
    engine.write_text(json.dumps(state))
    (tmp_path / "private" / "secrets.env").unlink()
    proc = run("deploy", "--no-build")
    assert proc.returncode != 0
    assert "sangraha_amqp_url" in proc.stderr, proc.stderr
    assert re.search(r"RABBITMQ_(USER|PASSWORD) is not in", proc.stderr), proc.stderr
    assert "sangraha_rabbitmq_credentials" not in _state(engine)["secrets"]


def test_deploy_replaces_a_lost_secret_without_the_secrets_file(
    run: Run, engine: Path, tmp_path: Path
) -> None:
    _ok(run("deploy"))
    state = _state(engine)
    old_key = state["secrets"].pop("sangraha_access_key")
    engine.write_text(json.dumps(state))
    (tmp_path / "private" / "secrets.env").unlink()
    proc = _ok(run("deploy", "--no-build"))
    secrets = _state(engine)["secrets"]
    assert secrets["sangraha_access_key"] not in {"", old_key}
    assert secrets["sangraha_access_key"] in proc.stdout
    saved = (tmp_path / "private" / "secrets.env").read_text()
    assert f"SANGRAHA_ACCESS_KEY={secrets['sangraha_access_key']}" in saved
    assert "RABBITMQ_PASSWORD" not in saved


def test_deploy_with_an_external_store_skips_minio(run: Run, engine: Path) -> None:
    endpoint = "https://s3.eu-west-1.amazonaws.com"
    _ok(run("deploy", SANGRAHA_S3_ENDPOINT=endpoint, SANGRAHA_S3_REGION="eu-west-1"))
    state = _state(engine)
    assert not any("sangraha-minio" in ref for ref in state["images"])
    assert state["services"]["sangraha_minio"]["replicas"] == 0
    for role in ("receiver", "getter"):
        env = state["services"][f"sangraha_{role}"]["env"]
        assert env["SANGRAHA_S3_ENDPOINT"] == endpoint
        assert env["SANGRAHA_S3_REGION"] == "eu-west-1"


def test_deploy_fails_clearly_without_an_engine(run: Run, engine: Path) -> None:
    state = _state(engine)
    state["engine"] = False
    engine.write_text(json.dumps(state))
    proc = run("deploy")
    assert proc.returncode != 0
    assert "cannot reach the Docker engine" in proc.stderr


def test_scale_scales_and_waits(run: Run, engine: Path) -> None:
    _ok(run("deploy"))
    proc = _ok(run("scale", "receiver", "6"))
    assert _state(engine)["services"]["sangraha_receiver"]["replicas"] == 6
    assert "SANGRAHA_RECEIVER_REPLICAS=6" in proc.stderr
    _ok(run("scale", "gateway=2", "getter=4"))
    services = _state(engine)["services"]
    assert services["sangraha_gateway"]["replicas"] == 2
    assert services["sangraha_getter"]["replicas"] == 4


@pytest.mark.parametrize(
    "args",
    [("rabbitmq", "2"), ("minio=2",), ("receiver", "many"), ("gateway", "0"), ("web", "2")],
)
def test_scale_refuses_what_cannot_scale(run: Run, engine: Path, args: tuple[str, ...]) -> None:
    proc = run("scale", *args)
    assert proc.returncode != 0
    assert not _calls(engine, "docker", "service", "scale")


def test_teardown_keeps_data_and_secrets_unless_asked(
    run: Run, engine: Path, tmp_path: Path
) -> None:
    _ok(run("deploy"))
    _ok(run("teardown"))
    state = _state(engine)
    assert "sangraha" not in state["stacks"] and "sangraha-registry" in state["stacks"]
    assert len(state["secrets"]) == 6
    assert not _calls(engine, "docker", "volume", "rm")

    proc = run("teardown", "--volumes")  # no terminal, no --yes: refuses
    assert proc.returncode != 0 and "--yes" in proc.stderr

    _ok(run("teardown", "--volumes", "--secrets", "--registry", "--yes"))
    state = _state(engine)
    assert state["secrets"] == {} and state["stacks"] == {}
    assert not (tmp_path / "private" / "secrets.env").exists()
