"""ListObjectsV2 over the distributed path: S3 order, prefixes, delimiters, pages."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.services


def _keys() -> list[str]:
    keys = []
    for top in ("alpha", "beta", "gamma", "Zed", "é-accent"):
        for mid in range(10):
            for leaf in range(50):
                keys.append(f"{top}/{mid:02d}/item-{leaf:03d}")
    return keys  # 2,500 keys


@pytest.fixture(scope="module")
def filled(s3):
    import uuid

    name = f"list-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    keys = _keys()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=name, Key=k, Body=k.encode()), keys))
    yield name, keys
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.delete_object(Bucket=name, Key=k), keys))
    s3.delete_bucket(Bucket=name)


def _s3_order(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def test_pagination_returns_every_key_once_in_s3_order(s3, filled):
    name, keys = filled
    seen = []
    pages = 0
    kwargs = {"Bucket": name, "MaxKeys": 700}
    while True:
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        assert page["KeyCount"] == len(page.get("Contents", []))
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    assert pages == 4
    assert seen == _s3_order(keys)


def test_prefix_and_delimiter_group_common_prefixes(s3, filled):
    name, _ = filled
    top = s3.list_objects_v2(Bucket=name, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == _s3_order(
        ["alpha/", "beta/", "gamma/", "Zed/", "é-accent/"]
    )
    assert "Contents" not in top
    mid = s3.list_objects_v2(Bucket=name, Prefix="beta/", Delimiter="/")
    assert [p["Prefix"] for p in mid["CommonPrefixes"]] == [f"beta/{i:02d}/" for i in range(10)]
    leaf = s3.list_objects_v2(Bucket=name, Prefix="beta/03/", Delimiter="/")
    assert [o["Key"] for o in leaf["Contents"]] == [f"beta/03/item-{i:03d}" for i in range(50)]


def test_delimiter_pages_across_common_prefixes(s3, filled):
    name, _ = filled
    prefixes = []
    kwargs = {"Bucket": name, "Prefix": "gamma/", "Delimiter": "/", "MaxKeys": 3}
    while True:
        page = s3.list_objects_v2(**kwargs)
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    assert prefixes == [f"gamma/{i:02d}/" for i in range(10)]


def test_start_after_skips_earlier_keys(s3, filled):
    name, keys = filled
    page = s3.list_objects_v2(Bucket=name, StartAfter="gamma/09/item-047")
    ordered = _s3_order(keys)
    expected = ordered[ordered.index("gamma/09/item-047") + 1 :][:1000]
    assert [o["Key"] for o in page["Contents"]] == expected


def test_paginator_with_prefix_matches_model(s3, filled):
    name, keys = filled
    paginator = s3.get_paginator("list_objects_v2")
    got = [
        o["Key"]
        for page in paginator.paginate(
            Bucket=name, Prefix="alpha/0", PaginationConfig={"PageSize": 137}
        )
        for o in page.get("Contents", [])
    ]
    assert got == _s3_order([k for k in keys if k.startswith("alpha/0")])
