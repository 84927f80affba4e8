"""The job quota (adops_async/core/jobs.py ``JobQuota``) that both report throttles use (Ooyala: 2 running per
account; AppNexus: 5 pending per user over 15 minutes): waiters in arrival order, a waiter that learns when a held job
stops counting, shared waiters woken by a free in another process, and a shared ticket lapsing at its window or
``hold`` after its last renewal, whichever comes first. Local rules in virtual time; shared ones on a real Redis
(asyncio only: redis-py)."""

from __future__ import annotations

import uuid

import anyio
import pytest

from adops_async import RedisStore
from adops_async.core.clock import VirtualClock
from adops_async.core.jobs import JobQuota

from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio


async def test_waiters_are_served_in_arrival_order() -> None:
    # A place freed while a waiter queues goes to that waiter, not to a newcomer that asks before it wakes.
    clock = VirtualClock()
    quota = JobQuota(1)
    first = await quota.acquire(clock)
    served: list[str] = []

    async def early() -> None:
        ticket = await quota.acquire(clock)
        served.append("early")
        await ticket.finished()

    with anyio.fail_after(2):
        async with anyio.create_task_group() as group:
            group.start_soon(early)
            await anyio.wait_all_tasks_blocked()  # early waits for the place
            await first.finished()
            late = await quota.acquire(clock)
            served.append("late")
            await late.finished()
    assert served == ["early", "late"]
    assert (quota.waits, quota.peak, quota.held(clock.now())) == (2, 1, 0)


@pytest.mark.parametrize("mode", ["running", "started"])
async def test_a_waiter_learns_when_a_started_job_stops_counting(mode: str) -> None:
    # The held job was not started when the waiter came (it counted until finished): its start sets the time it
    # stops counting, and the waiter must take the place then, not wait for a finish that may never come.
    clock = VirtualClock()
    quota = JobQuota(1, window=60, mode="started" if mode == "started" else "running")
    held = await quota.acquire(clock)
    admitted: list[float] = []

    async def waiter() -> None:
        await quota.acquire(clock)
        admitted.append(clock.now())

    with anyio.fail_after(2):
        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await anyio.wait_all_tasks_blocked()
            await clock.advance(10)
            await held.started()  # never finished ("running"): it stops counting 60 s after its start
            if mode == "started":
                await held.finished()  # still counted for its whole window
            await anyio.wait_all_tasks_blocked()
            await clock.advance(60)
    assert admitted == [70.0]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis-py's asyncio client
async def test_a_shared_quota_with_a_hold_wakes_waiters_on_a_free_elsewhere(redis_server: RedisServer) -> None:
    # Ooyala's shape (no window, a long hold, a slow poll): the waiter in the other process is woken by the free's
    # publication, long before its next poll (60 s) or the ticket's hold (an hour).
    prefix = f"test-jobs-wake:{uuid.uuid4().hex}:"
    one, two = RedisStore(redis_server.url, prefix=prefix), RedisStore(redis_server.url, prefix=prefix)
    try:
        here = JobQuota(1, hold=3600.0, store=one, key="acct", poll=60.0)
        there = JobQuota(1, hold=3600.0, store=two, key="acct", poll=60.0)
        ticket = await here.acquire()
        refused = anyio.Event()
        admitted = anyio.Event()

        async def was_refused() -> None:
            refused.set()

        async def waiter() -> None:
            await there.acquire(on_wait=was_refused)
            admitted.set()

        with anyio.fail_after(5):
            async with anyio.create_task_group() as group:
                group.start_soon(waiter)
                await refused.wait()  # the waiter was refused once and now waits
                await ticket.finished()
                await admitted.wait()
        assert (there.waits, there.held(anyio.current_time()), here.held(anyio.current_time())) == (1, 1, 0)
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_shared_ticket_lapses_at_its_window_or_hold_after_its_renewal(redis_server: RedisServer) -> None:
    now = [1000.0]  # the store's time (vendor seconds), beside the client's virtual clock
    clock = VirtualClock()
    store = RedisStore(redis_server.url, prefix=f"test-jobs-lapse:{uuid.uuid4().hex}:", time=lambda: now[0])
    key = store.key("acct", "jobs")
    try:
        quota = JobQuota(2, window=100.0, hold=30.0, store=store, key="acct")
        ticket = await quota.acquire(clock)
        assert await store.redis.zscore(key, ticket.token) == 1030.0  # hold (30) < window + the store's lease
        await ticket.started()
        assert await store.redis.zscore(key, ticket.token) == 1030.0  # a start renews: still the hold
        lapses = []
        for seconds in (20, 25, 25, 20):  # each renewal before the last one lapsed
            now[0] += seconds
            await clock.advance(seconds)
            await ticket.renew()
            lapses.append(await store.redis.zscore(key, ticket.token))
        # 30 s after each renewal, but never past the window (100 s) after its start.
        assert lapses == [1050.0, 1075.0, 1100.0, 1100.0]
        await ticket.finished()
        assert await store.redis.zscore(key, ticket.token) is None
        assert quota.held(clock.now()) == 0
    finally:
        await store.redis.delete(key)
        await store.aclose()


def test_a_shared_quota_needs_a_way_to_end_a_dead_process_ticket() -> None:
    store = RedisStore("redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match="window= or hold="):
        JobQuota(2, store=store, key="acct")
    with pytest.raises(ValueError, match="key="):
        JobQuota(2, hold=60.0, store=store)
    with pytest.raises(ValueError, match="hold"):
        JobQuota(2, hold=0.0)
