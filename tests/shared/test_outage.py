"""Redis goes away mid-run, and comes back: ``"fail"`` sends nothing unmetered, ``"local"`` keeps the rule on a
conservative share, and shared mode resumes. Each test has its own redis-server, which it stops and restarts.

asyncio only by nature: redis-py's asyncio client.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import anyio
import pytest

from adops_async import AppNexus, OoyalaPulse, QuotaStoreUnavailable, RedisStore, ScaledClock
from adops_async.sandbox import serve
from adops_async.sandbox.appnexus import AppNexusSandbox, SandboxUser
from adops_async.sandbox.ooyala import OoyalaSandbox

from ..redis_server import RedisServer
from ..waiting import until  # the sandbox records from its server thread: no event to wait on, so poll its state

pytestmark = pytest.mark.anyio

SPEED, READS = 120, 20  # a vendor minute per half real second; 20 reads per vendor minute per member
# The documented limit of local mode: every process must find the store back within a window of the first that did
# (README, "Redis down"). A window of half a real second let a CPU-starved suite run (6 workers on 2 cores) cross it
# once; local mode is tested with a window of a real second.
LOCAL_SPEED = 60


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def appnexus(
    url: str, store: RedisStore, user: str = "api-user", password: str = "secret", speed: float = SPEED
) -> AppNexus:
    return AppNexus(
        username=user,
        password=password,
        base_url=url,
        store=store,
        member_key="1",
        reads=READS,
        clock=ScaledClock(speed),
    )


async def test_fail_mode_raises_a_typed_error_sends_nothing_and_resumes() -> None:
    app = AppNexusSandbox(speed=SPEED, reads=READS)
    ids = app.seed_line_items(5, advertisers=1)
    with RedisServer() as redis, serve(app) as url:
        store = RedisStore(redis.url, prefix=f"{uuid.uuid4().hex}:", timeout=0.5)
        async with appnexus(url, store) as an:
            await an.line_items.get(ids[0])
            sent = app.count()
            redis.stop()
            with pytest.raises(QuotaStoreUnavailable) as caught:
                await an.line_items.get(ids[1])
            assert app.count() == sent  # not one unmetered request
            error = caught.value
            assert (error.vendor, error.method) == ("appnexus", "GET")
            assert "line-item" in (error.url or "")
            assert "secret" not in str(error)
            assert "secret" not in repr(error)
            redis.start()
            assert (await an.line_items.get(ids[1])).id == ids[1]  # shared mode again
        await store.aclose()
    assert app.violations == []


async def test_local_mode_keeps_the_rule_through_an_outage_and_resumes(caplog: pytest.LogCaptureFixture) -> None:
    """Two "processes" (each its own store and gate) share a member; Redis dies and restarts empty mid-run."""
    users = {"a": SandboxUser("pw-a", 1), "b": SandboxUser("pw-b", 1)}
    app = AppNexusSandbox(speed=LOCAL_SPEED, reads=READS, users=users)
    ids = app.seed_line_items(60, advertisers=1)
    seen: dict[str, list[Any]] = {"a": [], "b": []}
    with RedisServer() as redis, serve(app) as url:
        prefix = f"{uuid.uuid4().hex}:"
        stores = {
            name: RedisStore(
                redis.url, prefix=prefix, on_store_error="local", expected_processes=2, timeout=0.3, retry_every=0.2
            )
            for name in users
        }
        caplog.set_level(logging.WARNING, logger="adops_async.gate")

        modes: set[str | None] = set()

        async def worker(name: str) -> None:
            async with appnexus(url, stores[name], name, users[name].password, LOCAL_SPEED) as an:
                for i in ids:
                    seen[name].append((await an.line_items.get(i)).id)
                    modes.add(an.gate.stats().store)
                assert an.gate.stats().store == "shared"

        async def outage() -> None:
            await until(lambda: app.count("GET") >= 30)  # a window and a half in shared mode
            redis.stop()
            await until(lambda: app.count("GET") >= 70)  # two windows in local mode
            redis.start()

        async with anyio.create_task_group() as tg:
            tg.start_soon(outage)
            for name in users:
                tg.start_soon(worker, name)
        for store in stores.values():
            await store.aclose()
        assert redis.process is not None
    assert app.violations == []
    assert seen == {"a": ids, "b": ids}
    assert modes == {"shared", "local"}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("unreachable" in m for m in messages) == 2  # once per process per outage
    assert sum("shared mode resumes" in m for m in messages) == 2


async def test_a_shared_serial_slot_is_not_split_when_redis_is_down() -> None:
    """One in flight across processes cannot be metered locally: even ``"local"`` mode refuses to send."""
    app = OoyalaSandbox()
    ids = app.seed("campaign", 2)
    with RedisServer() as redis, serve(app) as url:
        store = RedisStore(
            redis.url, prefix=f"{uuid.uuid4().hex}:", on_store_error="local", expected_processes=2, lease=1.0
        )
        async with OoyalaPulse(api_key="sandbox-key", base_url=url, store=store) as pulse:
            await pulse.campaigns.get(ids[0])
            redis.stop()
            with pytest.raises(QuotaStoreUnavailable, match="cannot be split"):
                await pulse.campaigns.get(ids[1])
            redis.start()
            await pulse.campaigns.get(ids[1])
        await store.aclose()
    assert app.violations == []
    assert app.count("GET") == 2
