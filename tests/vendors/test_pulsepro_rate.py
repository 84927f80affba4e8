"""PulsePro's token bucket end to end, judged by the sandbox's records.

The rate tests run the sandbox in process on a :class:`~adops_async.gates.VirtualClock` shared with the client
(``tests/asgi.py: in_process``): the bucket is arithmetic on the sandbox's clock, so virtual time gives the exact
schedule the client kept, on any machine, in a fraction of a second. What needs a socket (a bucket drained by another
client mid-pull, a 503 storm) runs on a real one with a compressed clock; the client then runs on
:class:`~adops_async.gates.ScaledClock` (vendor seconds), so it keeps the vendor's own numbers (60 per 60 s, burst 60)
and reads ``RateLimit-Reset`` / ``Retry-After`` the way the sandbox means them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import pairwise
from typing import Any

import pytest

from adops_async.gates import Cooldown, Gate, MaxInFlight, TokenBucket, VirtualClock
from adops_async.sandbox import serve
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.vendors.pulsepro import PulsePro

from ..asgi import in_process

pytestmark = pytest.mark.anyio

BURST = 60  # calls, refilled one a vendor second (continuous) or all at once each minute (window)


@asynccontextmanager
async def running(app: PulseProSandbox, **options: Any) -> AsyncIterator[PulsePro]:
    with serve(app) as url:
        async with PulsePro(
            api_key="test-key", base_url=f"{url}/api/v1", clock=app.client_clock(), page_size=20, **options
        ) as client:
            yield client


async def pull_on_virtual_time(app: PulseProSandbox, gate: Any = None) -> list[Any]:
    """Every inspection, paged 20 at a time, the sandbox and the client on one virtual clock."""
    async with VirtualClock().running() as clock:
        options = {"gate": gate(clock)} if gate is not None else {}
        async with PulsePro(
            api_key="test-key",
            base_url="http://pulsepro.test/api/v1",
            http=in_process(app, clock),
            clock=clock,
            page_size=20,
            **options,
        ) as client:
            return await client.inspections.list().collect()


def arrivals(app: PulseProSandbox) -> list[float]:
    return sorted(r.at for r in app.records if r.status == 200)


async def test_pulling_3000_from_a_fresh_continuous_bucket_bursts_then_follows_the_refill_with_no_429() -> None:
    app = PulseProSandbox()
    items = await pull_on_virtual_time(app)
    assert len(items) == 3000
    assert len({i.id for i in items}) == 3000
    assert app.rate_violations == 0
    assert app.count() == 150
    # The fastest schedule the rule allows, and no slower: the burst at once, then one call as each token refills.
    assert arrivals(app) == pytest.approx([0.0] * BURST + [float(s) for s in range(1, 150 - BURST + 1)], abs=0.01)


async def test_pulling_3000_from_a_windowed_bucket_uses_every_window_with_no_429() -> None:
    """The other reading: 60 calls per fixed minute, all refilled at once when ``RateLimit-Reset`` reaches 0."""
    app = PulseProSandbox(refill="window")
    items = await pull_on_virtual_time(app)
    assert len({i.id for i in items}) == 3000
    assert app.rate_violations == 0
    times = arrivals(app)
    windows = [sum(1 for t in times if 60 * k <= t - times[0] < 60 * (k + 1)) for k in range(3)]
    assert windows == [60, 60, 30]
    for k in (1, 2):  # a new window is used as soon as it opens, not a refill cycle later (Reset is whole seconds)
        first = min(t for t in times if t - times[0] >= 60 * k)
        assert 0 <= first - times[0] - 60 * k <= 1.0


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
    app = PulseProSandbox(inspections=2400, reset="full")
    items = await pull_on_virtual_time(
        app,
        gate=lambda clock: Gate(
            TokenBucket(60, per=60, burst=60, reset="full"), MaxInFlight(10), Cooldown(), clock=clock
        ),
    )
    assert len({i.id for i in items}) == 2400
    assert app.rate_violations == 0
    times = arrivals(app)
    # Read as "calls come back at Reset", the drained bucket would hold for ~56 s after the burst and then burst
    # again. Read right, calls follow the refill one a second.
    assert max(b - a for a, b in pairwise(times)) == pytest.approx(1.0, abs=0.01)
    assert times[-1] - times[0] == pytest.approx(120 - BURST, abs=0.01)
