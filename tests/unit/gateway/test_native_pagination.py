"""Page windows over cursor-paged listings."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.native.pagination import Window, collect, total_pages


async def _batches(batches):
    for batch in batches:
        yield batch


@given(
    batches=st.lists(st.lists(st.integers(), max_size=7), max_size=8),
    page=st.integers(min_value=1, max_value=12),
    page_size=st.integers(min_value=1, max_value=100),
)
def test_collect_equals_slicing_the_whole_listing(batches, page, page_size):
    everything = [x for batch in batches for x in batch]
    total, kept = asyncio.run(collect(_batches(batches), Window(page, page_size)))
    start = (page - 1) * page_size
    assert total == len(everything)
    assert kept == everything[start : start + page_size]


@pytest.mark.parametrize(
    ("total", "size", "pages"), [(0, 10, 0), (1, 10, 1), (250, 10, 25), (251, 100, 3)]
)
def test_total_pages(total, size, pages):
    assert total_pages(total, size) == pages


@pytest.mark.parametrize(("page", "size"), [(0, 10), (1, 0), (1, 101)])
def test_window_bounds(page, size):
    with pytest.raises(ValueError):
        Window(page, size)
