"""Cancelling a caller whose request is already on the server (issue 16, item 7): the caller returns at once, but the
request keeps its place at the gate until the vendor is done with it as far as the client can know (its attempt's
bound), so the next requests never break the vendor's rule. Judged by the sandboxes' violation records.

The tests wait for the sandbox to hold the requests (its own in-flight state) before cancelling: no sleep orders them.
"""

from __future__ import annotations

import uuid

import anyio
import pytest

from adops_async import AppNexus, OoyalaPulse, RedisStore
from adops_async.sandbox import serve
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox

from ..redis_server import RedisServer
from ..waiting import until

pytestmark = pytest.mark.anyio

LATENCY = 0.3
"""Real seconds each request spends on the sandbox: the window in which the caller is cancelled."""
BOUND = 1.0
"""The clients' attempt bound: a cancelled request keeps its place this long."""


def arrived(app: AppNexusSandbox) -> int:
    """Line-item reads the sandbox has answered or is working on. Waiting for all 15 to be in flight at once would
    ask a loaded machine to deliver them within one ``LATENCY``; the answered ones are read first, so a request
    moving from working to answered between the two reads is never counted twice."""
    answered = app.count("GET", "/line-item")
    return answered + sum(app._in_flight.values())


async def cancel_15_then_send_15(app: AppNexusSandbox, an: AppNexus, item: int) -> None:
    await an.line_items.get(item)  # log in first: the login is not what is cancelled
    async with anyio.create_task_group() as group:
        for _ in range(15):
            group.start_soon(an.line_items.get, item)
        await until(lambda: arrived(app) == 16, within=10)  # the login-first read and all 15
        group.cancel_scope.cancel()
    assert sum(app._in_flight.values()) > 0  # the callers left while the server still works on their requests
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            for _ in range(15):
                group.start_soon(an.line_items.get, item)


async def test_cancelled_appnexus_reads_keep_their_places_until_the_server_is_done() -> None:
    app = AppNexusSandbox(latency=LATENCY)
    item = app.seed_line_items(1)[0]
    with serve(app) as url:
        async with AppNexus(username="api-user", password="secret", base_url=url, timeout=BOUND) as an:
            await cancel_15_then_send_15(app, an, item)
    assert app.violations == []
    assert app.count("GET", "/line-item") == 31


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis-py's client is asyncio-only
async def test_cancelled_appnexus_reads_keep_their_shared_places_too(redis_server: RedisServer) -> None:
    app = AppNexusSandbox(latency=LATENCY)
    item = app.seed_line_items(1)[0]
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", lease=BOUND / 0.8)
    with serve(app) as url:
        async with AppNexus(username="api-user", password="secret", base_url=url, timeout=BOUND, store=store) as an:
            await cancel_15_then_send_15(app, an, item)
    assert app.violations == []


async def cancel_one_then_call(app: OoyalaSandbox, pulse: OoyalaPulse) -> None:
    campaign = await pulse.campaigns.create({"name": "c", "priority": 5})
    assert campaign.id is not None
    async with anyio.create_task_group() as group:
        group.start_soon(pulse.campaigns.get, campaign.id)
        await until(lambda: bool(app.busy), within=10)
        group.cancel_scope.cancel()
    assert app.busy  # the server is still on the cancelled call
    with anyio.fail_after(10):
        await pulse.campaigns.get(campaign.id)


async def test_a_cancelled_ooyala_call_is_not_overlapped_by_the_next() -> None:
    app = OoyalaSandbox(latency=LATENCY)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url, timeout=BOUND) as pulse:
            await cancel_one_then_call(app, pulse)
    assert app.violations == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis-py's client is asyncio-only
async def test_a_cancelled_ooyala_call_keeps_its_shared_lease(redis_server: RedisServer) -> None:
    app = OoyalaSandbox(latency=LATENCY)
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", lease=BOUND / 0.8)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url, timeout=BOUND, store=store) as pulse:
            await cancel_one_then_call(app, pulse)
    assert app.violations == []
