"""One bench run: start the targets, run the workloads, print, write JSON,
and clean up whatever happens (Ctrl-C and SIGTERM included)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import platform
import secrets
import signal
import sys
import time
from typing import Any

from sangraha.bench.client import BenchError, signing_cost
from sangraha.bench.report import Printer
from sangraha.bench.targets import TARGETS, Target, start_targets
from sangraha.bench.workloads import DEFAULT, QUICK, Plan, Run
from sangraha.settings import Settings

__all__ = ["main"]

_KINDS = ("s3", "list", "native")
_METHODS = {"s3": "s3", "list": "listing", "native": "native"}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _measure(targets: list[Target], plan: Plan, kinds: list[str], run_id: str) -> Any:
    run = Run(targets, plan, run_id, Printer())
    results: dict[str, Any] = {}
    try:
        for kind in _KINDS:
            if kind in kinds:
                results[kind] = await getattr(run, _METHODS[kind])()
    finally:
        await run.close()
    results["notes"] = run.notes
    return results


def _environment() -> dict[str, Any]:
    import aiohttp

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "client_sign_us": round(signing_cost(), 2),
    }


def main(args: argparse.Namespace, settings: Settings) -> int:
    import uvloop

    logging.basicConfig(level=logging.WARNING, format="bench: %(levelname)s %(message)s")
    plan = QUICK if args.quick else DEFAULT
    if args.seconds:
        plan = dataclasses.replace(plan, seconds=args.seconds)
    if args.max_inflight_mib:
        plan = dataclasses.replace(plan, inflight_cap=args.max_inflight_mib * 2**20)
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    unknown = sorted(set(names) - set(TARGETS))
    if unknown or not names:
        print(f"sangraha bench: unknown targets {unknown}; choose from {TARGETS}", file=sys.stderr)
        return 2
    kinds = args.only or list(_KINDS)
    run_id = secrets.token_hex(4)
    env = _environment()
    env["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
    print(
        f"sangraha bench{' --quick' if args.quick else ''} run {run_id}: "
        f"targets {', '.join(names)}; "
        f"{env['cpus']} CPUs, load average {env['loadavg_before']}; "
        f"the client signs a request in {env['client_sign_us']} us of CPU",
        flush=True,
    )
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        previous = signal.signal(signal.SIGTERM, _interrupt)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        try:
            targets = start_targets(names, settings, stack, run_id=run_id, workers=args.workers)
            print(
                f"targets ready after {time.monotonic() - started:.1f}s: "
                + ", ".join(f"{t.name} {t.account.endpoint}" for t in targets),
                flush=True,
            )
            try:
                results = uvloop.run(_measure(targets, plan, kinds, run_id))
            finally:
                dead = [d for t in targets for d in t.casualties()]
                for message in dead:
                    print(f"sangraha bench: {message}", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            print("\nsangraha bench: interrupted; cleaning up", file=sys.stderr, flush=True)
            return 130
        except (BenchError, RuntimeError, OSError) as exc:
            print(f"sangraha bench: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            cleanup_started = time.monotonic()
    env["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    results.update(
        version=1,
        casualties=dead,
        run_id=run_id,
        quick=bool(args.quick),
        plan=dataclasses.asdict(plan),
        targets={t.name: t.account.endpoint for t in targets},
        workers=args.workers,
        environment=env,
        seconds=round(time.monotonic() - started, 1),
        cleanup_seconds=round(time.monotonic() - cleanup_started, 1),
    )
    cells = [c for kind in _KINDS for c in results.get(kind, [])]
    measured = sum(c["seconds"] for c in cells)
    others = sum(c["cpu_s"].get("others", 0.0) for c in cells)
    if measured:
        env["others_cpus"] = round(others / measured, 2)
        print(
            f"other programs used {env['others_cpus']} of the {env['cpus']} CPUs "
            "on average while cells were measured"
        )
    for note in results.get("notes", []):
        print(f"capped: {note}")
    print(f"done in {results['seconds']:.0f}s; load average now {env['loadavg_after']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"results written to {args.json}")
    return 1 if dead else 0
