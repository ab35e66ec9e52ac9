"""A stand-in for the ``docker`` and ``curl`` commands, for testing the scripts.

The development machines have the Docker client but no engine, so
scripts/deploy, scale and teardown run against this fake: it keeps the state
of one swarm node (nodes, stacks, services, secrets, images, registry) in a
JSON file and answers the exact commands the scripts use.  ``stack deploy``
renders the compose files with the real client (``docker stack config``), so
the variables the script exports are checked by Docker's own loader.

tests/deploy/test_scripts.py puts ``docker`` and ``curl`` wrappers calling
this module first on PATH; every call is appended to the state's ``calls``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ["FAKE_DOCKER_STATE"])


def _load() -> dict[str, Any]:
    return json.loads(STATE.read_text())


def _save(state: dict[str, Any]) -> None:
    STATE.write_text(json.dumps(state, indent=1))


def _fail(message: str, code: int = 1) -> int:
    print(message, file=sys.stderr)
    return code


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _info(state: dict[str, Any], args: list[str]) -> int:
    if not state["engine"]:
        return _fail("Cannot connect to the Docker daemon")
    fmt = _option(args, "--format")
    swarm = state["swarm"]
    answers = {
        "{{.Swarm.LocalNodeState}}": swarm["state"],
        "{{.Swarm.ControlAvailable}}": "true" if swarm["state"] == "active" else "false",
        "{{.Swarm.NodeID}}": "node1" if swarm["state"] == "active" else "",
    }
    if fmt is not None:
        print(answers[fmt])
    return 0


def _swarm(state: dict[str, Any], args: list[str]) -> int:
    assert args[0] == "init", args
    state["swarm"]["state"] = "active"
    state["nodes"] = {"node1": {"hostname": "host1", "labels": {}}}
    return 0


def _node(state: dict[str, Any], args: list[str]) -> int:
    verb, rest = args[0], args[1:]
    if verb == "ls":
        print("\n".join(state["nodes"]))
        return 0
    if verb == "inspect":
        fmt = _option(rest, "--format")
        ids = [a for a in rest if a in state["nodes"]]
        for node_id in ids:
            node = state["nodes"][node_id]
            if fmt == '{{index .Spec.Labels "sangraha.data"}}':
                print(node["labels"].get("sangraha.data", ""))
            elif fmt == "{{.Description.Hostname}}":
                print(node["hostname"])
            else:
                raise AssertionError(fmt)
        return 0
    if verb == "update":
        key, value = _option(rest, "--label-add").split("=", 1)  # type: ignore[union-attr]
        state["nodes"][rest[-1]]["labels"][key] = value
        return 0
    raise AssertionError(args)


def _render(files: list[str], env: dict[str, str]) -> dict[str, Any]:
    import yaml  # only here: every other call should start fast

    cmd = [os.environ["REAL_DOCKER"], "stack", "config"]
    for f in files:
        cmd += ["-c", f]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"docker stack config failed: {proc.stderr}")
    rendered: dict[str, Any] = yaml.safe_load(proc.stdout)
    return rendered


def _stack(state: dict[str, Any], args: list[str]) -> int:
    verb, rest = args[0], args[1:]
    if verb == "ls":
        print("\n".join(state["stacks"]))
        return 0
    if verb == "deploy":
        name = rest[-1]
        files = [rest[i + 1] for i, a in enumerate(rest) if a == "-c"]
        env = {k: v for k, v in os.environ.items() if k.startswith("SANGRAHA_")}
        rendered = _render(files, dict(os.environ))
        state["stacks"][name] = {"files": files, "env": env, "flags": rest[:-1]}
        for svc_name, svc in rendered["services"].items():
            replicas = int(svc.get("deploy", {}).get("replicas", 1))
            state["services"][f"{name}_{svc_name}"] = {
                "stack": name,
                "replicas": replicas,
                "image": svc["image"],
                "env": svc.get("environment", {}),
            }
        return 0
    if verb == "services":
        name = rest[0]
        fmt = _option(rest, "--format")
        for svc_name, svc in sorted(state["services"].items()):
            if svc["stack"] != name:
                continue
            if "-q" in rest or fmt == "{{.Name}}":
                print(svc_name)
            elif fmt == "{{.Name}} {{.Replicas}}":
                print(f"{svc_name} {svc['replicas']}/{svc['replicas']}")
            else:
                raise AssertionError(fmt)
        return 0
    if verb == "rm":
        name = rest[0]
        state["stacks"].pop(name, None)
        state["services"] = {k: v for k, v in state["services"].items() if v["stack"] != name}
        return 0
    raise AssertionError(args)


def _service(state: dict[str, Any], args: list[str]) -> int:
    verb, rest = args[0], args[1:]
    if verb == "inspect":
        if rest[-1] not in state["services"]:
            return _fail(f"no such service: {rest[-1]}")
        return 0  # no UpdateStatus: nothing updated, nothing rolled back
    if verb == "ps":
        return 0
    if verb == "scale":
        for spec in rest:
            if "=" in spec:
                svc, count = spec.split("=")
                state["services"][svc]["replicas"] = int(count)
        return 0
    raise AssertionError(args)


def _secret(state: dict[str, Any], args: list[str]) -> int:
    verb, rest = args[0], args[1:]
    secrets = state["secrets"]
    if verb == "inspect":
        return 0 if rest[-1] in secrets else _fail(f"no such secret: {rest[-1]}")
    if verb == "create":
        assert rest[-1] == "-", rest
        name = rest[-2]
        if name in secrets:
            return _fail(f"secret {name} already exists")
        secrets[name] = sys.stdin.read()
        return 0
    if verb == "rm":
        for name in rest:
            secrets.pop(name)
        return 0
    raise AssertionError(args)


def _image_refs(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == "-t"]


def docker(argv: list[str]) -> int:
    state = _load()
    state["calls"].append(["docker", *argv])
    cmd, args = argv[0], argv[1:]
    try:
        if cmd == "info":
            return _info(state, args)
        if not state["engine"]:
            return _fail("Cannot connect to the Docker daemon")
        if cmd == "swarm":
            return _swarm(state, args)
        if cmd == "node":
            return _node(state, args)
        if cmd == "stack":
            if args[0] == "deploy" and "--help" in args:
                print("  -d, --detach   Exit immediately")
                return 0
            return _stack(state, args)
        if cmd == "service":
            return _service(state, args)
        if cmd == "secret":
            return _secret(state, args)
        if cmd == "build":
            state["images"].extend(_image_refs(args))
            return 0
        if cmd == "push":
            if args[0] not in state["images"]:
                return _fail(f"no local image {args[0]}")
            state["registry"].append(args[0])
            return 0
        if cmd == "image" and args[0] == "inspect":
            return 0 if args[-1] in state["images"] else 1
        if cmd == "config" and args[0] == "ls":
            return 0
        if cmd in {"ps", "network"} or (cmd == "volume" and args[0] == "inspect"):
            return 0 if cmd != "volume" else 1
        raise AssertionError(argv)
    finally:
        _save(state)


_MANIFEST = re.compile(r"http://([^/]+)/v2/(.+)/manifests/([^/]+)$")


def curl(argv: list[str]) -> int:
    state = _load()
    state["calls"].append(["curl", *argv])
    _save(state)
    url = argv[-1]
    match = _MANIFEST.match(url)
    if match:
        ref = f"{match.group(1)}/{match.group(2)}:{match.group(3)}"
        return 0 if ref in state["registry"] else 22
    if url.endswith(":5000/v2/"):
        return 0 if "sangraha-registry" in state["stacks"] else 7
    return 0  # the gateway's readiness


if __name__ == "__main__":
    # Called as: python fake_docker.py docker|curl ARGS...
    sys.exit(docker(sys.argv[2:]) if sys.argv[1] == "docker" else curl(sys.argv[2:]))
