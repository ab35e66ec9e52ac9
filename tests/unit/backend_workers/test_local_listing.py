"""Listing of the local store against a brute-force model of S3 listing.

The model: sort the keys by UTF-8 bytes, keep those under the prefix, replace
each run of keys sharing a common prefix (up to the first delimiter after the
prefix) by that prefix, then keep the items sorting after the start position.
A page is the next ``max_keys`` items; paging with ``next_cursor`` must yield
exactly the model's sequence.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend_workers.storage.local import LocalStorage
from backend_workers.storage.local_index import Index, ObjectRow, prefix_end
from s3compat.errors import S3Error
from sangraha.contract import CreateBucket, ListObjects
from tests.unit.backend_workers.conftest import BUCKET, put

Item = tuple[str, str]  # ("key" | "prefix", value)


def utf8(s: str) -> bytes:
    return s.encode("utf-8")


def model(keys: set[str], prefix: str, delimiter: str, after: str | None) -> list[Item]:
    items: list[Item] = []
    for key in sorted(keys, key=utf8):
        if not key.startswith(prefix):
            continue
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        if at >= 0:
            group = key[: at + len(delimiter)]
            if not items or items[-1] != ("prefix", group):
                items.append(("prefix", group))
        else:
            items.append(("key", key))
    if after is None:
        return items
    return [item for item in items if utf8(item[1]) > utf8(after)]


# Small alphabets make shared prefixes, delimiters inside keys and multi-byte
# characters (ordering by UTF-8 bytes, not code units) likely.
_PIECES = ["a", "b", "/", "-", "ab", "é", "z", "😀", "\x00", "\U0010fffd", "ß/", "a/"]
keys_st = st.sets(
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=5).map("".join), max_size=40
)
delimiters = st.one_of(
    st.sampled_from(["", "/", "a", "ab", "-", "é", "//", "😀", "b/"]),
    st.text(min_size=1, max_size=3),
)
prefixes = st.one_of(st.just(""), st.lists(st.sampled_from(_PIECES), max_size=2).map("".join))
max_keys_st = st.one_of(st.integers(0, 5), st.sampled_from([1000, 7]))


@pytest.fixture(scope="module")
def index() -> Iterator[Index]:
    # Built once per module on tmpfs when available: fsync per example is not the point here.
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        idx = Index(Path(tmp) / "index.sqlite3")
        try:
            yield idx
        finally:
            idx.close()


_buckets = itertools.count()


def fill(index: Index, keys: set[str]) -> str:
    bucket = f"b{next(_buckets)}"
    index.create_bucket(bucket)
    for key in keys:
        index.put_object(
            bucket,
            utf8(key),
            ObjectRow(blob="x", size=1, etag="e", last_modified=0, content_type="t"),
        )
    return bucket


def page_items(page: object) -> list[Item]:
    entries = [("key", k.decode()) for k, *_ in page.entries]  # type: ignore[attr-defined]
    prefixes = [("prefix", p.decode()) for p in page.common_prefixes]  # type: ignore[attr-defined]
    return sorted(entries + prefixes, key=lambda item: utf8(item[1]))


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    keys=keys_st,
    prefix=prefixes,
    delimiter=delimiters,
    max_keys=max_keys_st,
    start_after=st.one_of(st.none(), prefixes, st.sampled_from(["a/", "a/b", "ab", "é"])),
)
def test_index_listing_pages_through_exactly_the_model(
    index: Index,
    keys: set[str],
    prefix: str,
    delimiter: str,
    max_keys: int,
    start_after: str | None,
) -> None:
    bucket = fill(index, keys)
    expected = model(keys, prefix, delimiter, start_after)
    after = utf8(start_after) if start_after is not None else None
    got: list[Item] = []
    for _ in range(len(expected) + 2):
        page = index.list_objects(
            bucket, prefix=utf8(prefix), delimiter=utf8(delimiter), max_keys=max_keys, after=after
        )
        items = page_items(page)
        assert len(items) <= max_keys
        got.extend(items)
        if items:
            assert page.last == utf8(items[-1][1])
        if not page.is_truncated:
            break
        assert items, "a truncated page must make progress"
        after = page.last
    if max_keys == 0:
        assert got == []
        return
    assert got == expected


def test_prefix_end() -> None:
    assert prefix_end(b"") is None
    assert prefix_end(b"a") == b"b"
    assert prefix_end(b"a/") == b"a0"
    assert prefix_end(b"a\xff\xff") == b"b"
    assert prefix_end(b"\xff") is None


def test_a_common_prefix_is_a_single_seek_not_a_walk(index: Index) -> None:
    """Listing the top level of a bucket with 5,000 keys under each of three
    'directories' steps through a handful of rows, not the whole bucket."""
    keys = {f"{d}/{i:05d}" for d in ("a", "b", "c") for i in range(5000)} | {"a", "b0", "z"}
    bucket = fill(index, keys)
    stepped = 0
    original = index._scan

    def counting(*args: object) -> Iterator[tuple[bytes, int, str, float]]:
        nonlocal stepped
        for row in original(*args):  # type: ignore[arg-type]
            stepped += 1
            yield row

    index._scan = counting  # type: ignore[assignment,method-assign]
    try:
        page = index.list_objects(bucket, prefix=b"", delimiter=b"/", max_keys=1000, after=None)
        first = index.list_objects(bucket, prefix=b"", delimiter=b"/", max_keys=2, after=None)
        second = index.list_objects(
            bucket, prefix=b"", delimiter=b"/", max_keys=2, after=first.last
        )
    finally:
        del index._scan
    assert page_items(page) == [
        ("key", "a"),
        ("prefix", "a/"),
        ("prefix", "b/"),
        ("key", "b0"),
        ("prefix", "c/"),
        ("key", "z"),
    ]
    assert page_items(first) == [("key", "a"), ("prefix", "a/")] and first.is_truncated
    assert page_items(second) == [("prefix", "b/"), ("key", "b0")] and second.is_truncated
    assert stepped < 30


# ------------------------------------------------------------------ through LocalStorage


async def list_all(store: LocalStorage, **params: object) -> tuple[list[Item], int]:
    items: list[Item] = []
    cursor: str | None = None
    pages = 0
    while True:
        listing = await store.list_objects(ListObjects(bucket=BUCKET, cursor=cursor, **params))  # type: ignore[arg-type]
        pages += 1
        page = [("key", e.key) for e in listing.entries] + [
            ("prefix", p) for p in listing.common_prefixes
        ]
        page.sort(key=lambda item: utf8(item[1]))
        items.extend(page)
        assert listing.last == (page[-1][1] if page else None)
        if not listing.is_truncated:
            assert listing.next_cursor is None
            return items, pages
        assert listing.next_cursor is not None
        cursor = listing.next_cursor


@settings(max_examples=40, deadline=None)
@given(keys=keys_st, prefix=prefixes, delimiter=delimiters, max_keys=st.integers(1, 4))
def test_storage_listing_pages_through_exactly_the_model(
    keys: set[str], prefix: str, delimiter: str, max_keys: int
) -> None:
    async def scenario(root: Path) -> None:
        store = LocalStorage(root)
        await store.start()
        try:
            await store.create_bucket(CreateBucket(bucket=BUCKET))
            await asyncio.gather(*(put(store, key, utf8(key)) for key in keys))
            got, _ = await list_all(store, prefix=prefix, delimiter=delimiter, max_keys=max_keys)
            assert got == model(keys, prefix, delimiter, None)
        finally:
            await store.close()

    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        asyncio.run(scenario(Path(tmp)))


async def test_listing_entries_carry_size_etag_and_time(storage: LocalStorage) -> None:
    etag = await put(storage, "k", b"12345")
    listing = await storage.list_objects(ListObjects(bucket=BUCKET))
    (entry,) = listing.entries
    assert (entry.key, entry.size, entry.etag) == ("k", 5, etag)
    assert entry.last_modified > 0
    assert listing.common_prefixes == [] and not listing.is_truncated
    assert listing.next_cursor is None and listing.last == "k"


async def test_key_that_is_also_a_prefix(storage: LocalStorage) -> None:
    for key in ("a", "a/b", "a/c/d", "a0", "b"):
        await put(storage, key, b"x")
    listing = await storage.list_objects(ListObjects(bucket=BUCKET, delimiter="/"))
    assert [e.key for e in listing.entries] == ["a", "a0", "b"]
    assert listing.common_prefixes == ["a/"]
    listing = await storage.list_objects(ListObjects(bucket=BUCKET, prefix="a/", delimiter="/"))
    assert [e.key for e in listing.entries] == ["a/b"]
    assert listing.common_prefixes == ["a/c/"]
    listing = await storage.list_objects(ListObjects(bucket=BUCKET, prefix="a"))
    assert [e.key for e in listing.entries] == ["a", "a/b", "a/c/d", "a0"]


async def test_order_is_utf8_bytes_not_utf16(storage: LocalStorage) -> None:
    keys = ["\uffff", "😀", "z", "é", "A", "a"]
    for key in keys:
        await put(storage, key, b"x")
    listing = await storage.list_objects(ListObjects(bucket=BUCKET))
    # U+FFFF (EF BF BF) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
    assert [e.key for e in listing.entries] == ["A", "a", "z", "é", "\uffff", "😀"]


async def test_multi_character_delimiter(storage: LocalStorage) -> None:
    for key in ("x--y--z", "x--w", "x-y", "q"):
        await put(storage, key, b"x")
    listing = await storage.list_objects(ListObjects(bucket=BUCKET, delimiter="--"))
    assert [e.key for e in listing.entries] == ["q", "x-y"]
    assert listing.common_prefixes == ["x--"]
    listing = await storage.list_objects(ListObjects(bucket=BUCKET, prefix="x--", delimiter="--"))
    assert [e.key for e in listing.entries] == ["x--w"]
    assert listing.common_prefixes == ["x--y--"]


async def test_pages_count_keys_and_prefixes_together(storage: LocalStorage) -> None:
    for key in ("a/1", "a/2", "b", "c/1", "d", "e/1/2"):
        await put(storage, key, b"x")
    first = await storage.list_objects(ListObjects(bucket=BUCKET, delimiter="/", max_keys=2))
    assert first.common_prefixes == ["a/"] and [e.key for e in first.entries] == ["b"]
    assert first.is_truncated and first.next_cursor == "b" and first.last == "b"
    second = await storage.list_objects(
        ListObjects(bucket=BUCKET, delimiter="/", max_keys=2, cursor=first.next_cursor)
    )
    assert second.common_prefixes == ["c/"] and [e.key for e in second.entries] == ["d"]
    assert second.is_truncated and second.next_cursor == "d"
    third = await storage.list_objects(
        ListObjects(bucket=BUCKET, delimiter="/", max_keys=2, cursor=second.next_cursor)
    )
    assert third.common_prefixes == ["e/"] and third.entries == []
    assert not third.is_truncated and third.next_cursor is None and third.last == "e/"


async def test_truncated_exactly_when_more_items_exist(storage: LocalStorage) -> None:
    for key in ("a", "b"):
        await put(storage, key, b"x")
    exact = await storage.list_objects(ListObjects(bucket=BUCKET, max_keys=2))
    assert not exact.is_truncated and exact.next_cursor is None and exact.last == "b"
    short = await storage.list_objects(ListObjects(bucket=BUCKET, max_keys=1))
    assert short.is_truncated and short.next_cursor == "a"


async def test_cursor_on_a_common_prefix_skips_the_whole_group(storage: LocalStorage) -> None:
    for key in ("p/1", "p/2", "p/3", "q"):
        await put(storage, key, b"x")
    listing = await storage.list_objects(ListObjects(bucket=BUCKET, delimiter="/", cursor="p/"))
    assert listing.common_prefixes == [] and [e.key for e in listing.entries] == ["q"]


async def test_start_after(storage: LocalStorage) -> None:
    for key in ("a/a", "a/c", "a/d/e", "b", "c/x", "c/y"):
        await put(storage, key, b"x")

    async def names(**params: object) -> tuple[list[str], list[str]]:
        listing = await storage.list_objects(ListObjects(bucket=BUCKET, **params))  # type: ignore[arg-type]
        return [e.key for e in listing.entries], listing.common_prefixes

    assert await names(start_after="a/c") == (["a/d/e", "b", "c/x", "c/y"], [])
    # A start position inside a common prefix does not repeat that prefix (as MinIO).
    assert await names(delimiter="/", start_after="a/b") == (["b"], ["c/"])
    assert await names(delimiter="/", start_after="a") == (["b"], ["a/", "c/"])
    assert await names(delimiter="/", start_after="c/x") == ([], [])
    assert await names(prefix="a/", delimiter="/", start_after="a/c") == ([], ["a/d/"])
    # Before the prefix: no effect.  The cursor takes precedence over start_after.
    assert await names(prefix="c/", start_after="a") == (["c/x", "c/y"], [])
    assert await names(start_after="c/x", cursor="b") == (["c/x", "c/y"], [])


async def test_max_keys_zero_and_clamping(storage: LocalStorage) -> None:
    for i in range(1005):
        await put(storage, f"k{i:04d}", b"")
    zero = await storage.list_objects(ListObjects(bucket=BUCKET, max_keys=0))
    assert zero.entries == [] and not zero.is_truncated and zero.next_cursor is None
    assert zero.last is None
    big = await storage.list_objects(ListObjects(bucket=BUCKET, max_keys=5000))
    assert len(big.entries) == 1000 and big.is_truncated and big.next_cursor == "k0999"
    rest = await storage.list_objects(ListObjects(bucket=BUCKET, cursor=big.next_cursor))
    assert [e.key for e in rest.entries] == [f"k{i:04d}" for i in range(1000, 1005)]
    err = await _error(storage.list_objects(ListObjects(bucket=BUCKET, max_keys=-1)))
    assert err.code == "InvalidArgument"


async def test_list_missing_bucket(storage: LocalStorage) -> None:
    err = await _error(storage.list_objects(ListObjects(bucket="missing")))
    assert err.code == "NoSuchBucket"


async def test_empty_bucket_lists_nothing(storage: LocalStorage) -> None:
    listing = await storage.list_objects(ListObjects(bucket=BUCKET, delimiter="/"))
    assert listing.entries == [] and listing.common_prefixes == []
    assert not listing.is_truncated and listing.last is None


async def test_listing_is_per_bucket(storage: LocalStorage) -> None:
    await storage.create_bucket(CreateBucket(bucket="other"))
    await put(storage, "mine", b"x")
    await put(storage, "theirs", b"x", bucket="other")
    listing = await storage.list_objects(ListObjects(bucket=BUCKET))
    assert [e.key for e in listing.entries] == ["mine"]


async def _error(awaitable: object) -> S3Error:
    with pytest.raises(S3Error) as info:
        await awaitable  # type: ignore[misc]
    return info.value


def test_put_objects_skips_only_items_of_missing_buckets(index: Index) -> None:
    bucket = fill(index, set())
    row = ObjectRow(blob="b1", size=1, etag="e", last_modified=0, content_type="t")
    outcomes = index.put_objects(
        [
            (bucket, b"k", row),
            ("no-such-bucket", b"k", row),
            (
                bucket,
                b"k",
                ObjectRow(blob="b2", size=2, etag="f", last_modified=0, content_type="t"),
            ),
        ]
    )
    assert outcomes[0] is None
    assert isinstance(outcomes[1], S3Error) and outcomes[1].code == "NoSuchBucket"
    assert outcomes[2] == "b1"  # the second write replaced the first, in order
    assert index.get_object(bucket, b"k").blob == "b2"
