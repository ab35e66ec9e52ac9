"""The aws CLI (PyPI awscli) against both modes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.services


def _aws_binary() -> str:
    found = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if found is None:
        pytest.fail("the aws CLI is not installed (it is a test dependency)")
    return found


def aws(target, env, *args: str, ok_codes: tuple[int, ...] = (0,)) -> str:
    result = subprocess.run(
        [_aws_binary(), "--endpoint-url", target.endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in ok_codes, f"aws {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def test_aws_cli_mb_cp_ls_rm_round_trip(target, aws_env, tmp_path):
    bucket = f"cli-{uuid.uuid4().hex[:16]}"
    source = tmp_path / "upload.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    aws(target, aws_env, "s3", "mb", f"s3://{bucket}")
    aws(target, aws_env, "s3", "cp", str(source), f"s3://{bucket}/folder/upload.bin")
    listing = aws(target, aws_env, "s3", "ls", f"s3://{bucket}/folder/")
    assert "upload.bin" in listing
    assert str(source.stat().st_size) in listing
    downloaded = tmp_path / "download.bin"
    aws(target, aws_env, "s3", "cp", f"s3://{bucket}/folder/upload.bin", str(downloaded))
    assert downloaded.read_bytes() == source.read_bytes()
    aws(target, aws_env, "s3", "rm", f"s3://{bucket}/folder/upload.bin")
    # `aws s3 ls` exits 1 when nothing matches.
    after = aws(target, aws_env, "s3", "ls", f"s3://{bucket}/folder/", ok_codes=(0, 1))
    assert "upload.bin" not in after
    aws(target, aws_env, "s3", "rb", f"s3://{bucket}")
    assert bucket not in aws(target, aws_env, "s3", "ls")
