"""``sangraha bench``: Sangraha (distributed and embedded) against direct
MinIO, with one client, in one run; see docs/performance.md.

- :mod:`~sangraha.bench.targets` starts and stops the three targets;
- :mod:`~sangraha.bench.client` is the one S3 client (aiohttp + SigV4);
- :mod:`~sangraha.bench.workloads` drives S3 PUT/GET, LIST and the original
  product's POST /objects;
- :mod:`~sangraha.bench.report` prints the tables;
- :mod:`~sangraha.bench.cpu` says which process spent the CPU;
- :mod:`~sangraha.bench.runner` ties them together.

This module stays import-light: the CLI builds its parser from it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sangraha.settings import Settings

__all__ = ["add_arguments", "run"]

_KINDS = ("s3", "list", "native")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny run (4 KiB and 1 MiB, c1 and c16, a few requests per cell) for CI",
    )
    parser.add_argument("--json", metavar="FILE", help="write every measured cell to FILE")
    parser.add_argument(
        "--only", choices=_KINDS, action="append", help="run only this workload (repeatable)"
    )
    parser.add_argument(
        "--targets",
        default="distributed,embedded,minio",
        help="comma-separated: distributed, embedded, minio (default: all three)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="receiver and getter processes of the distributed target (default 1)",
    )
    parser.add_argument(
        "--seconds", type=float, help="time budget of one S3 cell (default 1.0, --quick 0.3)"
    )
    parser.add_argument(
        "--max-inflight-mib",
        type=int,
        help="cap concurrency x object size of an S3 cell at this many MiB (default 256): "
        "e.g. 256 MiB objects run at c1, 16 MiB ones at most at c16",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the bench; the exit status."""
    from sangraha.bench.runner import main

    return main(args, settings)
