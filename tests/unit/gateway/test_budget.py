"""The gateway's body-byte budget."""

from __future__ import annotations

import asyncio

import pytest

from gateway.budget import ByteBudget
from s3compat.errors import S3Error


async def test_holders_wait_for_room_and_release_it():
    budget = ByteBudget(limit=100, wait=1.0)
    order = []

    async def holder(name, size, hold):
        async with budget.hold(size):
            order.append(f"{name}+")
            await asyncio.sleep(hold)
            order.append(f"{name}-")

    await asyncio.gather(holder("a", 70, 0.1), holder("b", 50, 0.0))
    assert order == ["a+", "a-", "b+", "b-"]
    assert budget.used == 0


async def test_no_room_in_time_is_slow_down():
    budget = ByteBudget(limit=10, wait=0.05)
    async with budget.hold(10):
        with pytest.raises(S3Error) as exc:
            async with budget.hold(1):
                pass
    assert exc.value.code == "SlowDown"
    assert exc.value.status == 503
    assert budget.used == 0


async def test_a_body_larger_than_the_limit_takes_the_whole_budget():
    budget = ByteBudget(limit=10, wait=0.05)
    async with budget.hold(1000):
        assert budget.used == 10
    assert budget.used == 0
