"""A limiter the service already has (aiolimiter) as one more rule of a gate."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from aiolimiter import AsyncLimiter

from adops_async.gates import ExistingLimiter, Gate, Kind, MaxInFlight, VirtualClock

pytestmark = pytest.mark.anyio


class TurnstileLimiter:
    """A limiter the test opens by hand, recording who asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.open = anyio.Event()

    async def acquire(self, amount: float = 1) -> None:
        self.asked.append(anyio.get_current_task().name)
        await self.open.wait()

    def has_capacity(self, amount: float = 1) -> bool:
        return self.open.is_set()


async def test_the_head_waiter_alone_asks_the_limiter_and_the_rest_keep_their_order() -> None:
    limiter = TurnstileLimiter()
    order: list[int] = []
    async with VirtualClock().running() as clock:
        gate = Gate(MaxInFlight(1), limiter, clock=clock)
        assert isinstance(gate.policies[1], ExistingLimiter)

        async def request(n: int) -> None:
            async with gate.slot(Kind.READ):
                order.append(n)

        async with anyio.create_task_group() as tg:
            for n in range(3):
                tg.start_soon(request, n, name=f"r{n}")
                await anyio.wait_all_tasks_blocked()  # arrive in order
            assert limiter.asked == ["r0"]  # one task at the limiter, the others queue at the gate
            assert gate.waiting == 3
            limiter.open.set()
    assert order == [0, 1, 2]
    assert limiter.asked == ["r0", "r1", "r2"]  # one unit per request


async def test_a_waiter_cancelled_at_the_limiter_takes_no_slot() -> None:
    limiter = TurnstileLimiter()
    async with VirtualClock().running() as clock:
        gate = Gate(MaxInFlight(1), limiter, clock=clock)

        async def request() -> None:
            async with gate.slot(Kind.READ):
                raise AssertionError("admitted without the limiter's unit")

        async with anyio.create_task_group() as tg:
            tg.start_soon(request)
            await anyio.wait_all_tasks_blocked()
            assert limiter.asked
            tg.cancel_scope.cancel()
        assert gate.stats().in_flight == 0
        assert gate.waiting == 0
        limiter.open.set()
        async with gate.slot(Kind.READ):
            assert gate.stats().in_flight == 1


def test_gate_refuses_what_is_neither_a_policy_nor_a_limiter() -> None:
    with pytest.raises(TypeError, match="aiolimiter"):
        Gate(object())  # type: ignore[arg-type]


def test_an_aiolimiter_shared_with_other_code_counts_the_gates_requests() -> None:
    async def main() -> None:
        limiter = AsyncLimiter(10, time_period=60)  # asyncio only: aiolimiter runs on the asyncio loop
        gate = Gate(MaxInFlight(5), limiter)
        for _ in range(3):
            async with gate.slot(Kind.READ):
                pass
        async with limiter:  # the service's own call
            pass
        assert limiter.has_capacity(6)
        assert not limiter.has_capacity(7)  # 4 of 10 used: 3 by the gate, 1 by the service

    asyncio.run(main())
