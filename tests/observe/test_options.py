"""Per-call options: views that share the client's gate, auth and pool; fail-fast admission with max_wait."""

from __future__ import annotations

import httpx
import pytest

from adops_async import (
    BaseClient,
    Cooldown,
    Gate,
    GateWaitTooLong,
    Priority,
    PulsePro,
    RetryPolicy,
    VirtualClock,
    response_meta,
)
from adops_async.sandbox.pulsepro import PulseProSandbox
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio


def pulsepro(clock: VirtualClock) -> tuple[PulsePro, PulseProSandbox]:
    sandbox = PulseProSandbox(inspections=5)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox))  # type: ignore[arg-type]
    return PulsePro(api_key="test-key", base_url="http://pulse.test/api/v1", http=http, clock=clock), sandbox


async def test_max_wait_facing_a_10s_cooldown_raises_at_once_with_the_predicted_wait() -> None:
    async with VirtualClock().running() as clock:
        client, sandbox = pulsepro(clock)
        async with client:
            client.gate.cool_down(10.0, reason="test")
            with pytest.raises(GateWaitTooLong) as caught:
                await client.with_options(max_wait=1).inspections.get(1)
            assert clock.now() == 0.0  # at once, not after a second of waiting
            # The same call without max_wait waits out the cooldown and goes.
            assert (await client.inspections.get(1)).id == 1
            assert clock.now() == 10.0
    assert caught.value.retry_after == 10.0
    assert caught.value.vendor == "pulsepro"
    assert (caught.value.method, caught.value.status) == ("GET", None)
    assert sandbox.count("GET") == 1  # nothing was sent for the refused call
    assert sandbox.violations == []


async def test_max_wait_lets_a_call_through_when_the_gate_opens_in_time() -> None:
    async with VirtualClock().running() as clock:
        client, _ = pulsepro(clock)
        async with client:
            client.gate.cool_down(0.5, reason="test")
            assert (await client.with_options(max_wait=1).inspections.get(2)).id == 2
            assert clock.now() == 0.5


async def test_a_view_shares_gate_auth_pool_and_observers_and_its_resources_call_through_it() -> None:
    async with VirtualClock().running() as clock:
        client, _ = pulsepro(clock)
        async with client:
            retry = RetryPolicy(attempts=1)
            view = client.with_options(timeout=5, retry=retry, priority=Priority.INTERACTIVE, raw_response=True)
            assert isinstance(view, PulsePro)
            assert (view.gate, view.auth, view.http, view.observers) == (
                client.gate,
                client.auth,
                client.http,
                client.observers,
            )
            assert (view.timeout, view.retry, view.priority) == (5, retry, Priority.INTERACTIVE)
            assert (client.timeout, client.retry, client.priority) == (30.0, client.retry, None)
            assert view.inspections.client is view
            assert client.inspections.client is client
            assert view.analytics._scores.client is view  # helpers a level down are rebound too
            item = await view.inspections.get(3)
            meta = response_meta(item)
            assert meta is not None
            assert meta.response is not None
            assert meta.response.status_code == 200
            plain = await client.inspections.get(3)
            plain_meta = response_meta(plain)
            assert plain_meta is not None
            assert plain_meta.response is None  # raw responses are kept only in raw-response mode
            await view.aclose()  # closing a view closes nothing
            assert (await client.inspections.get(4)).id == 4
        with pytest.raises(Exception, match="closed"):
            await view.inspections.get(1)  # the client it came from is closed


async def test_a_views_priority_wins_over_the_resources_defaults() -> None:
    seen: list[Priority] = []

    async def handler(hit: Hit) -> Answer:
        return Answer(200, {"ok": True})

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(handler)))  # type: ignore[arg-type]
        client = BaseClient(base_url="http://vendor.test", http=http, gate=Gate(Cooldown(), clock=clock), clock=clock)
        original = client.gate.slot

        def spy(kind, priority=Priority.NORMAL, *, deadline=None):  # type: ignore[no-untyped-def]
            seen.append(priority)
            return original(kind, priority, deadline=deadline)

        client.gate.slot = spy  # type: ignore[method-assign]
        async with client:
            await client.with_options(priority=Priority.INTERACTIVE).request("GET", "/x", priority=Priority.BULK)
            await client.request("GET", "/x", priority=Priority.BULK)
    assert seen == [Priority.INTERACTIVE, Priority.BULK]


def test_with_options_refuses_nonsense() -> None:
    client = BaseClient(base_url="http://vendor.test")
    with pytest.raises(ValueError, match="max_wait"):
        client.with_options(max_wait=-1)
    with pytest.raises(ValueError, match="timeout"):
        client.with_options(timeout=0)
