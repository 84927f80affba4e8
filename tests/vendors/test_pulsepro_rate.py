"""PulsePro's token bucket end to end, on a real socket with a compressed clock, judged by the sandbox's records.

The client runs on :class:`~adops_async.gates.ScaledClock` (vendor seconds), so it keeps the vendor's own numbers
(60 per 60 s, burst 60) and reads ``RateLimit-Reset`` / ``Retry-After`` the way the sandbox means them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import pairwise
from typing import Any

import pytest

from adops_async.gates import Cooldown, Gate, MaxInFlight, TokenBucket
from adops_async.sandbox import serve
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.vendors.pulsepro import PulsePro

pytestmark = pytest.mark.anyio

BURST, PER_SECOND = 60, 1.0


@asynccontextmanager
async def running(app: PulseProSandbox, **options: Any) -> AsyncIterator[PulsePro]:
    with serve(app) as url:
        async with PulsePro(
            api_key="test-key", base_url=f"{url}/api/v1", clock=app.client_clock(), page_size=20, **options
        ) as client:
            yield client


def arrivals(app: PulseProSandbox) -> list[float]:
    return sorted(r.at for r in app.records if r.status == 200)


async def test_pulling_3000_from_a_fresh_continuous_bucket_bursts_then_follows_the_refill_with_no_429() -> None:
    app = PulseProSandbox(speed=20)
    async with running(app) as client:
        items = await client.inspections.list().collect()
    assert len(items) == 3000
    assert len({i.id for i in items}) == 3000
    times = arrivals(app)
    assert len(times) == 150
    assert app.rate_violations == 0
    assert app.count() == 150
    assert times[BURST - 1] - times[0] < 0.25 * (BURST - 1) / PER_SECOND  # the burst went at once, not paced
    # The share of the bucket used is a wall-clock figure: benchmarks/quota_utilisation.py measures it.


async def test_pulling_3000_from_a_windowed_bucket_uses_every_window_with_no_429() -> None:
    """The other reading: 60 calls per fixed minute, all refilled at once when ``RateLimit-Reset`` reaches 0."""
    app = PulseProSandbox(speed=60, refill="window")
    async with running(app) as client:
        items = await client.inspections.list().collect()
    assert len({i.id for i in items}) == 3000
    assert app.rate_violations == 0
    times = arrivals(app)
    windows = [sum(1 for t in times if 60 * k <= t - times[0] < 60 * (k + 1)) for k in range(3)]
    assert windows == [60, 60, 30]
    for k in (1, 2):  # a new window is used as soon as it opens, not a refill cycle later (Reset is whole seconds:
        # ~1 s late; a loaded 2-core machine adds up to a few vendor seconds = tens of real milliseconds)
        first = min(t for t in times if t - times[0] >= 60 * k)
        assert first - times[0] - 60 * k < 10.0


@pytest.mark.parametrize("refill", ["continuous", "window"])
async def test_a_bucket_drained_by_another_client_of_the_key_costs_at_most_one_429(refill: Any) -> None:
    app = PulseProSandbox(speed=60, inspections=1000, refill=refill)
    ids: list[Any] = []
    async with running(app) as client:
        async for page in client.inspections.list().pages():
            ids.extend(i.id for i in page.items)
            if len(ids) == 200:
                assert app.drain("test-key") > 0
    assert sorted(ids) == list(range(1, 1001))
    assert app.rate_violations <= 1
    assert app.count() == 50 + app.rate_violations


async def test_a_90_second_503_storm_during_a_pull_loses_and_duplicates_nothing() -> None:
    app = PulseProSandbox(speed=120, inspections=600)
    ids: list[Any] = []
    async with running(app) as client:
        async for page in client.inspections.list().pages():
            ids.extend(i.id for i in page.items)
            if len(ids) == 100:
                app.spike(90)
                created = await client.corrective_actions.create({"title": "made during the storm"})
    assert sorted(ids) == list(range(1, 601))
    assert app.creates == 1
    assert created.id == 41
    storm = [r.at for r in app.records if r.status == 503]
    assert len(storm) >= 3
    after = min(r.at for r in app.records if r.status in (200, 201) and r.at > storm[0])
    assert after - storm[0] >= 89  # the storm really stood in the way: nothing got through for 90 vendor seconds
    assert app.rate_violations == 0


async def test_reset_read_as_time_to_full_keeps_the_rate_too() -> None:
    """Reset = seconds until the bucket is full: told so (``TokenBucket(reset="full")``), the client keeps the rate."""
    app = PulseProSandbox(speed=30, inspections=2400, reset="full")
    gate = Gate(TokenBucket(60, per=60, burst=60, reset="full"), MaxInFlight(10), Cooldown(), clock=app.client_clock())
    async with running(app, gate=gate) as client:
        items = await client.inspections.list().collect()
    assert len({i.id for i in items}) == 2400
    assert app.rate_violations == 0
    times = arrivals(app)
    # Read as "calls come back at Reset", the drained bucket would hold for ~56 s after the burst and then burst again
    # (~96 % of the rate overall). Read right, calls follow the refill one a second. The gap bound leaves room for an
    # event-loop stall of a few hundred real milliseconds on a loaded machine, which the overall rate does not.
    assert max(b - a for a, b in pairwise(times)) < 10.0
