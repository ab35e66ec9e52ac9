"""The workloads: S3 PUT/GET, LIST, and the original product's POST /objects.

Every cell (one operation, size and concurrency on one target) is driven by
:func:`drive`: ``concurrency`` tasks issue requests back to back until the
cell's request count or time budget is spent (requests already started
finish).  Targets take turns cell by cell, so a load change on the machine
hits all of them alike.  Each cell records the CPU seconds every process
spent meanwhile (:mod:`sangraha.bench.cpu`).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sangraha.bench.client import Answer, S3Client
from sangraha.bench.cpu import Meter, PeakMemory
from sangraha.bench.report import size_label
from sangraha.bench.targets import Target

__all__ = ["DEFAULT", "QUICK", "Plan", "Run", "drive", "json_document"]

KiB = 1024
MiB = 1024 * KiB
Cell = dict[str, Any]
Emit = Callable[[str, list[Cell]], None]


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    concurrency: tuple[int, ...]
    seconds: float  # time budget of one S3 cell
    max_requests: int  # request cap of one S3 cell
    inflight_cap: int  # concurrency x size above this is capped
    list_keys: int
    list_page: int
    list_seconds: float
    native_sizes: tuple[tuple[str, int], ...]
    native_concurrency: tuple[int, ...]
    native_requests: int
    native_seconds: float


DEFAULT = Plan(
    sizes=(4 * KiB, 100 * KiB, 1 * MiB, 16 * MiB, 256 * MiB),
    concurrency=(1, 16, 64),
    seconds=1.0,
    max_requests=100_000,
    inflight_cap=256 * MiB,
    list_keys=10_000,
    list_page=1000,
    list_seconds=2.0,
    native_sizes=(
        ("~2 KiB", 2 * KiB),
        ("~100 KiB", 100 * KiB),
        ("~1 MiB", MiB),
        ("~3 MiB", 3 * MiB),
    ),
    native_concurrency=(10, 25, 50),
    native_requests=500,
    native_seconds=2.0,
)

QUICK = Plan(
    sizes=(4 * KiB, 1 * MiB),
    concurrency=(1, 16),
    seconds=0.3,
    max_requests=32,
    inflight_cap=1024 * MiB,
    list_keys=1000,
    list_page=250,
    list_seconds=0.3,
    native_sizes=(("~2 KiB", 2 * KiB), ("~1 MiB", MiB)),
    native_concurrency=(10,),
    native_requests=20,
    native_seconds=1.0,
)


@dataclass
class Measure:
    ok: int = 0
    nbytes: int = 0
    keys: int = 0
    seconds: float = 0.0
    latencies: list[float] | None = None
    errors: dict[str, int] | None = None


async def drive(
    concurrency: int,
    op: Callable[[int, int], Awaitable[Answer]],
    *,
    seconds: float,
    max_requests: int,
) -> Measure:
    """Run ``op(slot, n)`` from ``concurrency`` tasks until ``max_requests``
    have started or ``seconds`` have passed; each task does at least one."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    result = Measure(latencies=latencies, errors=errors)
    tickets = iter(range(max_requests))
    started = time.perf_counter()
    deadline = started + seconds

    async def worker(slot: int) -> None:
        first = True
        for n in tickets:
            t0 = time.perf_counter()
            if not first and t0 >= deadline:
                return
            first = False
            try:
                answer = await op(slot, n)
            except Exception as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            if answer.ok:
                result.ok += 1
                result.nbytes += answer.nbytes
                result.keys += answer.keys
            else:
                errors[str(answer.status)] = errors.get(str(answer.status), 0) + 1

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def _cell(measure: Measure, cpu: dict[str, float], **fields: Any) -> Cell:
    lat = sorted(measure.latencies or [])
    secs = measure.seconds or 1e-9
    return {
        **fields,
        "requests": measure.ok + sum((measure.errors or {}).values()),
        "ok": measure.ok,
        "errors": measure.errors or {},
        "bytes": measure.nbytes,
        "keys": measure.keys,
        "seconds": round(measure.seconds, 3),
        "req_s": round(measure.ok / secs, 2),
        "mib_s": round(measure.nbytes / secs / MiB, 2),
        "p50_ms": round(_percentile(lat, 0.50) * 1000, 2),
        "p99_ms": round(_percentile(lat, 0.99) * 1000, 2),
        "cpu_s": cpu,
    }


def json_document(size: int) -> bytes:
    """A JSON document ``{"data": [...]}`` of about ``size`` bytes: records
    like an application would post, so the server parses real structure."""
    record = {
        "id": 0,
        "name": "sensor-reading",
        "value": 21.5,
        "unit": "celsius",
        "tags": ["bench", "sangraha"],
        "ok": True,
    }
    one = len(json.dumps(record)) + 2
    records = []
    for i in range(max(1, (size - 12) // one)):
        record["id"] = i
        records.append(dict(record))
    body = json.dumps({"data": records}, separators=(",", ": ")).encode()
    return body


class Run:
    """One bench run over started targets: it owns the clients and buckets."""

    def __init__(self, targets: list[Target], plan: Plan, run_id: str, emit: Emit) -> None:
        self.targets = targets
        self.plan = plan
        self.run_id = run_id
        self.emit = emit
        self.meter = Meter()
        for target in targets:
            for component, pids in target.pids.items():
                if component not in self.meter.components:
                    self.meter.add(component, pids)
        self.clients = {t.name: S3Client(t.account) for t in targets}
        self.buckets: dict[str, list[str]] = {t.name: [] for t in targets}
        self.notes: list[str] = []

    async def _measured(
        self,
        target: Target,
        concurrency: int,
        action: Callable[[int, int], Awaitable[Answer]],
        seconds: float,
        max_requests: int,
        **fields: Any,
    ) -> Cell:
        before = self.meter.snapshot()
        async with PeakMemory(target.pids) as memory:
            measure = await drive(concurrency, action, seconds=seconds, max_requests=max_requests)
        cpu = Meter.delta(before, self.meter.snapshot())
        cell = _cell(measure, cpu, concurrency=concurrency, target=target.name, **fields)
        cell["client_cpu_s"] = cpu.get("client")
        cell["rss_peak_mib"] = memory.peaks
        mine = [cpu[c] for c in target.pids if c in cpu]
        cell["target_cpu_s"] = round(sum(mine), 3) if mine else None
        return cell

    async def _bucket(self, target: Target, purpose: str) -> str:
        name = f"sgb-{self.run_id}-{target.name[:4]}-{purpose}"
        self.buckets[target.name].append(name)
        await self.clients[target.name].create_bucket(name)
        return name

    # ------------------------------------------------------------------ S3

    async def s3(self) -> list[Cell]:
        plan = self.plan
        buckets = {t.name: await self._bucket(t, "s3") for t in self.targets}
        cells: list[Cell] = []
        for size in plan.sizes:
            done: dict[int, int] = {}  # effective concurrency -> requested
            for wanted in plan.concurrency:
                conc = min(wanted, max(1, plan.inflight_cap // size))
                if conc in done:
                    self.notes.append(
                        f"{size_label(size)} c{wanted}: capped to c{conc} "
                        f"({size_label(plan.inflight_cap)} in flight), "
                        f"same as the c{done[conc]} rows"
                    )
                    continue
                if conc != wanted:
                    self.notes.append(
                        f"{size_label(size)} c{wanted}: run at c{conc} "
                        f"(at most {size_label(plan.inflight_cap)} in flight)"
                    )
                done[conc] = wanted
                written: dict[str, set[int]] = {t.name: set() for t in self.targets}
                for op in ("PUT", "GET"):
                    group = []
                    for target in self.targets:
                        cell = await self._s3_cell(
                            target, buckets[target.name], op, size, conc, written[target.name]
                        )
                        cell["requested_concurrency"] = wanted
                        group.append(cell)
                    self.emit("s3", group)
                    cells += group
        return cells

    async def _s3_cell(
        self, target: Target, bucket: str, op: str, size: int, conc: int, written: set[int]
    ) -> Cell:
        client = self.clients[target.name]
        prefix = f"{size}/c{conc}/"
        slots = sorted(written)

        async def put(slot: int, n: int) -> Answer:
            answer = await client.put(bucket, f"{prefix}{slot}", size)
            if answer.ok:
                written.add(slot)
            return answer

        async def get(slot: int, n: int) -> Answer:
            return await client.get(bucket, f"{prefix}{slots[n % len(slots)]}")

        if op == "GET" and not slots:
            return _cell(Measure(), {}, op=op, size=size, target=target.name, concurrency=conc)
        return await self._measured(
            target,
            conc,
            put if op == "PUT" else get,
            self.plan.seconds,
            self.plan.max_requests,
            op=op,
            size=size,
        )

    # ---------------------------------------------------------------- LIST

    async def listing(self) -> list[Cell]:
        plan = self.plan
        group = []
        for target in self.targets:
            client = self.clients[target.name]
            bucket = await self._bucket(target, "list")
            # The fill is set-up, not measured: the distributed target's objects
            # are MinIO's, so they go straight to MinIO (much faster).
            via = target.fallback or target
            started = time.perf_counter()
            async with S3Client(via.account) as filler:

                async def fill(slot: int, n: int, c: S3Client = filler, b: str = bucket) -> Answer:
                    return await c.put(b, f"key-{n:06d}", 0)

                filled = await drive(64, fill, seconds=600, max_requests=plan.list_keys)
            fill_s = time.perf_counter() - started

            cursor = [""]  # the next page's continuation token; "" starts over

            async def page(
                slot: int,
                n: int,
                client: S3Client = client,
                b: str = bucket,
                cursor: list[str] = cursor,
            ) -> Answer:
                answer = await client.list_page(b, plan.list_page, cursor[0])
                cursor[0] = answer.token if answer.ok else ""
                return answer

            cell = await self._measured(
                target,
                1,
                page,
                plan.list_seconds,
                1_000_000,
                op="LIST",
                size=plan.list_page,
                bucket_keys=filled.ok,
                fill_seconds=round(fill_s, 2),
                fill_errors=filled.errors,
                filled_via=via.name,
            )
            cell["keys_s"] = round(cell["keys"] / (cell["seconds"] or 1e-9), 1)
            group.append(cell)
        self.emit("list", group)
        return group

    # -------------------------------------------------------------- native

    async def native(self) -> list[Cell]:
        plan = self.plan
        cells: list[Cell] = []
        for label, size in plan.native_sizes:
            body = json_document(size)
            for conc in plan.native_concurrency:
                group = []
                for target in self.targets:
                    if not target.native:
                        continue
                    client = self.clients[target.name]

                    async def post(
                        slot: int, n: int, client: S3Client = client, body: bytes = body
                    ) -> Answer:
                        return await client.post_native(body)

                    cell = await self._measured(
                        target,
                        conc,
                        post,
                        plan.native_seconds,
                        plan.native_requests,
                        op="POST /objects",
                        size=len(body),
                        label=label,
                    )
                    cell["planned_requests"] = plan.native_requests
                    group.append(cell)
                if group:
                    self.emit("native", group)
                    cells += group
        return cells

    # ------------------------------------------------------------- clean-up

    async def close(self) -> None:
        """Remove every bucket the run made (the distributed target's through
        MinIO if its gateway is gone), then close the clients."""
        try:
            for target in self.targets:
                names = list(self.buckets[target.name])
                if target.fallback is not None:
                    names += target.native_buckets  # the embedded ones go with its directory
                for name in names:
                    try:
                        await asyncio.wait_for(self.clients[target.name].remove_bucket(name), 120)
                    except Exception:
                        if target.fallback is None:
                            raise
                        async with S3Client(target.fallback.account) as fallback:
                            await asyncio.wait_for(fallback.remove_bucket(name), 120)
        finally:
            for client in self.clients.values():
                await client.close()
