"""The shared Serial lease, gate to gate on a real redis-server: renewal, expiry, FIFO turns, leaving the queue.

Each gate stands for one process (its own RedisStore connection). asyncio only by nature: redis-py's asyncio client.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import pytest

from adops_async import LeaseLost, RedisStore
from adops_async.gates import Gate, Kind, Serial

from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def processes(url: str, n: int, *, lease: float = 0.6) -> AsyncIterator[list[Gate]]:
    prefix = f"{uuid.uuid4().hex}:"
    stores = [RedisStore(url, prefix=prefix, lease=lease) for _ in range(n)]
    try:
        yield [Gate(Serial(store=store, key="creds")) for store in stores]
    finally:
        for store in stores:
            await store.aclose()


async def test_a_lease_is_renewed_while_the_request_runs_and_nobody_overlaps(redis_server: RedisServer) -> None:
    spans: list[tuple[float, float]] = []
    async with processes(redis_server.url, 2) as (first, second):

        async def hold(gate: Gate, seconds: float) -> None:
            async with gate.slot(Kind.READ):
                started = anyio.current_time()
                await anyio.sleep(seconds)
                spans.append((started, anyio.current_time()))

        async with anyio.create_task_group() as tg:
            tg.start_soon(hold, first, 1.5)  # two and a half leases: lives on renewals
            await anyio.sleep(0.05)
            tg.start_soon(hold, second, 0.01)
    (a_start, a_end), (b_start, _) = sorted(spans)
    assert a_end - a_start >= 1.5
    assert b_start >= a_end  # the second waited for the whole first request, not for its first lease


async def test_a_holder_that_cannot_renew_stops_before_its_lease_runs_out() -> None:
    with RedisServer() as redis:
        async with processes(redis.url, 1, lease=0.6) as (gate,):
            started = anyio.current_time()

            async def hold_past_the_lease() -> None:
                async with gate.slot(Kind.READ):
                    redis.stop()  # renewals fail from now on
                    await anyio.sleep(5)

            with pytest.raises(LeaseLost):
                await hold_past_the_lease()
            assert anyio.current_time() - started < 0.6


async def test_processes_take_the_slot_first_come_first_served(redis_server: RedisServer) -> None:
    order: list[int] = []
    async with processes(redis_server.url, 4) as gates:

        async def turn(n: int) -> None:
            async with gates[n].slot(Kind.READ):
                order.append(n)
                await anyio.sleep(0.05 if n == 0 else 0.005)

        async with anyio.create_task_group() as tg:
            for n in range(4):
                tg.start_soon(turn, n)
                await anyio.sleep(0.01)  # arrive in order 0, 1, 2, 3 while 0 holds the slot
    assert order == [0, 1, 2, 3]


async def test_a_waiter_that_gives_up_leaves_the_queue_at_once(redis_server: RedisServer) -> None:
    async with processes(redis_server.url, 3) as (holder, quitter, next_in_line):
        at: dict[str, float] = {}

        async def hold() -> None:
            async with holder.slot(Kind.READ):
                await anyio.sleep(0.2)
                at["released"] = anyio.current_time()

        async def give_up() -> None:
            with anyio.move_on_after(0.1):
                async with quitter.slot(Kind.READ):
                    raise AssertionError("the quitter never gets the slot")

        async def wait_turn() -> None:
            async with next_in_line.slot(Kind.READ):
                at["taken"] = anyio.current_time()

        async with anyio.create_task_group() as tg:
            tg.start_soon(hold)
            await anyio.sleep(0.02)
            tg.start_soon(give_up)
            await anyio.sleep(0.02)
            tg.start_soon(wait_turn)
    # Not Serial.STALE seconds later, as it would be if the quitter's ticket stayed at the head of the queue.
    assert 0 < at["taken"] - at["released"] < 0.5
