"""Page-number pagination over a cursor-paged listing.

``GET /objects?page=&page_size=`` needs the total count and one window of
entries; the storage lists in batches with cursors.  :func:`collect` walks
the batches once, keeping only the window's entries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["MAX_PAGE_SIZE", "Window", "collect", "total_pages"]

MAX_PAGE_SIZE = 100
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    page: int
    page_size: int

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValueError("page starts at 1")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")

    @property
    def start(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def end(self) -> int:
        return self.start + self.page_size


def total_pages(total: int, page_size: int) -> int:
    return -(-total // page_size)


async def collect(batches: AsyncIterator[list[T]], window: Window) -> tuple[int, list[T]]:
    """Count every item and keep those inside ``window``."""
    total = 0
    kept: list[T] = []
    async for batch in batches:
        if total < window.end and total + len(batch) > window.start:
            kept.extend(batch[max(window.start - total, 0) : window.end - total])
        total += len(batch)
    return total, kept
