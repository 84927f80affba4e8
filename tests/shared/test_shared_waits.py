"""How long a process waits when other processes' requests in flight fill a shared budget, on a real redis-server.

A request in flight holds its place until its lease ends (the longest it may run), but its release usually comes
long before: a refusal that hinges on it says when the place surely opens (the lease) and before when it cannot (a
window after now, or now). Waiting for the first stalled a process a whole lease (30 s) after the others' requests
ended, and refused a call with a deadline at once. Two stores on one prefix are two processes.

asyncio only by nature: redis-py's asyncio client.
"""

from __future__ import annotations

import uuid

import anyio
import pytest

from adops_async import GateWaitTooLong, RedisStore
from adops_async.gates import Gate, Kind, MaxInFlight, ReadWriteQuota, VirtualClock

from ..redis_server import RedisServer
from ..waiting import until

pytestmark = pytest.mark.anyio

WINDOW = 1.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("deadline", [None, 5.0])
async def test_a_log_full_of_another_process_requests_opens_a_window_after_they_end(
    redis_server: RedisServer, deadline: float | None
) -> None:
    prefix = f"{uuid.uuid4().hex}:"
    async with VirtualClock(start=1_000.0).running() as clock:
        stores = [RedisStore(redis_server.url, prefix=prefix, time=clock.now, settle_delay=0) for _ in range(2)]
        first, second = (Gate(ReadWriteQuota(2, 2, per=WINDOW, store=s, key="member"), clock=clock) for s in stores)
        holding = anyio.Event()
        ended: list[float] = []
        admitted: list[float] = []

        async def two_long_reads() -> None:
            async with first.slot(Kind.READ), first.slot(Kind.READ):
                holding.set()
                await clock.sleep_until(clock.now() + 0.3)
                # The reads end here. Releasing them is a round trip to Redis, during which virtual time may run on
                # to the other process's admission: a time taken after the block would be that, not the reads' end.
                ended.append(clock.now())

        async def one_read() -> None:
            # Asked while the first process's reads are in flight. Virtual time may run on during a round trip to
            # Redis (the clock does not wait for sockets): whether the releases land before or after the ask, the
            # read is due a window after they ended.
            await holding.wait()
            async with second.slot(Kind.READ, deadline=None if deadline is None else clock.now() + deadline):
                admitted.append(clock.now())

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(two_long_reads)
                tg.start_soon(one_read)
        finally:
            for store in stores:
                await store.aclose()
    # Never sooner than a window after the reads it waited for ended (the rule), and not a lease (30 s) later.
    assert admitted[0] - ended[0] >= WINDOW
    assert admitted[0] - ended[0] == pytest.approx(WINDOW, abs=0.05)


async def test_a_full_shared_in_flight_cap_refuses_no_waiter_for_its_deadline_at_once(
    redis_server: RedisServer,
) -> None:
    prefix = f"{uuid.uuid4().hex}:"
    stores = [RedisStore(redis_server.url, prefix=prefix) for _ in range(2)]
    first, second = (Gate(MaxInFlight(1, store=s, key="user")) for s in stores)
    release = anyio.Event()
    outcomes: list[str] = []

    async def hold() -> None:
        async with first.slot(Kind.READ):
            await release.wait()

    async def read() -> None:
        try:
            async with second.slot(Kind.READ, deadline=second.clock.now() + 20):
                outcomes.append("admitted")
        except GateWaitTooLong:
            outcomes.append("refused at once")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold)
            await until(lambda: first.stats().in_flight == 1)
            tg.start_soon(read)
            await until(lambda: stores[1].calls >= 1)  # the first waiter asked and was refused: the cap is full
            tg.start_soon(read)
            await until(lambda: second.waiting == 2 or bool(outcomes))
            release.set()
    finally:
        for store in stores:
            await store.aclose()
    assert outcomes == ["admitted", "admitted"]
