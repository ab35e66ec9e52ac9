"""The aws CLI (PyPI awscli) as users run it: sync, mv, rm --recursive,
presign.  Both modes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.integration.trees import bucket_tree, local_tree

pytestmark = pytest.mark.services


def _aws_binary() -> str:
    found = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if found is None:
        pytest.fail("the aws CLI is not installed (it is a test dependency)")
    return found


def aws(target, env, *args: str) -> str:
    result = subprocess.run(
        [_aws_binary(), "--endpoint-url", target.endpoint, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"aws {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def _make_tree(root: Path) -> None:
    files = {
        "top.txt": b"top level\n",
        "empty.bin": b"",
        "docs/readme.md": b"# readme\n" * 100,
        "docs/deep/er/leaf.bin": os.urandom(300_000),
        "names/with space.txt": b"space",
        "names/plus+sign.txt": b"plus",
        "names/ünïcødé.txt": b"unicode",
        "big/two-megabytes.bin": os.urandom(2 * 1024 * 1024 + 5),
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_aws_s3_sync_up_down_and_delete(target, aws_env, s3, bucket, tmp_path):
    local = tmp_path / "local"
    _make_tree(local)
    aws(target, aws_env, "s3", "sync", str(local), f"s3://{bucket}/site/")
    assert bucket_tree(s3, bucket, "site/") == local_tree(local)

    # Nothing changed: a second sync uploads nothing (sizes and times agree).
    assert aws(target, aws_env, "s3", "sync", str(local), f"s3://{bucket}/site/").strip() == ""

    (local / "top.txt").write_bytes(b"changed, and longer than before\n")
    (local / "docs/new.txt").write_bytes(b"new file")
    (local / "names/with space.txt").unlink()
    out = aws(target, aws_env, "s3", "sync", "--delete", str(local), f"s3://{bucket}/site/")
    assert "delete:" in out
    assert bucket_tree(s3, bucket, "site/") == local_tree(local)

    down = tmp_path / "down"
    aws(target, aws_env, "s3", "sync", f"s3://{bucket}/site/", str(down))
    assert local_tree(down) == local_tree(local)


def test_aws_s3_mv_local_to_bucket_to_bucket_to_local(target, aws_env, s3, bucket, tmp_path):
    other = f"mv-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=other)
    try:
        source = tmp_path / "moving.bin"
        data = os.urandom(100_000)
        source.write_bytes(data)
        aws(target, aws_env, "s3", "mv", str(source), f"s3://{bucket}/a/moving.bin")
        assert not source.exists()
        # Server-side move: CopyObject, then DeleteObject of the source.
        aws(target, aws_env, "s3", "mv", f"s3://{bucket}/a/moving.bin", f"s3://{other}/b.bin")
        assert bucket_tree(s3, bucket, "a/") == {}
        assert s3.get_object(Bucket=other, Key="b.bin")["Body"].read() == data
        back = tmp_path / "back.bin"
        aws(target, aws_env, "s3", "mv", f"s3://{other}/b.bin", str(back))
        assert back.read_bytes() == data
        assert bucket_tree(s3, other) == {}
    finally:
        s3.delete_bucket(Bucket=other)


def test_aws_s3_mv_recursive_within_a_bucket(target, aws_env, s3, bucket, tmp_path):
    local = tmp_path / "local"
    _make_tree(local)
    aws(target, aws_env, "s3", "sync", str(local), f"s3://{bucket}/old/")
    aws(target, aws_env, "s3", "mv", "--recursive", f"s3://{bucket}/old/", f"s3://{bucket}/new/")
    assert bucket_tree(s3, bucket, "old/") == {}
    assert bucket_tree(s3, bucket, "new/") == local_tree(local)


def test_aws_s3_rm_recursive_removes_only_the_prefix(target, aws_env, s3, bucket, tmp_path):
    local = tmp_path / "local"
    _make_tree(local)
    aws(target, aws_env, "s3", "sync", str(local), f"s3://{bucket}/gone/")
    s3.put_object(Bucket=bucket, Key="kept/file.txt", Body=b"keep me")
    s3.put_object(Bucket=bucket, Key="gone-but-not-prefix.txt", Body=b"sibling")
    out = aws(target, aws_env, "s3", "rm", "--recursive", f"s3://{bucket}/gone/")
    assert out.count("delete:") == len(local_tree(local))
    assert sorted(bucket_tree(s3, bucket)) == ["gone-but-not-prefix.txt", "kept/file.txt"]


def _presign_and_fetch(target, env, bucket: str) -> bytes:
    url = aws(target, env, "s3", "presign", f"s3://{bucket}/shared.txt", "--expires-in", "300")
    with urllib.request.urlopen(url.strip(), timeout=30) as response:
        return response.read()


def test_aws_s3_presign_url_is_fetched_with_plain_http(target, aws_env, s3, bucket):
    """The CLI's default presign (SigV2 query auth in us-east-1)."""
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared by url")
    assert _presign_and_fetch(target, aws_env, bucket) == b"shared by url"


def test_aws_s3_presign_with_sigv4_configured_is_fetched_with_plain_http(
    target, aws_env, s3, bucket, tmp_path
):
    config = tmp_path / "aws-config-v4"
    config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")
    env = {**aws_env, "AWS_CONFIG_FILE": str(config)}
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"shared by v4 url")
    assert _presign_and_fetch(target, env, bucket) == b"shared by v4 url"


def test_aws_s3_cp_of_a_multipart_sized_file_round_trips(target, aws_env, s3, bucket, tmp_path):
    source = tmp_path / "large.bin"
    source.write_bytes(os.urandom(17 * 1024 * 1024 + 1))
    aws(target, aws_env, "s3", "cp", str(source), f"s3://{bucket}/large.bin")
    head = s3.head_object(Bucket=bucket, Key="large.bin")
    assert head["ContentLength"] == source.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")  # 8 MiB parts
    down = tmp_path / "large.down"
    aws(target, aws_env, "s3", "cp", f"s3://{bucket}/large.bin", str(down))
    assert down.read_bytes() == source.read_bytes()
