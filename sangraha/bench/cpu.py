"""CPU seconds and memory of each process of a run, read from ``/proc`` (Linux).

A cell's CPU is the difference of two :meth:`Meter.snapshot` calls: per
component (the bench client itself, gateway, receiver, getter, the embedded
server, RabbitMQ, MinIO), plus ``machine``, the busy time of every CPU, so
``machine`` minus the components is what other programs took meanwhile.
:class:`PeakMemory` samples resident memory while a cell runs.  Elsewhere
than Linux every figure is simply absent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

__all__ = ["Meter", "PeakMemory", "find_pids", "rss_mib"]

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _machine_busy() -> float | None:
    try:
        line = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return None
    values = [int(v) for v in line.split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / _TICK


def find_pids(comm: str, environ: tuple[str, str] | None = None) -> list[int]:
    """Pids of processes named ``comm`` (optionally with ``VAR=value`` in
    their environment; a process whose environment we cannot read matches)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if (entry / "comm").read_text().strip() != comm:
                continue
            if environ is not None:
                env = (entry / "environ").read_bytes().split(b"\0")
                wanted = f"{environ[0]}={environ[1]}".encode()
                names = {e.split(b"=", 1)[0] for e in env}
                if environ[0].encode() in names and wanted not in env:
                    continue
        except OSError:
            continue
        found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int | None = None) -> float | None:
    """Resident memory of a process (default: this one) in MiB."""
    try:
        pages = int(Path(f"/proc/{pid or 'self'}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


class Meter:
    """Snapshots of CPU seconds per component."""

    def __init__(self) -> None:
        self.components: dict[str, list[int]] = {}

    def add(self, component: str, pids: list[int]) -> None:
        self.components.setdefault(component, []).extend(pids)

    def snapshot(self) -> dict[str, float]:
        out = {"client": time.process_time()}
        for name, pids in self.components.items():
            values = [v for v in (_process_cpu(p) for p in pids) if v is not None]
            if values:
                out[name] = sum(values)
        busy = _machine_busy()
        if busy is not None:
            out["machine"] = busy
        return out

    @staticmethod
    def delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds per component between two snapshots, and ``others``."""
        spent = {k: round(after[k] - before[k], 3) for k in before if k in after}
        if "machine" in spent:
            ours = sum(v for k, v in spent.items() if k != "machine")
            spent["others"] = round(max(0.0, spent["machine"] - ours), 3)
        return spent


class PeakMemory:
    """Peak resident MiB per component (its processes summed) while the
    ``async with`` block runs, sampled every ``every`` seconds; the bench
    client itself is ``client``."""

    def __init__(self, components: dict[str, list[int]], every: float = 0.1) -> None:
        self.components = components
        self.every = every
        self.peaks: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    def _sample(self) -> None:
        for name, pids in [("client", [os.getpid()]), *self.components.items()]:
            values = [v for v in (rss_mib(p) for p in pids) if v is not None]
            if values:
                self.peaks[name] = max(self.peaks.get(name, 0.0), round(sum(values), 1))

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(self.every)

    async def __aenter__(self) -> PeakMemory:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()
