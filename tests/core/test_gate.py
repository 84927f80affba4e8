"""The gate in virtual time: exact budgets, fairness, cancellation, cooldowns, observability."""

from __future__ import annotations

import dataclasses
import random

import anyio
import anyio.lowlevel
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adops_async.gates import (
    Cooldown,
    CooldownEvent,
    Gate,
    Kind,
    MaxInFlight,
    Priority,
    ReadWriteQuota,
    Serial,
    TokenBucket,
    VirtualClock,
)

pytestmark = pytest.mark.anyio


def ideal_schedule(arrivals: list[tuple[float, Kind]], budgets: dict[Kind, int], per: float) -> list[float]:
    """When a perfect sliding-window gate admits each request (FIFO per kind, no concurrency cap)."""
    admitted: dict[Kind, list[float]] = {Kind.READ: [], Kind.WRITE: []}
    times = []
    for at, kind in arrivals:
        log = admitted[kind]
        t = max(at, log[-1] if log else at)
        if len(log) >= budgets[kind]:
            t = max(t, log[-budgets[kind]] + per)
        log.append(t)
        times.append(t)
    return times


async def run_schedule(gate: Gate, clock: VirtualClock, arrivals: list[tuple[float, Kind]]) -> list[float]:
    admitted = [0.0] * len(arrivals)

    async def one(i: int, at: float, kind: Kind) -> None:
        await clock.sleep_until(at)
        async with gate.slot(kind):
            admitted[i] = clock.now()

    async with anyio.create_task_group() as tg:
        for i, (at, kind) in enumerate(arrivals):
            tg.start_soon(one, i, at, kind)
    return admitted


def assert_windows_hold(times: list[float], budget: int, per: float) -> None:
    times = sorted(times)
    for i in range(budget, len(times)):
        # any window (t - per, t] holds at most `budget` admissions
        assert times[i] - times[i - budget] >= per - 1e-9, (i, times[i - budget], times[i])


arrival = st.tuples(st.floats(min_value=0, max_value=200, allow_nan=False), st.sampled_from(list(Kind)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=st.lists(arrival, min_size=1, max_size=120), reads=st.integers(1, 12), writes=st.integers(1, 8))
async def test_sliding_log_never_exceeds_the_window_and_admits_as_early_as_allowed(
    schedule: list[tuple[float, Kind]], reads: int, writes: int
) -> None:
    per = 10.0
    # Arrivals are distinct in time so the FIFO order of the oracle is the order of arrival.
    arrivals = sorted(dict(schedule).items())
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=reads, writes=writes, per=per), clock=clock)
        admitted = await run_schedule(gate, clock, arrivals)
    expected = ideal_schedule(arrivals, {Kind.READ: reads, Kind.WRITE: writes}, per)
    assert admitted == pytest.approx(expected, abs=1e-9)
    for kind, budget in ((Kind.READ, reads), (Kind.WRITE, writes)):
        assert_windows_hold([t for t, (_, k) in zip(admitted, arrivals, strict=False) if k is kind], budget, per)


async def test_saturated_schedule_finishes_within_one_interval_of_ideal() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=100, writes=60, per=60), MaxInFlight(15), clock=clock)
        admitted = await run_schedule(gate, clock, [(0.0, Kind.READ)] * 1000)
    ideal_last = 9 * 60.0  # 1,000 reads at 100 per minute: ten windows, the last opening at 540 s
    assert max(admitted) <= ideal_last + 60 / 100
    assert_windows_hold(admitted, 100, 60)


async def test_window_holds_where_the_vendor_counts_whatever_the_latency() -> None:
    rng = random.Random(3)
    arrivals: list[float] = []  # when the "vendor" saw each request: anywhere between admission and response
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=10, writes=10, per=1.0), clock=clock)

        async def request() -> None:
            async with gate.slot(Kind.READ):
                latency = rng.uniform(0, 0.5)
                arrivals.append(clock.now() + rng.uniform(0, latency))
                await clock.sleep_until(clock.now() + latency)

        async with anyio.create_task_group() as tg:
            for _ in range(300):
                tg.start_soon(request)
    assert_windows_hold(arrivals, 10, 1.0)


async def test_a_full_window_of_requests_in_flight_waits_for_a_response() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=2, writes=2, per=1.0), clock=clock)
        admitted: list[float] = []

        async def slow() -> None:
            async with gate.slot(Kind.READ):
                admitted.append(clock.now())
                await clock.sleep_until(clock.now() + 5)

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(slow)
    assert admitted == [0.0, 0.0, 6.0]  # the third goes one window after the first response (at 5 s)


async def test_serial_admits_one_at_a_time_in_fifo_order() -> None:
    order: list[int] = []
    in_flight = 0
    overlaps = 0
    async with VirtualClock().running() as clock:
        gate = Gate(Serial(), clock=clock)

        async def task(i: int) -> None:
            nonlocal in_flight, overlaps
            await clock.sleep_until(i * 0.001)
            async with gate.slot(Kind.READ if i % 2 else Kind.WRITE):
                in_flight += 1
                overlaps += in_flight > 1
                order.append(i)
                await clock.sleep_until(clock.now() + 1)
                in_flight -= 1

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(task, i)
    assert overlaps == 0
    assert order == list(range(200))


async def test_token_bucket_follows_remaining_until_reset() -> None:
    async with VirtualClock().running() as clock:
        bucket = TokenBucket(rate=60, per=60, burst=60)
        gate = Gate(bucket, clock=clock)
        async with gate.slot(Kind.READ) as slot:
            slot.observe(200, httpx.Headers({"RateLimit-Remaining": "3", "RateLimit-Reset": "10"}))
        assert gate.stats().budgets["bucket"] == 3
        admitted = await run_schedule(gate, clock, [(0.0, Kind.READ)] * 10)
    assert sum(t < 10 for t in admitted) == 3
    assert sorted(admitted)[3] == pytest.approx(10.0)


async def test_token_bucket_burst_then_refill_rate() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(TokenBucket(rate=60, per=60, burst=60), clock=clock)
        admitted = await run_schedule(gate, clock, [(0.0, Kind.READ)] * 150)
    assert sum(t == 0 for t in admitted) == 60
    assert max(admitted) == pytest.approx(90.0)


async def test_token_bucket_adopts_a_stricter_server_policy_only() -> None:
    async with VirtualClock().running() as clock:
        bucket = TokenBucket(rate=60, per=60, burst=60)
        gate = Gate(bucket, clock=clock)
        async with gate.slot(Kind.READ) as slot:
            slot.observe(200, httpx.Headers({"Organization-RateLimit-Limit": "120;w=60;b=120"}))
        assert (bucket.rate, bucket.burst) == (60, 60)
        async with gate.slot(Kind.READ) as slot:
            slot.observe(200, httpx.Headers({"Organization-RateLimit-Limit": "30;w=60;b=10"}))
        assert (bucket.rate, bucket.burst) == (30, 10)


async def test_cooldown_pauses_every_waiter_then_they_go_in_order() -> None:
    events: list[CooldownEvent] = []
    order: list[int] = []
    async with VirtualClock().running() as clock:
        gate = Gate(Cooldown(), MaxInFlight(1), clock=clock, on_cooldown=events.append)
        holder_in = anyio.Event()

        async def holder() -> None:
            async with gate.slot(Kind.READ) as slot:
                holder_in.set()
                await clock.sleep_until(1.0)  # every waiter has queued
                slot.observe(429, httpx.Headers({"Retry-After": "7"}))

        async def waiter(i: int) -> None:
            async with gate.slot(Kind.READ):
                order.append(i)
                assert clock.now() == 8.0

        async with anyio.create_task_group() as tg:
            tg.start_soon(holder)
            await holder_in.wait()
            for i in range(100):
                tg.start_soon(waiter, i)
                await anyio.lowlevel.checkpoint()
    assert order == list(range(100))
    assert len(events) == 1
    assert events[0].wait == 7.0
    assert gate.stats().responses_429 == 1


async def test_cooldown_extends_never_shortens() -> None:
    async with VirtualClock().running() as clock:
        cooldown = Cooldown()
        gate = Gate(cooldown, clock=clock)
        gate.cool_down(10)
        gate.cool_down(3)
        assert cooldown.until == 10
        async with gate.slot(Kind.WRITE):
            assert clock.now() == 10
        assert gate.stats().cooldowns == 1


async def test_cancelled_waiters_take_nothing() -> None:
    rng = random.Random(7)
    admitted: dict[int, float] = {}
    async with VirtualClock().running() as clock:
        quota = ReadWriteQuota(reads=100, writes=60, per=60)
        gate = Gate(quota, MaxInFlight(15), clock=clock)
        scopes = [anyio.CancelScope() for _ in range(2000)]

        async def waiter(i: int) -> None:
            with scopes[i]:
                async with gate.slot(Kind.READ, rng.choice(list(Priority))):
                    admitted[i] = clock.now()
                    await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            for i in range(2000):
                tg.start_soon(waiter, i)
            await clock.sleep_until(30)  # 100 are in, 1,900 are waiting
            assert len(admitted) == 100
            for i in rng.sample([i for i in range(2000) if i not in admitted], 1000):
                scopes[i].cancel()
        stats = gate.stats()
    assert len(admitted) == 1000
    assert stats.acquisitions == 1000
    assert stats.in_flight == 0
    assert sum(stats.waiters.values()) == 0
    assert max(admitted.values()) == pytest.approx(9 * 60.0)  # exactly as if the cancelled had never queued


async def test_cancelled_holder_releases_its_serial_permit() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(Serial(), clock=clock)
        with anyio.move_on_after(0):  # cancelled while holding the slot
            async with gate.slot(Kind.READ):
                await anyio.sleep_forever()
        with anyio.fail_after(1):
            async with gate.slot(Kind.READ):
                pass
        assert gate.stats().in_flight == 0


async def test_interactive_waits_at_most_one_slot_behind_bulk() -> None:
    order: list[str] = []
    async with VirtualClock().running() as clock:
        gate = Gate(Serial(), clock=clock)

        async def call(name: str, priority: Priority) -> None:
            async with gate.slot(Kind.READ, priority):
                order.append(name)
                await clock.sleep_until(clock.now() + 1)

        async with anyio.create_task_group() as tg:
            for i in range(50):
                tg.start_soon(call, f"bulk{i}", Priority.BULK)
            await clock.sleep_until(2.5)
            tg.start_soon(call, "handler", Priority.INTERACTIVE)
    # bulk0 and bulk1 are done by 2.5 s and bulk2 is in flight: the handler goes right after it.
    assert order.index("handler") == 3


async def test_bulk_is_not_starved_by_a_flood_of_interactive_calls() -> None:
    order: list[Priority] = []
    async with VirtualClock().running() as clock:
        gate = Gate(Serial(), clock=clock, max_overtakes=10)

        async def call(priority: Priority) -> None:
            async with gate.slot(Kind.READ, priority):
                order.append(priority)
                await clock.sleep_until(clock.now() + 1)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, Priority.BULK)
            for _ in range(5):
                tg.start_soon(call, Priority.BULK)
            await clock.sleep_until(0.5)  # the bulk calls queue first
            for _ in range(100):
                tg.start_soon(call, Priority.INTERACTIVE)
    first_bulk_after = [i for i, p in enumerate(order) if p is Priority.BULK]
    assert first_bulk_after[:3] == [0, 11, 22]


async def test_reads_flow_while_writes_wait_for_their_budget() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=100, writes=1, per=60), clock=clock)
        admitted = await run_schedule(gate, clock, [(0.0, Kind.WRITE)] * 3 + [(0.0, Kind.READ)] * 10)
    assert sorted(admitted[:3]) == [0.0, 60.0, 120.0]
    assert admitted[3:] == [0.0] * 10


async def test_stats_report_budgets_waiters_and_waits() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=2, writes=1, per=10), Cooldown(), clock=clock)
        await run_schedule(gate, clock, [(0.0, Kind.READ)] * 3)
        stats = gate.stats()
    assert stats.acquisitions == 3
    assert stats.waits == 1
    assert stats.wait_time == pytest.approx(10.0)
    assert stats.budgets == {"reads": 1, "writes": 1}
    assert stats.cooldown_until is None


async def test_gates_sharing_a_store_key_share_one_budget() -> None:
    from adops_async.gates import MemoryStore

    store = MemoryStore()
    async with VirtualClock().running() as clock:
        a = Gate(ReadWriteQuota(reads=5, writes=5, per=10, store=store, key="member-1"), clock=clock)
        b = Gate(ReadWriteQuota(reads=5, writes=5, per=10, store=store, key="member-1"), clock=clock)
        times: list[float] = []

        async def via(gate: Gate) -> None:
            async with gate.slot(Kind.READ):
                times.append(clock.now())

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(via, a if i % 2 else b)
    assert sorted(times) == [0.0] * 5 + [10.0] * 5


class ContinuousBucketServer:
    """Refills one call every `per / rate` seconds; Reset = seconds until the next call is possible."""

    def __init__(self, rate: int, per: float, burst: int) -> None:
        self.interval, self.burst = per / rate, burst
        self.tokens, self.at = 0.0, 0.0  # drained by another client sharing the key

    def handle(self, now: float) -> tuple[int, dict[str, str]]:
        self.tokens = min(self.burst, self.tokens + (now - self.at) / self.interval)
        self.at = now
        status = 200
        if self.tokens >= 1 - 1e-9:
            self.tokens -= 1
        else:
            status = 429
        wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) * self.interval
        headers = {"RateLimit-Remaining": str(int(self.tokens + 1e-9)), "RateLimit-Reset": f"{wait:.3f}"}
        if status == 429:
            headers["Retry-After"] = f"{wait:.3f}"
        return status, headers


class FixedWindowServer:
    """Refills every call at once when Reset reaches 0 (the other reading of PulsePro's text)."""

    def __init__(self, rate: int, per: float, burst: int) -> None:
        self.limit, self.per = burst, per
        self.used = burst  # drained by another client sharing the key

    def handle(self, now: float) -> tuple[int, dict[str, str]]:
        window_start = (now // self.per) * self.per
        if getattr(self, "window", None) != window_start:
            self.window = window_start
            self.used = self.limit if now < self.per else 0
        reset = window_start + self.per - now
        status = 200
        if self.used < self.limit:
            self.used += 1
        else:
            status = 429
        headers = {"RateLimit-Remaining": str(self.limit - self.used), "RateLimit-Reset": f"{reset:.3f}"}
        if status == 429:
            headers["Retry-After"] = f"{reset:.3f}"
        return status, headers


@pytest.mark.parametrize("server_class", [ContinuousBucketServer, FixedWindowServer])
async def test_following_rate_headers_costs_at_most_one_429_under_either_reading(server_class: type) -> None:
    server = server_class(60, 60.0, 60)
    rejected = 0
    done = 0
    async with VirtualClock().running() as clock:
        gate = Gate(TokenBucket(rate=60, per=60, burst=60), Cooldown(), MaxInFlight(4), clock=clock)

        async def call() -> None:
            nonlocal rejected, done
            while True:
                async with gate.slot(Kind.READ) as slot:
                    status, headers = server.handle(clock.now())
                    slot.observe(status, httpx.Headers(headers))
                if status != 429:
                    done += 1
                    return
                rejected += 1

        async with anyio.create_task_group() as tg:
            for _ in range(150):
                tg.start_soon(call)
        finished = clock.now()
    assert done == 150
    assert rejected <= 1
    assert finished <= 3 * 60 + 1  # and it did not wait needlessly


async def test_stats_are_a_snapshot_that_never_changes_under_the_holder() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(MaxInFlight(2), Cooldown(), clock=clock)
        before = gate.stats()
        async with gate.slot(Kind.READ):
            during = gate.stats()
        after = gate.stats()
    assert (before.acquisitions, before.in_flight) == (0, 0)
    assert (during.acquisitions, during.in_flight) == (1, 1)
    assert (after.acquisitions, after.in_flight) == (1, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.waits = 5  # type: ignore[misc]


async def test_a_deadline_facing_a_budget_held_by_requests_in_flight_waits_for_their_end() -> None:
    """A budget spent by requests still in flight opens a window after they end, which may be any moment: a call
    whose deadline allows that is admitted then, not refused at once for a wait the gate cannot tell."""
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(1, 1, per=1.0), MaxInFlight(4), clock=clock)
        in_flight = anyio.Event()
        admitted: list[float] = []

        async def long_read() -> None:
            async with gate.slot(Kind.READ):
                in_flight.set()
                await clock.sleep_until(clock.now() + 0.2)

        async def read_with_deadline() -> None:
            await in_flight.wait()
            async with gate.slot(Kind.READ, deadline=clock.now() + 100):
                admitted.append(clock.now())

        async with anyio.create_task_group() as tg:
            tg.start_soon(long_read)
            tg.start_soon(read_with_deadline)
    assert admitted == [pytest.approx(1.2)]  # a window after the first read ended


@pytest.mark.parametrize("deadline", [None, 100.0])
async def test_a_waiter_behind_a_held_slot_goes_when_the_hold_ends(deadline: float | None) -> None:
    """A cancelled request's slot is held until its server may be done; nothing else releases it, so the gate
    itself wakes its waiters then (a waiter slept until the next dispatch, forever when none came)."""
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(1, 1, per=1.0), MaxInFlight(4), clock=clock)
        with anyio.CancelScope() as scope:
            async with gate.slot(Kind.READ) as slot:
                slot.hold_until(clock.now() + 0.5)
                scope.cancel()
                await anyio.lowlevel.checkpoint()
        assert gate.stats().in_flight == 1
        with anyio.fail_after(10):  # real seconds (the virtual clock jumps past its own waits only): a hang guard
            async with gate.slot(Kind.READ, deadline=None if deadline is None else clock.now() + deadline):
                admitted = clock.now()
    assert admitted == pytest.approx(1.5)  # a window after the hold ended
