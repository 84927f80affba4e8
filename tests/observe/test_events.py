"""The event stream: what a call, a retry and a cooldown emit, in order; subscribers that raise or block."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import httpx
import pytest

from adops_async import BaseClient, Cooldown, Gate, ReadWriteQuota, RetryPolicy, VirtualClock, observe
from adops_async.observe import (
    CallEnded,
    CallStarted,
    CooldownEnded,
    CooldownStarted,
    Event,
    GateWaited,
    RateSignal,
    RequestFailed,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    path_template,
)
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio


def asgi_client(
    handler: Callable[[Hit], object], clock: VirtualClock, gate: Gate | None = None, **kw: object
) -> BaseClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(handler)))  # type: ignore[arg-type]
    gate = gate or Gate(Cooldown(), clock=clock)
    return BaseClient(base_url="http://vendor.test/api", http=http, gate=gate, clock=clock, **kw)  # type: ignore[arg-type]


def test_path_template_hides_ids_and_keeps_names() -> None:
    assert path_template("/line-item/123") == "/line-item/{id}"
    assert path_template("/a/550e8400-e29b-41d4-a716-446655440000/b") == "/a/{id}/b"
    assert path_template("/creative/9f86d081884c7d65/x") == "/creative/{id}/x"
    assert path_template("/api/v1/inspections/") == "/api/v1/inspections/"
    assert path_template("/lineitems/abcDEF123ghiJKL456;context=network_1") == "/lineitems/{id}"
    assert path_template("/report/deadbeef") == "/report/deadbeef"  # a word of hex letters is a name, not an id


async def test_a_call_with_a_429_retry_emits_its_events_in_order() -> None:
    calls = 0

    async def handler(hit: Hit) -> Answer:
        nonlocal calls
        calls += 1
        if calls == 1:
            return Answer(429, {"error": "slow down"}, {"Retry-After": "10", "X-Request-Id": "r-1"})
        return Answer(200, {"ok": True}, {"X-Request-Id": "r-2"})

    events: list[Event] = []
    async with VirtualClock().running() as clock:
        client = asgi_client(handler, clock, observers=[events.append], retry=RetryPolicy(attempts=3))
        async with client:
            reply = await client.request("GET", "/line-item/42", params={"token": "s3cret"})
    assert reply.data == {"ok": True}
    assert [type(e) for e in events] == [
        CallStarted,
        RequestSent,
        CooldownStarted,
        ResponseReceived,
        RateSignal,
        RetryScheduled,
        CooldownEnded,
        RequestSent,
        ResponseReceived,
        CallEnded,
    ]
    assert {(e.vendor, e.method, e.path) for e in events} == {("http", "GET", "/line-item/{id}")}
    assert len({e.call for e in events}) == 1
    assert [e.attempt for e in events] == [0, 1, 1, 1, 1, 1, 2, 2, 2, 2]
    first, retry, ended = events[3], events[5], events[-1]
    assert (first.status, first.request_id) == (429, "r-1")
    assert isinstance(retry, RetryScheduled)
    assert (retry.delay, retry.reason, retry.status) == (10.0, "RateLimited", 429)
    assert isinstance(ended, CallEnded)
    assert (ended.attempts, ended.error, ended.elapsed) == (2, None, 10.0)
    cooldown = events[2]
    assert isinstance(cooldown, CooldownStarted)
    assert (cooldown.wait, cooldown.status, cooldown.reason) == (10.0, 429, "HTTP 429")
    assert all("s3cret" not in repr(e) for e in events)


async def test_a_call_held_by_a_cooldown_reports_its_wait_and_what_held_it() -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, {"ok": True})

    events: list[Event] = []
    async with VirtualClock().running() as clock, asgi_client(handler, clock, observers=[events.append]) as client:
        client.gate.cool_down(7.5, reason="test")
        await client.request("GET", "/line-item")
    waited = [e for e in events if isinstance(e, GateWaited)]
    assert len(waited) == 1
    assert (waited[0].wait, waited[0].blocked_by, waited[0].kind, waited[0].priority) == (
        7.5,
        "Cooldown",
        "read",
        "NORMAL",
    )
    ended = events[-1]
    assert isinstance(ended, CallEnded)
    assert ended.gate_wait == 7.5


async def test_quota_waits_name_the_policy_and_the_queue() -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, [])

    events: list[Event] = []
    async with VirtualClock().running() as clock:
        gate = Gate(ReadWriteQuota(reads=2, writes=1, per=60), clock=clock)
        client = asgi_client(handler, clock, gate=gate, observers=[events.append])
        async with client, anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(client.request, "GET", "/things")
    waited = sorted((e.wait, e.blocked_by) for e in events if isinstance(e, GateWaited))
    assert waited == [(60.0, "ReadWriteQuota"), (60.0, "queue")]


async def test_a_transport_failure_is_a_failed_request_and_the_error_ends_the_call() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    events: list[Event] = []
    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
        client = BaseClient(
            base_url="http://vendor.test",
            http=http,
            clock=clock,
            retry=RetryPolicy(attempts=2),
            observers=[events.append],
        )
        async with client:
            with pytest.raises(Exception, match="refused"):
                await client.request("POST", "/things")
    failed = [e for e in events if isinstance(e, RequestFailed)]
    assert [(e.error, e.attempt) for e in failed] == [("TransportError", 1), ("TransportError", 2)]
    ended = events[-1]
    assert isinstance(ended, CallEnded)
    assert (ended.error, ended.attempts) == ("TransportError", 2)


async def test_a_raising_subscriber_never_fails_a_request_and_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, {"ok": True})

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    seen: list[Event] = []
    async with (
        VirtualClock().running() as clock,
        asgi_client(handler, clock, observers=[broken, seen.append]) as client,
    ):
        with caplog.at_level(logging.WARNING, logger="adops_async.observe"):
            for _ in range(3):
                assert (await client.request("GET", "/x")).data == {"ok": True}
    assert client.observers.failures == {repr(broken): 12}  # 4 events a call, 3 calls
    assert len([r for r in caplog.records if "subscriber" in r.getMessage() or r.exc_info]) == 1
    assert len(seen) == 12  # the subscriber after it still hears everything


async def test_a_blocking_async_subscriber_never_delays_a_request() -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, {"ok": True})

    never = anyio.Event()
    heard: list[str] = []

    async def blocking(event: Event) -> None:
        heard.append(type(event).__name__)
        await never.wait()

    async with VirtualClock().running() as clock:
        client = asgi_client(handler, clock, observers=[blocking])
        client.observers.buffer, client.observers.timeout = 3, 0.05
        async with client:
            for _ in range(5):
                assert (await client.request("GET", "/x")).data == {"ok": True}
            assert clock.now() == 0.0  # no clock time passed: nothing waited for the subscriber
    observers = client.observers
    assert observers.dropped > 0
    # Every event was either handed over (and abandoned after its time) or dropped: none was lost silently.
    assert len(heard) + observers.dropped == 20
    assert observers.failures == {repr(blocking): len(heard)}


async def test_async_subscribers_hear_every_event_once_the_client_closes() -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, {"ok": True})

    heard: list[Event] = []

    async def collect(event: Event) -> None:
        await anyio.lowlevel.checkpoint()
        heard.append(event)

    async with VirtualClock().running() as clock, asgi_client(handler, clock, observers=[collect]) as client:
        for _ in range(3):
            await client.request("GET", "/x")
    assert [type(e).__name__ for e in heard] == ["CallStarted", "RequestSent", "ResponseReceived", "CallEnded"] * 3


async def test_adops_log_in_the_environment_logs_every_call(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, {"ok": True}, {"X-Request-Id": "r-9"})

    monkeypatch.setenv("ADOPS_LOG", "info")
    async with VirtualClock().running() as clock:
        client = asgi_client(handler, clock)
        async with client:
            with caplog.at_level(logging.INFO, logger="adops_async.events"):
                await client.request("GET", "/line-item/7")
    assert any(isinstance(o, observe.logging().__class__) for o in client.observers.observers)
    lines = [r for r in caplog.records if r.name == "adops_async.events"]
    assert [r.getMessage() for r in lines] == [
        "http GET /line-item/{id} 200 ok attempts=1 gate_wait=0.000s elapsed=0.000s request_id=r-9"
    ]
    assert lines[0].adops["request_id"] == "r-9"  # type: ignore[attr-defined]
