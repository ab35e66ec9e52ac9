"""Tables of a bench run: printed as the run goes, and as Markdown from the
JSON afterwards (``python -m sangraha.bench.report results.json``).

Ratios: ``xMinIO`` is a Sangraha target's req/s divided by direct MinIO's
in the same cell (LIST: keys/s); ``xorig`` is our req/s divided by the upper
end of the original product's published rate.  ``goal`` marks the issue's
targets (at least 0.50 of MinIO for objects of 1 MiB and more, 0.33 at 4 KiB,
10 times the original's rate); rows without a goal show ``-``.  CPU columns
are CPU milliseconds per successful request: ``srv`` sums the target's
processes (for the distributed target: gateway, workers, RabbitMQ and MinIO),
``cli`` is the bench client.  ``srv MiB`` is the peak resident memory of the
target's own processes during the cell (without the shared RabbitMQ/MinIO).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["ORIGINAL", "Printer", "markdown", "size_label"]

Cell = dict[str, Any]
KiB = 1024
MiB = 1024 * KiB

# The original product's published rates (its author's machine, answered
# before storing): payload label -> (low, high, what it was measured with).
ORIGINAL: dict[str, tuple[float, float, str]] = {
    "tiny": (81, 133, "tiny"),
    "~2 KiB": (55, 57, "2-4 KiB"),
    "~1 MiB": (11.5, 11.5, "1 MiB"),
    "~3 MiB": (3.2, 3.2, "3 MiB"),
}


def size_label(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= KiB and n % KiB == 0:
        return f"{n // KiB} KiB"
    return f"{n} B"


def _minio_ratio(cell: Cell, group: Iterable[Cell], key: str = "req_s") -> float | None:
    if cell["target"] == "minio":
        return None
    for other in group:
        if other["target"] == "minio" and other[key] > 0:
            return float(cell[key]) / float(other[key])
    return None


def _s3_goal(cell: Cell, ratio: float | None) -> str:
    if ratio is None:
        return "-"
    need = 0.5 if cell["size"] >= MiB else 0.33 if cell["size"] <= 4 * KiB else None
    if need is None:
        return "-"
    return f"{'ok' if ratio >= need else 'BELOW'} {need:.2f}"


def _native_ratio(cell: Cell) -> float | None:
    original = ORIGINAL.get(cell.get("label", ""))
    return float(cell["req_s"]) / original[1] if original else None


def _ms_per_req(cell: Cell, key: str) -> str:
    cpu = cell.get(key)
    if cpu is None or not cell["ok"]:
        return "-"
    return f"{cpu * 1000 / cell['ok']:.2f}"


_SERVICES = ("rabbitmq", "minio")


def _peak_rss(cell: Cell) -> str:
    """Peak resident MiB of the target's own processes (for a Sangraha target,
    without the RabbitMQ and MinIO it shares)."""
    peaks = cell.get("rss_peak_mib") or {}
    own = [v for k, v in peaks.items() if k != "client" and k not in _SERVICES]
    if cell["target"] == "minio":
        own = [v for k, v in peaks.items() if k == "minio"]
    return f"{sum(own):,.0f}" if own else "-"


def _errors(cell: Cell) -> str:
    return ",".join(f"{k}x{v}" for k, v in sorted(cell["errors"].items())) or "-"


def _f(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


# ------------------------------------------------------------------ rows


def _s3_row(cell: Cell, group: list[Cell]) -> list[str]:
    ratio = _minio_ratio(cell, group)
    return [
        cell["op"],
        size_label(cell["size"]),
        str(cell["concurrency"]),
        cell["target"],
        _f(cell["req_s"], ",.1f"),
        _f(cell["mib_s"], ",.1f"),
        _f(cell["p50_ms"], ".1f"),
        _f(cell["p99_ms"], ".1f"),
        _f(ratio),
        _s3_goal(cell, ratio),
        _ms_per_req(cell, "target_cpu_s"),
        _ms_per_req(cell, "client_cpu_s"),
        _peak_rss(cell),
        str(cell["ok"]),
        _errors(cell),
    ]


_S3_HEAD = [
    "op", "size", "c", "target", "req/s", "MiB/s", "p50 ms", "p99 ms",
    "xMinIO", "goal", "srv cpu ms/req", "cli cpu ms/req", "srv MiB", "n", "errors",
]  # fmt: skip


def _list_row(cell: Cell, group: list[Cell]) -> list[str]:
    return [
        cell["target"],
        f"{cell['bucket_keys']:,}",
        str(cell["size"]),
        _f(cell["req_s"], ",.1f"),
        _f(cell["keys_s"], ",.0f"),
        _f(cell["p50_ms"], ".1f"),
        _f(cell["p99_ms"], ".1f"),
        _f(_minio_ratio(cell, group, "keys_s")),
        f"{cell['fill_seconds']:.1f}",
        _errors(cell),
    ]


_LIST_HEAD = [
    "target", "keys", "page", "pages/s", "keys/s", "p50 ms", "p99 ms", "xMinIO",
    "fill s", "errors",
]  # fmt: skip


def _native_row(cell: Cell, group: list[Cell]) -> list[str]:
    original = ORIGINAL.get(cell["label"])
    ratio = _native_ratio(cell)
    published = "-"
    if original:
        low, high, _ = original
        published = f"{low:g}" if low == high else f"{low:g}-{high:g}"
    return [
        cell["label"],
        f"{cell['size']:,}",
        str(cell["concurrency"]),
        cell["target"],
        f"{cell['ok']}/{cell['planned_requests']}",
        _f(cell["req_s"], ",.1f"),
        _f(cell["mib_s"], ",.1f"),
        _f(cell["p50_ms"], ".1f"),
        _f(cell["p99_ms"], ".1f"),
        published,
        _f(ratio, ".1f"),
        "-" if ratio is None else ("ok" if ratio >= 10 else "BELOW") + " 10",
        _ms_per_req(cell, "target_cpu_s"),
        _ms_per_req(cell, "client_cpu_s"),
        _peak_rss(cell),
        _errors(cell),
    ]


_NATIVE_HEAD = [
    "payload", "bytes", "c", "target", "done/planned", "req/s", "MiB/s", "p50 ms", "p99 ms",
    "orig req/s", "xorig", "goal", "srv cpu ms/req", "cli cpu ms/req", "srv MiB", "errors",
]  # fmt: skip

_KINDS = {
    "s3": (_S3_HEAD, _s3_row),
    "list": (_LIST_HEAD, _list_row),
    "native": (_NATIVE_HEAD, _native_row),
}
_TITLES = {
    "s3": "S3 PUT and GET (MiB/s = 2^20 B/s; latency per request; "
    "xMinIO = req/s over direct MinIO's)",
    "list": "LIST: ListObjectsV2 page after page by one client, xMinIO by keys/s "
    "(fill: 64 concurrent empty PUTs; the distributed target's go straight to MinIO)",
    "native": "Original load test: POST /objects with JSON, answered 201 after storing "
    "(orig = its published rate, answered before storing)",
}


_WIDTHS = {"op": 4, "size": 7, "c": 3, "target": 11, "payload": 8, "bytes": 9, "keys": 6}
_LEFT = {"op", "size", "target", "payload", "goal", "errors"}


def _line(head: list[str], values: list[str]) -> str:
    out = []
    for name, value in zip(head, values, strict=True):
        width = max(len(name), _WIDTHS.get(name, 6))
        out.append(value.ljust(width) if name in _LEFT else value.rjust(width))
    return "  ".join(out).rstrip()


class Printer:
    """Prints each group of cells as it is measured, under one header per kind."""

    def __init__(self, out: Any = None) -> None:
        self.out = out or sys.stdout
        self.seen: set[str] = set()

    def __call__(self, kind: str, group: list[Cell]) -> None:
        head, row = _KINDS[kind]
        if kind not in self.seen:
            self.seen.add(kind)
            print(f"\n{_TITLES[kind]}", file=self.out)
            print(_line(head, head), file=self.out)
        for cell in group:
            print(_line(head, row(cell, group)), file=self.out)
        print("", file=self.out, flush=True)


def _groups(cells: list[Cell], key: tuple[str, ...]) -> list[list[Cell]]:
    groups: dict[tuple[Any, ...], list[Cell]] = {}
    for cell in cells:
        groups.setdefault(tuple(cell.get(k) for k in key), []).append(cell)
    return list(groups.values())


def markdown(results: dict[str, Any]) -> str:
    """The run's tables as Markdown."""
    parts = []
    keys = {"s3": ("op", "size", "concurrency"), "list": (), "native": ("label", "concurrency")}
    for kind in ("s3", "list", "native"):
        cells = results.get(kind) or []
        if not cells:
            continue
        head, row = _KINDS[kind]
        lines = [f"**{_TITLES[kind]}**", "", "| " + " | ".join(head) + " |"]
        lines.append("|" + "---|" * len(head))
        for group in _groups(cells, keys[kind]):
            lines += ["| " + " | ".join(row(c, group)) + " |" for c in group]
        parts.append("\n".join(lines))
    notes = results.get("notes") or []
    if notes:
        parts.append("Caps:\n\n" + "\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(markdown(json.load(f)), end="")
