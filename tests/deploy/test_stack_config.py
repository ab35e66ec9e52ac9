"""The deployment files checked against Docker and against the code.

``docker stack config`` needs only the Docker client: the test skips where the
client is absent, and fails instead in CI (``CI=true``).  Everything else
reads ``swarm-stack.yml`` (and the Dockerfiles and scripts) and checks it
against what the code really accepts: settings, subcommands, health paths,
queue names, ports.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gateway.app import HEALTH_PATH, READY_PATH, build_app
from sangraha import contract
from sangraha.cli import _parser, main
from sangraha.settings import ENV_VARS, Settings

ROOT = Path(__file__).resolve().parents[2]
STACK_FILE = ROOT / "swarm-stack.yml"
REGISTRY_FILE = ROOT / "registry-compose.yml"
SANGRAHA_ROLES = {"gateway", "receiver", "getter"}
DATA_SERVICES = {"rabbitmq", "minio"}
# Files that name queues, health paths or secrets for operators.
OPERATOR_FILES = [
    STACK_FILE,
    REGISTRY_FILE,
    ROOT / "Dockerfile",
    ROOT / "docker" / "minio.Dockerfile",
    ROOT / "docker" / "rabbitmq" / "sangraha.conf",
    ROOT / "scripts" / "deploy",
    ROOT / "scripts" / "teardown",
    ROOT / "scripts" / "scale",
    ROOT / "docs" / "deployment.md",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# ------------------------------------------------------ docker stack config --


def _docker_stack_config(path: Path, **env: str) -> dict[str, Any]:
    docker = shutil.which("docker")
    if docker is None:
        message = "the docker client is not installed"
        if in_ci():
            pytest.fail(message + " (CI=true: this test must run)")
        pytest.skip(message)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SANGRAHA_")}
    environ.update(env)
    proc = subprocess.run(
        [docker, "stack", "config", "-c", path.name],
        cwd=path.parent,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, f"docker stack config rejected {path.name}:\n{proc.stderr}"
    rendered = yaml.safe_load(proc.stdout)
    assert isinstance(rendered, dict)
    return rendered


def test_docker_stack_config_accepts_the_swarm_stack() -> None:
    rendered = _docker_stack_config(STACK_FILE)
    assert set(rendered["services"]) == SANGRAHA_ROLES | DATA_SERVICES
    replicas = {name: svc["deploy"]["replicas"] for name, svc in rendered["services"].items()}
    assert replicas == {"gateway": 1, "receiver": 3, "getter": 3, "rabbitmq": 1, "minio": 1}


def test_docker_stack_config_interpolates_the_deploy_variables() -> None:
    rendered = _docker_stack_config(
        STACK_FILE,
        SANGRAHA_GATEWAY_REPLICAS="2",
        SANGRAHA_RECEIVER_REPLICAS="6",
        SANGRAHA_TAG="abc123",
        SANGRAHA_PUBLISHED_PORT="9100",
    )
    services = rendered["services"]
    assert services["gateway"]["deploy"]["replicas"] == 2
    assert services["receiver"]["deploy"]["replicas"] == 6
    assert services["getter"]["deploy"]["replicas"] == 3
    assert services["gateway"]["image"] == "127.0.0.1:5000/sangraha:abc123"
    assert services["receiver"]["image"] == "127.0.0.1:5000/sangraha:abc123"
    assert services["gateway"]["ports"][0]["published"] == 9100


def test_docker_stack_config_accepts_the_registry() -> None:
    rendered = _docker_stack_config(REGISTRY_FILE)
    registry = rendered["services"]["registry"]
    assert registry["image"] == "registry:2"
    assert [(p["target"], p["published"]) for p in registry["ports"]] == [(5000, 5000)]
    assert any(
        v["target"] == "/var/lib/registry" and v["type"] == "volume" for v in registry["volumes"]
    )


# ------------------------------------------------- the stack read directly --

_VAR = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def _defaults(value: Any) -> Any:
    """Interpolate ``${VAR:-default}`` with its default, as an unset env would."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: m.group(2) or "", value)
    if isinstance(value, list):
        return [_defaults(v) for v in value]
    if isinstance(value, dict):
        return {k: _defaults(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    loaded = yaml.safe_load(STACK_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = _defaults(stack["services"])
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # the "KEY=value" list form
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _sangraha_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in services.items() if "/sangraha:" in s["image"]}


def _secret_targets(service: dict[str, Any]) -> dict[str, str]:
    """Path inside the container -> secret name, for the service's secrets."""
    targets = {}
    for ref in service.get("secrets", []):
        source = ref if isinstance(ref, str) else ref["source"]
        target = source if isinstance(ref, str) else ref.get("target", source)
        targets[target if target.startswith("/") else f"/run/secrets/{target}"] = source
    return targets


def test_the_original_layout_runs(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SANGRAHA_ROLES | DATA_SERVICES
    assert set(_sangraha_services(services)) == SANGRAHA_ROLES
    replicas = {n: str(s["deploy"]["replicas"]) for n, s in services.items()}
    assert replicas == {
        "gateway": "1",
        "receiver": "3",
        "getter": "3",
        "rabbitmq": "1",
        "minio": "1",
    }


def test_every_role_command_is_a_sangraha_subcommand(services: dict[str, dict[str, Any]]) -> None:
    for name, service in _sangraha_services(services).items():
        command = service["command"]
        args = _parser().parse_args(command)  # exits (SystemExit) on an unknown subcommand
        assert args.command == name, f"service {name} runs `sangraha {' '.join(command)}`"


def test_sangraha_health_checks_are_real_commands_for_their_own_role(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in _sangraha_services(services).items():
        test = service["healthcheck"]["test"]
        assert test[:2] == ["CMD", "sangraha"], f"{name}: {test}"
        args = _parser().parse_args(test[2:])
        assert args.command == "healthcheck", f"{name}: {test}"
        assert args.role == name, f"{name} is health-checked as {args.role!r}"


def test_every_sangraha_variable_is_a_setting(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for var in _environment(service):
            if not var.startswith("SANGRAHA_"):
                continue
            setting = var.removesuffix("_FILE")
            assert setting in ENV_VARS, f"{name} sets {var}, but sangraha.settings has no {setting}"


def test_file_variables_point_at_the_services_own_secrets(
    stack: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = stack["secrets"]
    for name, service in services.items():
        targets = _secret_targets(service)
        for source in targets.values():
            assert source in declared, f"{name} uses undeclared secret {source}"
            assert declared[source].get("external") is True, f"secret {source} is not external"
        for var, value in _environment(service).items():
            if var.endswith("_FILE"):
                assert value in targets, f"{name}: {var}={value} is none of its secrets {targets}"


def test_credentials_reach_sangraha_only_through_secrets(
    services: dict[str, dict[str, Any]],
) -> None:
    # Settings hidden from repr are the secret ones; keys travel as secrets too.
    hidden = {"SANGRAHA_" + f.name.upper() for f in fields(Settings) if not f.repr}
    credentials = hidden | {"SANGRAHA_ACCESS_KEY", "SANGRAHA_S3_ACCESS_KEY"}
    needed = {
        "gateway": {"SANGRAHA_ACCESS_KEY", "SANGRAHA_SECRET_KEY", "SANGRAHA_AMQP_URL"},
        "receiver": {"SANGRAHA_AMQP_URL", "SANGRAHA_S3_ACCESS_KEY", "SANGRAHA_S3_SECRET_KEY"},
        "getter": {"SANGRAHA_AMQP_URL", "SANGRAHA_S3_ACCESS_KEY", "SANGRAHA_S3_SECRET_KEY"},
    }
    for name, service in _sangraha_services(services).items():
        env = _environment(service)
        assert not credentials & set(env), f"{name} sets a credential in plain text"
        for var in needed[name]:
            assert var + "_FILE" in env, f"{name} needs {var}_FILE"


def test_workers_reach_the_store_and_the_broker(services: dict[str, dict[str, Any]]) -> None:
    minio = services["minio"]
    address = minio["command"][minio["command"].index("--address") + 1]
    minio_port = int(address.rsplit(":", 1)[1])
    for name in ("receiver", "getter"):
        worker = services[name]
        endpoint = _environment(worker)["SANGRAHA_S3_ENDPOINT"]
        match = re.fullmatch(r"http://([\w-]+):(\d+)", endpoint)
        assert match, endpoint
        assert match.group(1) in services, f"{endpoint} names no service of the stack"
        assert int(match.group(2)) == minio_port
        assert set(worker["networks"]) & set(minio["networks"]), f"{name} cannot reach minio"
    for name in SANGRAHA_ROLES:
        nets = set(services[name]["networks"])
        assert nets & set(services["rabbitmq"]["networks"]), f"{name} cannot reach rabbitmq"
    # The gateway never talks to storage.
    assert not set(services["gateway"]["networks"]) & set(minio["networks"])


def test_the_amqp_url_names_the_broker_service() -> None:
    deploy = (ROOT / "scripts" / "deploy").read_text()
    urls = re.findall(r"amqp://\$user:\$pass@([\w-]+):(\d+)/", deploy)
    assert urls == [("rabbitmq", "5672")]


def test_the_gateway_publishes_the_port_it_listens_on(services: dict[str, dict[str, Any]]) -> None:
    gateway = services["gateway"]
    env = _environment(gateway)
    listen = int(env.get("SANGRAHA_PORT", Settings().port))
    assert env.get("SANGRAHA_HOST") == "0.0.0.0", (
        "behind the ingress the gateway must listen on all interfaces"
    )
    assert [int(p["target"]) for p in gateway["ports"]] == [listen]
    for name in SANGRAHA_ROLES - {"gateway"}:
        assert "ports" not in services[name], f"{name} publishes a port"


def test_the_image_listens_where_its_health_check_looks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    env_port = re.search(r"SANGRAHA_PORT=(\d+)", dockerfile)
    expose = re.search(r"^EXPOSE (\d+)$", dockerfile, re.M)
    assert env_port and expose and env_port.group(1) == expose.group(1)
    assert re.search(r'^ENTRYPOINT \["sangraha"\]$', dockerfile, re.M)
    assert re.search(r'^CMD \["gateway"\]$', dockerfile, re.M)
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user and not user[-1].startswith(("root", "0:", "0")), "the image must not run as root"
    check = re.search(r"HEALTHCHECK .*?CMD (\[.*?\])", dockerfile, re.S)
    assert check
    argv = yaml.safe_load(check.group(1))
    assert argv[0] == "sangraha" and _parser().parse_args(argv[1:]).command == "healthcheck"


class _HealthOnly(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == HEALTH_PATH else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HealthOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_gateway_health_check_probes_the_apps_health_route(
    health_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANGRAHA_PORT", str(health_server))
    assert main(["healthcheck", "--role", "gateway"]) == 0
    monkeypatch.setenv("SANGRAHA_PORT", "1")
    assert main(["healthcheck", "--role", "gateway"]) != 0


def test_health_paths_named_for_operators_are_routes_of_the_gateway() -> None:
    app = build_app(Settings(access_key="a", secret_key="b"), None)  # type: ignore[arg-type]
    routes = {getattr(r, "path", None) for r in app.admin.routes}
    assert {HEALTH_PATH, READY_PATH} <= routes
    for path in OPERATOR_FILES:
        for used in re.findall(r"/_sangraha/[\w/-]*\w", path.read_text()):
            assert used in {HEALTH_PATH, READY_PATH}, f"{path.name} names {used}"


def test_workers_can_write_their_heartbeat(services: dict[str, dict[str, Any]]) -> None:
    for name in SANGRAHA_ROLES - {"gateway"}:
        worker = services[name]
        beat = _environment(worker).get("SANGRAHA_HEARTBEAT_FILE", Settings().heartbeat_file)
        if not worker.get("read_only"):
            continue
        writable = [
            v["target"]
            for v in worker.get("volumes", [])
            if isinstance(v, dict) and v["type"] in {"tmpfs", "volume"}
        ]
        assert any(beat.startswith(t.rstrip("/") + "/") for t in writable), (
            f"{name}: read-only root, and {beat} is on none of the writable mounts {writable}"
        )


def test_queue_names_for_operators_are_the_contracts() -> None:
    known = {contract.WRITE_QUEUE, contract.READ_QUEUE, contract.DEAD_LETTER_QUEUE}
    pattern = re.compile(r"object_\w*queue[\w.<>-]*|sangraha\.dead_letter\w*")
    for path in OPERATOR_FILES:
        for name in (n.rstrip(".-") for n in pattern.findall(path.read_text())):
            assert name in known or name.startswith(contract.RESPONSE_QUEUE_PREFIX), (
                f"{path.name} names queue {name}, which sangraha.contract does not declare"
            )


def test_queue_shaping_settings_agree_across_processes(services: dict[str, dict[str, Any]]) -> None:
    # Every process declares the request queues with these arguments; RabbitMQ
    # refuses a redeclaration with different ones.
    for var in ("SANGRAHA_QUEUE_MAX_LENGTH",):
        values = {_environment(s).get(var) for s in _sangraha_services(services).values()}
        assert len(values) == 1, f"{var} differs between services: {values}"


def test_every_service_is_production_shaped(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        deploy = service["deploy"]
        assert service["healthcheck"]["test"], name
        assert deploy["restart_policy"]["condition"] in {"any", "on-failure"}, name
        assert deploy["resources"]["limits"]["memory"], name
        assert deploy["resources"]["reservations"]["memory"], name
        assert deploy["update_config"]["failure_action"] == "rollback", name
        order = deploy["update_config"]["order"]
        if name in DATA_SERVICES:
            # Two tasks must never share a data volume.
            assert order == "stop-first", name
            assert any(c.startswith("node.") for c in deploy["placement"]["constraints"]), name
            assert any(str(v).split(":")[0].endswith("-data") for v in service["volumes"]), name
        else:
            assert order == "start-first", name
    assert services["rabbitmq"]["hostname"], "RabbitMQ's data directory is named after its hostname"


def test_rabbitmq_gets_its_credentials_from_a_secret(services: dict[str, dict[str, Any]]) -> None:
    rabbitmq = services["rabbitmq"]
    assert not any(k.startswith("RABBITMQ_DEFAULT") for k in _environment(rabbitmq))
    targets = _secret_targets(rabbitmq)
    assert any(t.startswith("/etc/rabbitmq/conf.d/") for t in targets), targets
    assert rabbitmq["image"].startswith("rabbitmq:") and "management" in rabbitmq["image"]


def test_scripts_manage_exactly_the_secrets_the_stack_uses(stack: dict[str, Any]) -> None:
    declared = set(stack["secrets"])
    created = set(
        re.findall(r"^\s*create_secret (\w+)", (ROOT / "scripts" / "deploy").read_text(), re.M)
    )
    teardown = (ROOT / "scripts" / "teardown").read_text()
    listed = re.search(r"^SECRETS=\((.*?)\)", teardown, re.M | re.S)
    assert listed
    assert created == declared
    assert set(listed.group(1).split()) == declared


def test_minio_is_pinned_to_one_version_everywhere(services: dict[str, dict[str, Any]]) -> None:
    dockerfile = (ROOT / "docker" / "minio.Dockerfile").read_text()
    pins = set(re.findall(r"^ARG MINIO_VERSION=(\S+)$", dockerfile, re.M))
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    dev = re.search(r"^SANGRAHA_MINIO_VERSION=(\S+)$", bootstrap, re.M)
    assert dev and pins == {dev.group(1)}, f"minio.Dockerfile {pins} vs bootstrap.sh {dev}"
    assert services["minio"]["image"].endswith("/sangraha-minio:" + dev.group(1))
    assert re.search(r"go install .*github\.com/minio/minio@\$\{MINIO_VERSION\}", dockerfile)


def test_the_image_pins_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    lines = (ROOT / "docker" / "constraints.txt").read_text().splitlines()
    pinned = {canonicalize_name(line.split("==")[0]) for line in lines if "==" in line}
    missing = wanted - pinned
    assert not missing, (
        f"not in docker/constraints.txt: {sorted(missing)}; run docker/freeze-constraints.py"
    )
    for line in lines:
        if line and not line.startswith("#"):
            Requirement(line)  # a malformed line fails here


def test_build_context_carries_the_packages() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]
    tops = {p.rstrip("*") for p in packages["find"]["include"]}
    assert tops <= allowed, f".dockerignore lets through {allowed}, the project has {tops}"
    assert {"pyproject.toml", "docker/constraints.txt"} <= allowed
