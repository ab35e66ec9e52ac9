"""``sangraha bench --quick`` works: it starts its three targets, measures
every workload, writes JSON of the documented shape and cleans up after
itself.  Nothing here is about speed: counts must be non-zero, never fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from sangraha.settings import ENV_VARS
from tests.integration.conftest import make_client
from tests.integration.stack import rabbitmqctl

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parents[2]
TARGETS = {"distributed", "embedded", "minio"}
CELL_FIELDS = {
    "op", "size", "concurrency", "target", "requests", "ok", "errors", "bytes",
    "seconds", "req_s", "mib_s", "p50_ms", "p99_ms", "cpu_s",
}  # fmt: skip


@pytest.fixture(scope="module")
def quick_run(services, tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(
        SANGRAHA_AMQP_URL=services.amqp_url,
        SANGRAHA_S3_ENDPOINT=services.s3_endpoint,
        SANGRAHA_S3_ACCESS_KEY=services.s3_access_key,
        SANGRAHA_S3_SECRET_KEY=services.s3_secret_key,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "sangraha.cli", "bench", "--quick", "--json", str(out)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, json.loads(out.read_text())


def test_quick_bench_measures_put_and_get_on_every_target(quick_run):
    _, results = quick_run
    cells = results["s3"]
    assert all(not CELL_FIELDS - set(cell) for cell in cells)
    seen = {(c["op"], c["size"], c["concurrency"], c["target"]) for c in cells}
    assert seen == {
        (op, size, conc, target)
        for op in ("PUT", "GET")
        for size in (4096, 1024 * 1024)
        for conc in (1, 16)
        for target in TARGETS
    }
    for cell in cells:
        assert cell["ok"] > 0 and cell["bytes"] > 0 and cell["req_s"] > 0, cell
        assert cell["p99_ms"] >= cell["p50_ms"] > 0, cell


def test_quick_bench_lists_a_filled_bucket_on_every_target(quick_run):
    _, results = quick_run
    assert {c["target"] for c in results["list"]} == TARGETS
    for cell in results["list"]:
        assert cell["op"] == "LIST"
        assert cell["bucket_keys"] == 1000, cell
        assert cell["ok"] > 0 and cell["keys"] > 0 and cell["keys_s"] > 0, cell


def test_quick_bench_posts_native_documents_to_both_sangraha_modes(quick_run):
    _, results = quick_run
    cells = results["native"]
    assert {c["target"] for c in cells} == {"distributed", "embedded"}
    assert {c["label"] for c in cells} == {"~2 KiB", "~1 MiB"}
    for cell in cells:
        assert cell["op"] == "POST /objects"
        assert cell["ok"] > 0 and cell["planned_requests"] > 0, cell


def test_quick_bench_prints_tables_and_describes_its_run(quick_run):
    proc, results = quick_run
    assert "xMinIO" in proc.stdout and "orig req/s" in proc.stdout
    assert results["quick"] is True
    assert set(results["targets"]) == TARGETS
    assert results["environment"]["cpus"] >= 1
    assert results["casualties"] == []


def test_quick_bench_leaves_no_bucket_vhost_or_directory_behind(quick_run, services):
    _, results = quick_run
    run_id = results["run_id"]
    s3 = make_client(services.s3_endpoint, services.s3_access_key, services.s3_secret_key)
    buckets = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    assert not [b for b in buckets if b.startswith(f"sgb-{run_id}-")]
    assert f"sangraha-bench-{run_id}" not in rabbitmqctl("list_vhosts")
    assert not list(Path(tempfile.gettempdir()).glob(f"sangraha-bench-{run_id}-*"))
