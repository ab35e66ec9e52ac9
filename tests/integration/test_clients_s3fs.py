"""s3fs (fsspec over aiobotocore) as users run it: ls, find, ranged reads,
writes, copies, recursive rm.  Both modes."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import s3fs

pytestmark = pytest.mark.services


@pytest.fixture
def fs(target) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(
        key=target.access_key,
        secret=target.secret_key,
        endpoint_url=target.endpoint,
        client_kwargs={"region_name": "us-east-1"},
        config_kwargs={"retries": {"total_max_attempts": 1, "mode": "standard"}},
        skip_instance_cache=True,
        use_listings_cache=False,
    )


@pytest.fixture
def tree(s3, bucket) -> dict[str, bytes]:
    files = {
        "top.txt": b"top",
        "dir/a.bin": os.urandom(1000),
        "dir/b.bin": os.urandom(2000),
        "dir/sub/c.bin": os.urandom(300_000),
        "dir/sub/deeper/d.txt": b"deep",
        "other/e.txt": b"e",
    }
    for key, data in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    return files


def test_ls_lists_files_and_directories_one_level(fs, bucket, tree):
    top = sorted(fs.ls(bucket))
    assert top == sorted([f"{bucket}/top.txt", f"{bucket}/dir", f"{bucket}/other"])
    detail = {e["name"]: e for e in fs.ls(f"{bucket}/dir", detail=True)}
    assert detail[f"{bucket}/dir/a.bin"]["size"] == 1000
    assert detail[f"{bucket}/dir/a.bin"]["type"] == "file"
    assert detail[f"{bucket}/dir/sub"]["type"] == "directory"


def test_directory_probes_use_one_key_listings(fs, bucket, tree):
    assert fs.isdir(f"{bucket}/dir")
    assert fs.isdir(f"{bucket}/dir/sub/deeper")
    assert not fs.isdir(f"{bucket}/dir/a.bin")
    assert fs.isfile(f"{bucket}/dir/a.bin")
    assert fs.exists(f"{bucket}/dir/sub")
    assert not fs.exists(f"{bucket}/nothing-here")
    assert fs.info(f"{bucket}/dir")["type"] == "directory"
    assert fs.info(f"{bucket}/dir/b.bin")["size"] == 2000


def test_find_walks_everything_below_a_path(fs, bucket, tree):
    assert sorted(fs.find(bucket)) == sorted(f"{bucket}/{k}" for k in tree)
    assert sorted(fs.find(f"{bucket}/dir/sub")) == [
        f"{bucket}/dir/sub/c.bin",
        f"{bucket}/dir/sub/deeper/d.txt",
    ]
    shallow = fs.find(f"{bucket}/dir", maxdepth=1)
    assert sorted(shallow) == [f"{bucket}/dir/a.bin", f"{bucket}/dir/b.bin"]
    with_dirs = fs.find(f"{bucket}/dir", withdirs=True)
    assert f"{bucket}/dir/sub" in with_dirs
    assert fs.du(f"{bucket}/dir") == 1000 + 2000 + 300_000 + 4
    assert sorted(fs.glob(f"{bucket}/dir/*.bin")) == [f"{bucket}/dir/a.bin", f"{bucket}/dir/b.bin"]


def test_open_reads_ranges(fs, bucket, tree):
    data = tree["dir/sub/c.bin"]
    path = f"{bucket}/dir/sub/c.bin"
    with fs.open(path, "rb", block_size=64 * 1024) as f:
        assert f.read(10) == data[:10]
        f.seek(150_000)
        assert f.read(70_000) == data[150_000:220_000]
        f.seek(-5, os.SEEK_END)
        assert f.read() == data[-5:]
    assert fs.cat_file(path, start=1000, end=1100) == data[1000:1100]
    assert fs.cat_file(path, start=-100) == data[-100:]
    assert fs.read_block(path, 299_990, 100) == data[299_990:]
    assert fs.cat(f"{bucket}/top.txt") == b"top"


def test_write_small_and_multipart_files(fs, bucket):
    small = os.urandom(10_000)
    with fs.open(f"{bucket}/w/small.bin", "wb") as f:
        f.write(small)
    assert fs.cat(f"{bucket}/w/small.bin") == small
    large = os.urandom(12 * 1024 * 1024 + 3)
    with fs.open(f"{bucket}/w/large.bin", "wb", block_size=5 * 1024 * 1024) as f:
        for i in range(0, len(large), 1024 * 1024):
            f.write(large[i : i + 1024 * 1024])
    assert fs.size(f"{bucket}/w/large.bin") == len(large)
    assert fs.cat(f"{bucket}/w/large.bin") == large
    fs.pipe(f"{bucket}/w/piped.txt", b"piped")
    assert fs.cat(f"{bucket}/w/piped.txt") == b"piped"


def test_copy_and_move(fs, bucket, tree):
    fs.copy(f"{bucket}/dir/a.bin", f"{bucket}/copies/a.bin")
    assert fs.cat(f"{bucket}/copies/a.bin") == tree["dir/a.bin"]
    fs.copy(f"{bucket}/dir/sub", f"{bucket}/copies/sub", recursive=True)
    assert fs.cat(f"{bucket}/copies/sub/deeper/d.txt") == b"deep"
    fs.mv(f"{bucket}/top.txt", f"{bucket}/moved.txt")
    assert not fs.exists(f"{bucket}/top.txt")
    assert fs.cat(f"{bucket}/moved.txt") == b"top"


def test_rm_recursive_deletes_in_batches_of_a_thousand(fs, s3, bucket):
    keys = [f"many/{i:05d}.txt" for i in range(1005)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x"), keys))
    s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"k")
    assert len(fs.find(f"{bucket}/many")) == 1005
    fs.rm(f"{bucket}/many", recursive=True)
    assert not fs.exists(f"{bucket}/many")
    remaining = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert remaining == ["keep.txt"]


def test_rm_of_single_files_and_empty_results(fs, bucket, tree):
    fs.rm(f"{bucket}/other/e.txt")
    assert not fs.exists(f"{bucket}/other/e.txt")
    assert not fs.exists(f"{bucket}/other")
    fs.rm([f"{bucket}/dir/a.bin", f"{bucket}/dir/b.bin"])
    assert sorted(fs.ls(f"{bucket}/dir")) == [f"{bucket}/dir/sub"]
