"""rclone (Debian's package) as users run it: copy, sync, move, check, lsjson.

The remote is configured on the fly through RCLONE_CONFIG_SG_* variables.
AWS_CA_BUNDLE is removed from rclone's environment: this machine sets it and
rclone 1.60 then fails with LoadCustomCABundleError.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.trees import bucket_tree, local_tree

pytestmark = pytest.mark.services


def _rclone_binary() -> str:
    found = shutil.which("rclone")
    if found is None:
        pytest.fail("rclone is not installed (Debian package rclone; a test dependency)")
    return found


@pytest.fixture
def rclone_env(target, tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    env.update(
        RCLONE_CONFIG=str(tmp_path / "rclone.conf"),
        RCLONE_CONFIG_SG_TYPE="s3",
        RCLONE_CONFIG_SG_PROVIDER="Other",
        RCLONE_CONFIG_SG_ENDPOINT=target.endpoint,
        RCLONE_CONFIG_SG_ACCESS_KEY_ID=target.access_key,
        RCLONE_CONFIG_SG_SECRET_ACCESS_KEY=target.secret_key,
        RCLONE_CONFIG_SG_REGION="us-east-1",
        RCLONE_CONFIG_SG_FORCE_PATH_STYLE="true",
    )
    return env


def rclone(env, *args: str, ok_codes: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [_rclone_binary(), "--retries", "1", "--low-level-retries", "1", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in ok_codes, (
        f"rclone {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}"
    )
    return result


def _make_tree(root: Path) -> None:
    files = {
        "a.txt": b"alpha\n",
        "empty": b"",
        "dir/b.bin": os.urandom(123_456),
        "dir/sub/c.bin": os.urandom(1_000_000),
        "names/with space & ünïcode.txt": b"names",
        "names/per%cent+plus.txt": b"odd",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _lsjson(env, remote: str, *extra: str) -> dict[str, dict]:
    out = rclone(env, "lsjson", "--recursive", "--files-only", *extra, remote).stdout
    return {entry["Path"]: entry for entry in json.loads(out)}


def test_rclone_copy_check_and_copy_back(rclone_env, s3, bucket, tmp_path):
    local = tmp_path / "src"
    _make_tree(local)
    rclone(rclone_env, "copy", str(local), f"sg:{bucket}/data")
    assert bucket_tree(s3, bucket, "data/") == local_tree(local)
    rclone(rclone_env, "check", str(local), f"sg:{bucket}/data")
    back = tmp_path / "back"
    rclone(rclone_env, "copy", f"sg:{bucket}/data", str(back))
    assert local_tree(back) == local_tree(local)
    # rclone stores the modification time and MD5 as user metadata.
    head = s3.head_object(Bucket=bucket, Key="data/dir/b.bin")
    assert "mtime" in head["Metadata"]


def test_rclone_check_notices_a_difference(rclone_env, s3, bucket, tmp_path):
    local = tmp_path / "src"
    _make_tree(local)
    rclone(rclone_env, "copy", str(local), f"sg:{bucket}/data")
    s3.put_object(Bucket=bucket, Key="data/a.txt", Body=b"ALPHA\n")
    result = rclone(rclone_env, "check", str(local), f"sg:{bucket}/data", ok_codes=(1,))
    assert "a.txt" in result.stderr


def test_rclone_sync_mirrors_additions_changes_and_deletions(rclone_env, s3, bucket, tmp_path):
    local = tmp_path / "src"
    _make_tree(local)
    rclone(rclone_env, "sync", str(local), f"sg:{bucket}/mirror")
    (local / "a.txt").write_bytes(b"alpha, changed\n")
    (local / "dir/new.txt").write_bytes(b"new")
    (local / "dir/sub/c.bin").unlink()
    rclone(rclone_env, "sync", str(local), f"sg:{bucket}/mirror")
    assert bucket_tree(s3, bucket, "mirror/") == local_tree(local)
    rclone(rclone_env, "check", str(local), f"sg:{bucket}/mirror")


def test_rclone_sync_updates_a_changed_mtime_in_place(rclone_env, s3, bucket, tmp_path):
    """Same content, new modification time: rclone rewrites the metadata with
    a CopyObject of the object onto itself (MetadataDirective REPLACE)."""
    local = tmp_path / "src"
    _make_tree(local)
    rclone(rclone_env, "sync", str(local), f"sg:{bucket}/m")
    moved = time.time() - 86_400 * 30
    os.utime(local / "dir/b.bin", (moved, moved))
    rclone(rclone_env, "sync", str(local), f"sg:{bucket}/m")
    entry = _lsjson(rclone_env, f"sg:{bucket}/m")["dir/b.bin"]
    listed = entry["ModTime"]
    assert listed.startswith(time.strftime("%Y-%m-%d", time.gmtime(moved))), listed
    assert bucket_tree(s3, bucket, "m/") == local_tree(local)


def test_rclone_move_within_and_across_buckets(rclone_env, s3, bucket, tmp_path):
    other = f"rc-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=other)
    try:
        local = tmp_path / "src"
        _make_tree(local)
        expected = local_tree(local)
        rclone(rclone_env, "copy", str(local), f"sg:{bucket}/from")
        rclone(rclone_env, "move", f"sg:{bucket}/from", f"sg:{bucket}/to")
        assert bucket_tree(s3, bucket, "from/") == {}
        assert bucket_tree(s3, bucket, "to/") == expected
        rclone(rclone_env, "move", f"sg:{bucket}/to", f"sg:{other}/there")
        assert bucket_tree(s3, bucket, "to/") == {}
        assert bucket_tree(s3, other, "there/") == expected
        rclone(rclone_env, "move", f"sg:{other}/there", str(tmp_path / "home"))
        assert local_tree(tmp_path / "home") == expected
        assert bucket_tree(s3, other) == {}
    finally:
        for key in bucket_tree(s3, other):
            s3.delete_object(Bucket=other, Key=key)
        s3.delete_bucket(Bucket=other)


@pytest.mark.parametrize("list_version", ["1", "2"])
def test_rclone_lsjson_reports_sizes_hashes_and_paths(rclone_env, bucket, tmp_path, list_version):
    local = tmp_path / "src"
    _make_tree(local)
    rclone(rclone_env, "copy", str(local), f"sg:{bucket}/ls")
    listed = _lsjson(
        rclone_env,
        f"sg:{bucket}/ls",
        "--hash",
        "--s3-list-version",
        list_version,
        "--s3-list-chunk",
        "2",  # several pages: continuation tokens / markers
    )
    assert set(listed) == set(local_tree(local))
    for path, entry in listed.items():
        data = (local / path).read_bytes()
        assert entry["Size"] == len(data)
        assert entry["Hashes"]["md5"] == hashlib.md5(data).hexdigest()
    dirs = json.loads(rclone(rclone_env, "lsjson", "--dirs-only", f"sg:{bucket}/ls").stdout)
    assert {d["Path"] for d in dirs} == {"dir", "names"}


def test_rclone_multipart_upload_and_cleanup(rclone_env, s3, bucket, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024 + 1))
    rclone(
        rclone_env,
        "copyto",
        str(big),
        f"sg:{bucket}/big.bin",
        "--s3-upload-cutoff",
        "5M",
        "--s3-chunk-size",
        "5M",
    )
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == big.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")
    rclone(rclone_env, "check", str(tmp_path), f"sg:{bucket}", "--include", "big.bin")
    # An abandoned upload is found (ListMultipartUploads) and aborted.
    upload = s3.create_multipart_upload(Bucket=bucket, Key="abandoned")["UploadId"]
    time.sleep(1.1)
    # `rclone cleanup` keeps uploads younger than 24 h; the backend command takes an age.
    rclone(rclone_env, "backend", "cleanup", f"sg:{bucket}", "-o", "max-age=1s")
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert upload not in [u["UploadId"] for u in uploads]
