"""Real clients moving large files: the aws CLI (multipart both ways) and rclone.

Both modes; heavy (hundreds of MiB each way).  Each prints its MB/s.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid

import pytest

from tests.integration.test_awscli import aws
from tests.integration.test_clients_rclone import rclone, rclone_env  # noqa: F401 - fixture

pytestmark = [pytest.mark.services, pytest.mark.heavy]

MiB = 1024 * 1024


def _big_file(path, size: int) -> str:
    md5 = hashlib.md5()
    block = os.urandom(8 * MiB)
    with path.open("wb") as f:
        written = 0
        while written < size:
            piece = block[: min(len(block), size - written)]
            piece = piece[written % 4096 :] + piece[: written % 4096]  # vary the blocks
            f.write(piece)
            md5.update(piece)
            written += len(piece)
    return md5.hexdigest()


def _md5_of(path) -> str:
    md5 = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(8 * MiB):
            md5.update(chunk)
    return md5.hexdigest()


def test_aws_cli_copies_300_mib_up_and_down_with_multipart(target, aws_env, tmp_path):
    bucket = f"cli-big-{uuid.uuid4().hex[:12]}"
    source = tmp_path / "big.bin"
    digest = _big_file(source, 300 * MiB)
    aws(target, aws_env, "s3", "mb", f"s3://{bucket}")
    try:
        started = time.perf_counter()
        aws(target, aws_env, "s3", "cp", str(source), f"s3://{bucket}/big.bin")
        up = 300 / (time.perf_counter() - started)
        # The CLI switched to multipart (8 MiB parts): the ETag says so.
        head = aws(
            target, aws_env, "s3api", "head-object", "--bucket", bucket, "--key", "big.bin"
        )
        assert '-38\\"' in head or "-38" in head, head
        target_file = tmp_path / "down.bin"
        started = time.perf_counter()
        aws(target, aws_env, "s3", "cp", f"s3://{bucket}/big.bin", str(target_file))
        down = 300 / (time.perf_counter() - started)
        assert _md5_of(target_file) == digest
        print(f"\naws s3 cp 300 MiB ({target.mode}): up {up:.0f} MiB/s, down {down:.0f} MiB/s")
    finally:
        aws(target, aws_env, "s3", "rb", "--force", f"s3://{bucket}")


def test_rclone_copies_250_mib(target, rclone_env, tmp_path):  # noqa: F811 - fixture
    bucket = f"rc-big-{uuid.uuid4().hex[:12]}"
    folder = tmp_path / "up"
    folder.mkdir()
    digest = _big_file(folder / "big.bin", 250 * MiB)
    rclone(rclone_env, "mkdir", f"sg:{bucket}")
    try:
        started = time.perf_counter()
        rclone(rclone_env, "copy", str(folder), f"sg:{bucket}/dir")
        up = 250 / (time.perf_counter() - started)
        rclone(rclone_env, "check", str(folder), f"sg:{bucket}/dir")
        down_dir = tmp_path / "down"
        started = time.perf_counter()
        rclone(rclone_env, "copy", f"sg:{bucket}/dir", str(down_dir))
        down = 250 / (time.perf_counter() - started)
        assert _md5_of(down_dir / "big.bin") == digest
        print(f"\nrclone copy 250 MiB ({target.mode}): up {up:.0f} MiB/s, down {down:.0f} MiB/s")
    finally:
        rclone(rclone_env, "purge", f"sg:{bucket}", ok_codes=(0, 1, 3))
