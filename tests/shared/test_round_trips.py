"""What one process pays in Redis round trips per request, counted on a real redis-server (``RedisStore.calls``).

A request's settle travels with the next take of its process, and an admitted take says when the next opening is
sure, so a process alone on a budget pays about one round trip per request. What must not wait does not: a release
that frees a Serial slot another process waits for, and a release nobody's take comes to carry.

asyncio only by nature: redis-py's asyncio client.
"""

from __future__ import annotations

import uuid

import anyio
import pytest

from adops_async import RedisStore
from adops_async.gates import Cooldown, Gate, Kind, ReadWriteQuota, Serial, VirtualClock

from ..redis_server import RedisServer
from ..waiting import until

pytestmark = pytest.mark.anyio

LIMIT, WINDOW = 10, 1.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def log_scores(store: RedisStore, key: str) -> list[float]:
    return [score for _, score in await store.redis.zrange(store.key(key, "reads"), 0, -1, withscores=True)]


async def test_one_process_pays_at_most_1_2_round_trips_per_request_and_keeps_the_log_exact(
    redis_server: RedisServer,
) -> None:
    """3 tasks x 10 reads against 10 per vendor second: two refills to wait for, in virtual time."""
    async with VirtualClock(start=1_000.0).running() as clock:
        # No idle flush in this test: every settle travels with a take, the last ones with the close.
        store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", time=clock.now, settle_delay=3600)
        gate = Gate(
            ReadWriteQuota(LIMIT, LIMIT, per=WINDOW, store=store, key="member"),
            Cooldown(store=store, key="member"),
            clock=clock,
        )
        admitted: list[float] = []

        async def task() -> None:
            for _ in range(10):
                async with gate.slot(Kind.READ):
                    admitted.append(clock.now())

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(task)
        await store.aclose()
        scores = await log_scores(store, "member")
    requests = len(admitted)
    assert requests == 30
    assert store.calls <= 1.2 * requests, f"{store.calls} round trips for {requests} requests"
    # Exact all the same: read k+10 went a full window after read k ended, never sooner, and the owed releases all
    # landed (no entry left counting as in flight), each dated when its request ended.
    admitted.sort()
    assert min(later - earlier for earlier, later in zip(admitted, admitted[LIMIT:], strict=False)) >= WINDOW
    assert len(scores) == LIMIT  # the last window's entries; older ones lapsed
    assert max(scores) <= clock.now()
    assert sorted(scores) == admitted[-LIMIT:]


async def test_an_owed_release_lands_within_the_settle_delay_when_no_take_comes(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", settle_delay=0.05)
    gate = Gate(ReadWriteQuota(LIMIT, LIMIT, per=60, store=store, key="member"))
    try:
        async with gate.slot(Kind.READ):
            pass
        assert store.calls == 1  # the take; the release is owed
        await until(lambda: store.calls == 2)  # sent on its own once the delay passed, no take needed
        (score,) = await log_scores(store, "member")
        server_now = await store.redis.time()
        assert score <= server_now[0] + server_now[1] / 1e6  # released (an entry in flight counts 30 s ahead)
    finally:
        await store.aclose()
    assert store.calls == 2


async def test_a_serial_release_is_sent_at_once_to_a_process_that_waits(redis_server: RedisServer) -> None:
    """Two processes on one Serial slot: the holder's release does not wait for its own next take."""
    prefix = f"{uuid.uuid4().hex}:"
    stores = [RedisStore(redis_server.url, prefix=prefix, settle_delay=3600) for _ in range(2)]
    holder, waiter = (Gate(Serial(store=store, key="creds")) for store in stores)
    release = anyio.Event()
    got_it = anyio.Event()
    try:
        async with anyio.create_task_group() as tg:

            async def hold() -> None:
                async with holder.slot(Kind.READ):
                    await release.wait()

            async def wait() -> None:
                async with waiter.slot(Kind.READ):
                    got_it.set()

            tg.start_soon(hold)
            await until(lambda: holder.stats().in_flight == 1)
            tg.start_soon(wait)
            queue = stores[0].key("creds", "queue")
            await until(lambda: stores[0].redis.zcard(queue))  # the waiter queued behind the holder
            calls = stores[0].calls
            release.set()
            with anyio.fail_after(5):  # far below the 30 s lease: the release was sent, not left to lapse
                await got_it.wait()
            assert stores[0].calls == calls + 1  # the release, on its own: no take of the holder's carried it
    finally:
        for store in stores:
            await store.aclose()


async def test_a_serial_hand_off_within_one_process_travels_with_the_next_take(redis_server: RedisServer) -> None:
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", settle_delay=3600)
    gate = Gate(Serial(store=store, key="creds"))
    done = 0

    async def task() -> None:
        nonlocal done
        for _ in range(4):
            async with gate.slot(Kind.READ):
                done += 1

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(task)
    finally:
        await store.aclose()
    assert done == 12
    # Each release went with the next waiter's take, in the same script; the last one on its own.
    assert store.calls == done + 1


async def test_a_release_the_next_opening_hinges_on_is_sent_at_once(redis_server: RedisServer) -> None:
    """Two reads in flight fill a log of two: when it opens again hangs on their releases, which matter to every
    process (until then an entry in flight counts as running for its whole lease), so neither waits for a take."""
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", settle_delay=3600)
    gate = Gate(ReadWriteQuota(2, 2, per=60, store=store, key="member"))
    first_done, second_done = anyio.Event(), anyio.Event()
    try:
        async with anyio.create_task_group() as tg:

            async def read(done: anyio.Event) -> None:
                async with gate.slot(Kind.READ):
                    await done.wait()

            tg.start_soon(read, first_done)
            tg.start_soon(read, second_done)
            await until(lambda: gate.stats().in_flight == 2)
            assert store.calls == 2
            first_done.set()
            await until(lambda: gate.stats().in_flight == 1)
            assert store.calls == 3  # the first release, on its own at once
            second_done.set()
        assert store.calls == 4
        scores = await log_scores(store, "member")
        server_now = await store.redis.time()
        assert max(scores) <= server_now[0] + server_now[1] / 1e6  # both released, none left in flight
    finally:
        await store.aclose()
