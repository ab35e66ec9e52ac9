"""Compare a local directory tree with a bucket's contents (client tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def local_tree(root: Path) -> dict[str, str]:
    """relative path -> md5 of every file under root."""
    return {
        p.relative_to(root).as_posix(): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def bucket_tree(s3, bucket: str, prefix: str = "") -> dict[str, str]:
    """key without ``prefix`` -> ETag of every object under ``prefix``."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"][len(prefix) :]] = obj["ETag"].strip('"')
    return found
