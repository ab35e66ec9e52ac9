"""A gateway-wide budget of request body bytes held in memory.

Inline bodies are read whole before they are sent (up to
SANGRAHA_MAX_INLINE_BYTES each); streamed bodies hold about two chunks.  The
budget caps the sum, so a burst of large uploads cannot exhaust memory: a
request that cannot get its bytes in time is answered ``503 SlowDown``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from s3compat.errors import S3Error

__all__ = ["ByteBudget"]


class ByteBudget:
    def __init__(self, limit: int, wait: float) -> None:
        self.limit = limit
        self.used = 0
        self._wait = wait
        self._changed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Hold ``size`` bytes (at most the whole limit) for the block."""
        size = min(size, self.limit)
        try:
            async with asyncio.timeout(self._wait), self._changed:
                await self._changed.wait_for(lambda: self.used + size <= self.limit)
                self.used += size
        except TimeoutError:
            raise S3Error(
                "SlowDown", "the gateway is holding too many request bodies; retry shortly"
            ) from None
        try:
            yield
        finally:
            async with self._changed:
                self.used -= size
                self._changed.notify_all()
