"""Bounded time and size (issue 16, items 3 and 4): no call waits past its deadline, no attempt outlives its
wall-clock bound, no body is read past its cap; a long cooldown the vendor asked for is still honoured for sending.

Gate waits run in virtual time; the network bounds run against the sandboxes on real sockets, judged by what the
sandbox recorded and the type of what was raised. ``anyio.fail_after`` is only a guard against a hang.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from adops_async import (
    AdOpsError,
    Cooldown,
    DecodeError,
    Gate,
    GateWaitTooLong,
    Kind,
    RateLimited,
    ReadWriteQuota,
    RetryPolicy,
    ServerError,
    TransportError,
    VirtualClock,
)
from adops_async.extend import BaseClient
from adops_async.sandbox import Fault, serve
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.sandbox.pulsepro._app import PREFIX
from adops_async.vendors.pulsepro import PulsePro
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio

KEY = "bounds-key-0001"


# -- the gate never waits past a deadline ------------------------------------------------------------------------


async def test_a_cooldown_past_the_deadline_raises_at_once_with_the_predicted_wait() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(Cooldown(), clock=clock)
        gate.cool_down(3600)
        with pytest.raises(GateWaitTooLong) as caught:
            async with gate.slot(Kind.READ, deadline=clock.now() + 300):
                pytest.fail("admitted inside the cooldown")
        assert clock.now() == 0  # at once, not at the deadline
        assert caught.value.retry_after == pytest.approx(3600)
        assert isinstance(caught.value, RateLimited)
        assert gate.stats().waiters == dict.fromkeys(gate.stats().waiters, 0)


async def test_a_cooldown_that_starts_while_calls_wait_sends_them_away_at_once() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=1, writes=1, per=60), Cooldown(), clock=clock)
        async with gate.slot(Kind.READ):
            pass
        outcomes: list[tuple[str, float]] = []

        async def call(deadline: float) -> None:
            try:
                async with gate.slot(Kind.READ, deadline=deadline):
                    outcomes.append(("admitted", clock.now()))
            except GateWaitTooLong:
                outcomes.append(("refused", clock.now()))

        async with anyio.create_task_group() as group:
            group.start_soon(call, 300.0)  # waits for the budget (60 s): fine until the vendor's pause
            group.start_soon(call, 50.0)  # refused at once: the budget only opens at 60
            await clock.sleep_until(10)
            gate.cool_down(1000)  # the vendor asks for a long pause: nobody's deadline covers it
        assert outcomes == [("refused", 0.0), ("refused", 10.0)]


async def test_a_long_cooldown_is_still_honoured_for_sending() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(Cooldown(), clock=clock)
        gate.cool_down(400)
        with pytest.raises(GateWaitTooLong):
            async with gate.slot(Kind.WRITE, deadline=300):
                pass
        await clock.sleep_until(150)
        async with gate.slot(Kind.WRITE, deadline=450):
            admitted = clock.now()
        assert admitted == 400


async def test_a_wait_for_a_permit_ends_at_the_deadline() -> None:
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=1, writes=1, per=60), clock=clock)
        async with gate.slot(Kind.READ):
            pass
        # The budget opens at 60: a deadline of 30 is refused at once, a deadline of 90 is admitted at 60.
        with pytest.raises(GateWaitTooLong) as caught:
            async with gate.slot(Kind.READ, deadline=30):
                pass
        assert clock.now() == 0
        assert caught.value.retry_after == pytest.approx(60)
        async with gate.slot(Kind.READ, deadline=90):
            assert clock.now() == 60


def pulsepro(url: str, **options: Any) -> PulsePro:
    return PulsePro(api_key=KEY, base_url=f"{url}{PREFIX}", **options)


async def test_retry_after_an_hour_fails_the_next_call_at_once_and_sends_nothing() -> None:
    app = PulseProSandbox(keys={KEY: "org-1"}, inspections=5)
    app.inject(Fault("status", status=429, headers={"Retry-After": "3600"}, body=b'{"detail": "slow down"}'))
    with serve(app) as url, anyio.fail_after(20):
        async with pulsepro(url) as client:
            with pytest.raises(RateLimited) as first:
                await client.inspections.list().collect()
            sent = app.count()
            with pytest.raises(GateWaitTooLong) as second:
                await client.inspections.list().collect()
    assert first.value.retry_after == pytest.approx(3600)
    assert second.value.retry_after == pytest.approx(3600, abs=5)
    assert (second.value.vendor, second.value.method) == ("pulsepro", "GET")
    assert app.count() == sent == 1


# -- every attempt has a wall-clock bound, every decoded body a size cap ------------------------------------------

INSPECTIONS = PREFIX + "/inspections"


async def test_a_body_trickled_past_the_attempt_bound_is_a_timeout_then_retried() -> None:
    app = PulseProSandbox(keys={KEY: "org-1"}, inspections=5)
    # Each piece comes well inside httpx's per-read timeout; the whole body does not come inside the attempt's bound.
    app.inject(Fault("slow", path=INSPECTIONS, delay=0.15))
    with serve(app) as url, anyio.fail_after(20):
        async with pulsepro(url, timeout=0.5) as client:
            inspections = await client.inspections.list().collect()
        async with pulsepro(url, timeout=0.5, retry=RetryPolicy(attempts=2)) as client:
            app.inject(Fault("slow", path=INSPECTIONS, delay=0.15, count=2))
            with pytest.raises(TransportError) as caught:
                await client.inspections.list().collect()
    assert len(inspections) == 5
    assert caught.value.code == "timeout"
    assert caught.value.vendor == "pulsepro"
    # the first pull: one slow attempt, then a whole one; the second: two slow attempts and no third
    assert app.count("GET", INSPECTIONS) == 4


async def test_an_endless_body_ends_at_the_attempt_bound() -> None:
    app = PulseProSandbox(keys={KEY: "org-1"}, inspections=5)
    app.inject(Fault("endless", path=INSPECTIONS, body=b'{"results": [' + b'{"id": 1},' * 10, delay=0.05, count=2))
    with serve(app) as url, anyio.fail_after(20):
        async with pulsepro(url, timeout=0.5, retry=RetryPolicy(attempts=2)) as client:
            with pytest.raises(TransportError) as caught:
                await client.inspections.list().collect()
    assert caught.value.code == "timeout"
    assert app.count("GET", INSPECTIONS) == 2


async def test_a_body_past_the_size_cap_is_a_decode_error_read_no_further() -> None:
    app = PulseProSandbox(keys={KEY: "org-1"}, inspections=5)
    app.inject(Fault("endless", path=INSPECTIONS, body=b"[" + b"0," * 50_000, delay=0, count=1))
    with serve(app) as url, anyio.fail_after(20):
        async with pulsepro(url) as client:
            client.max_body_size = 1 << 20
            with pytest.raises(DecodeError) as caught:
                await client.inspections.list().collect()
    assert caught.value.code == "too_large"
    assert caught.value.status == 200
    assert app.count("GET", INSPECTIONS) == 1  # a body too large stays too large: not retried


async def test_a_declared_gigabyte_is_refused_before_reading() -> None:
    app = PulseProSandbox(keys={KEY: "org-1"}, inspections=5)
    app.inject(Fault("status", status=200, path=INSPECTIONS, headers={"content-length": str(10**9)}, body=b"["))
    with serve(app) as url, anyio.fail_after(20):
        async with pulsepro(url) as client:
            with pytest.raises(DecodeError) as caught:
                await client.inspections.list().collect()
    assert caught.value.code == "too_large"
    assert "1000000000" in str(caught.value)


async def test_a_streamed_body_ends_at_the_attempt_bound_without_cancelling_its_reader() -> None:
    app = PulseProSandbox(keys={KEY: "org-1"}, inspections=50)
    app.inject(Fault("slow", path=INSPECTIONS, delay=0.15))

    async def chunks(client: PulsePro) -> AsyncIterator[bytes]:
        # The reader is an async generator of its own: the bound must reach it as an error, never as a cancellation.
        async with client.stream("GET", "inspections", timeout=0.5) as response:
            async for chunk in response.aiter_bytes():
                yield chunk

    received: list[bytes] = []

    async def read(client: PulsePro) -> None:
        async for chunk in chunks(client):
            received.append(chunk)

    with serve(app) as url, anyio.fail_after(20):
        async with pulsepro(url) as client:
            with pytest.raises(TransportError) as caught:
                await read(client)
            assert (await client.inspections.list().first()) is not None  # the slot was given back
    assert "bound" in caught.value.message
    assert received
    assert app.violations == []


async def test_a_retry_the_gate_cannot_admit_in_time_raises_the_vendors_own_failure() -> None:
    # Call A fails with a 503 and waits to retry; meanwhile call B meets a 429 asking for 1,000 s. A's retry cannot be
    # admitted before A's deadline: A raises its own 503 (what the vendor said), not the gate's prediction.
    async def handler(hit: Hit) -> Answer:
        if hit.path.endswith("/a"):
            return Answer(503, {"message": "overloaded"})
        return Answer(429, {"message": "slow down"}, headers={"Retry-After": "1000"})

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(handler)))  # type: ignore[arg-type]
        retry = RetryPolicy(attempts=3, deadline=300, backoff=10, max_backoff=10, rng=random.Random(1))
        client = BaseClient(base_url="http://vendor.test", http=http, clock=clock, retry=retry)
        outcomes: dict[str, BaseException] = {}

        async def call(path: str) -> None:
            try:
                await client.request("GET", path)
            except AdOpsError as exc:
                outcomes[path] = exc

        async with client, anyio.create_task_group() as group:
            group.start_soon(call, "a")
            await clock.sleep_until(0.001)
            group.start_soon(call, "b")
    assert type(outcomes["b"]) is RateLimited
    assert type(outcomes["a"]) is ServerError
    assert outcomes["a"].status == 503


async def test_a_retry_that_would_start_at_the_deadline_is_not_sent_and_the_last_failure_stands() -> None:
    # A 503 asks for exactly the time left before the deadline: waiting it out leaves no time for the retry, so the
    # call raises the vendor's 503 rather than sending an attempt with no time to answer.
    hits: list[str] = []

    async def handler(hit: Hit) -> Answer:
        hits.append(hit.path)
        return Answer(503, {"message": "busy"}, headers={"Retry-After": "10"})

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(handler)))  # type: ignore[arg-type]
        client = BaseClient(base_url="http://vendor.test", http=http, clock=clock, retry=RetryPolicy(deadline=10))
        async with client:
            with pytest.raises(ServerError) as caught:
                await client.request("GET", "x")
    assert caught.value.status == 503
    assert len(hits) == 1
