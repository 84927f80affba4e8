"""Ooyala Custom Reporting (``/v2/reports``, issue 17) on a real socket: concurrent runs wait for one of the
account's two running-report slots (in one process and through a RedisStore), failures and cancellations give the
slot back, and a result at the row cap (the vendor's 100,000) is never taken for a whole one."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from adops_async import AdOpsError, IncompleteData, RedisStore
from adops_async.core.jobs import JobQuota
from adops_async.sandbox import serve
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.ooyala import OoyalaPulse, ReportFailed, ReportTruncated

from ..redis_server import RedisServer
from ..waiting import until

pytestmark = pytest.mark.anyio

KEY = "sandbox-key"
DEFINITION = {
    "startDateTime": "2016-10-01T00:00:00+02:00",
    "endDateTime": "2016-12-31T23:59:59+02:00",
    "timeGranularity": "month",
    "dimensions": ["category"],
    "metrics": ["impression"],
    "filters": [],
}


@pytest.fixture
def served() -> Iterator[tuple[OoyalaSandbox, str]]:
    # Runs of half a second: long enough that what must overlap does on a loaded machine (two runs at once; a third
    # sent while two run; a run still running when a wait gives up), where 50 ms runs finished first. Not in virtual
    # time: reading a result spools it to a file through worker threads, which a virtual clock does not wait for.
    app = OoyalaSandbox(custom_report_seconds=0.5)
    with serve(app) as url:
        yield app, url


async def _run_and_read(pulse: OoyalaPulse, name: str) -> list[dict[str, object]]:
    job = await pulse.custom_reports.run(name, DEFINITION)
    await job.wait(first=0.01, longest=0.02)
    return [row async for row in job.rows()]


async def test_six_concurrent_runs_wait_for_two_slots(served: tuple[OoyalaSandbox, str]) -> None:
    app, url = served
    results: dict[int, list[dict[str, object]]] = {}
    async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:

        async def one(i: int) -> None:
            results[i] = await _run_and_read(pulse, f"report {i}")

        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon(one, i)
        slots = pulse.custom_reports.slots
    assert app.violations == []  # the sandbox never had to queue a third
    assert app.most_running == 2
    assert (slots.peak, slots.held(pulse.clock.now())) == (2, 0)
    assert sorted(results) == list(range(6))
    assert all(len(rows) == 10 for rows in results.values())
    assert results[0][3] == {"category": "c3", "category_name": "Category 3", "impression": 1003}
    assert sorted(run.status for run in app.custom.values()) == ["READY"] * 6


async def test_without_the_slots_the_vendor_queues_the_third_and_the_sandbox_says_so(
    served: tuple[OoyalaSandbox, str],
) -> None:
    app, url = served
    async with (
        OoyalaPulse(api_key=KEY, base_url=url, report_slots=JobQuota(3)) as pulse,
        anyio.create_task_group() as tg,
    ):
        for i in range(3):
            tg.start_soon(_run_and_read, pulse, f"report {i}")
    assert [v.rule for v in app.violations] == ["at-most-two-running-reports"]
    assert app.most_running == 2  # the vendor queued it rather than refusing it
    assert sorted(run.status for run in app.custom.values()) == ["READY"] * 3


async def test_sequential_runs_in_one_task_never_deadlock(served: tuple[OoyalaSandbox, str]) -> None:
    # The third run waits for a slot while nobody polls the first two: the waiter asks them itself.
    app, url = served
    async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
        pulse.custom_reports.slots.poll = 0.01
        with anyio.fail_after(10):
            jobs = [await pulse.custom_reports.run(f"report {i}", DEFINITION) for i in range(3)]
            counts = []
            for job in jobs:
                counts.append(len([row async for row in job.rows()]))
    assert counts == [10, 10, 10]
    assert app.violations == []


async def test_failed_and_cancelled_reports_give_their_slot_back(served: tuple[OoyalaSandbox, str]) -> None:
    app, url = served
    app.fail_custom_reports.append("too many tags")
    async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
        failing = await pulse.custom_reports.run("fails", DEFINITION)
        with pytest.raises(ReportFailed, match="too many tags"):
            await failing.wait(first=0.01, longest=0.02)
        cancelled = await pulse.custom_reports.run("cancelled", DEFINITION)
        await cancelled.cancel()
        abandoned = await pulse.custom_reports.run("abandoned", DEFINITION)
        with pytest.raises(AdOpsError, match="not ready"):  # a wait that gives up lets its slot go too
            await abandoned.wait(first=0.01, give_up_after=0.001)
        assert pulse.custom_reports.slots.held(pulse.clock.now()) == 0
        assert len(await _run_and_read(pulse, "after")) == 10
    assert cancelled.id not in app.custom
    assert app.violations == []


async def test_a_result_at_the_row_cap_is_never_taken_for_a_whole_one() -> None:
    # The vendor's cap is 100,000 rows, and so are both defaults; the run is at a cap of 10,000 on both sides (still
    # a result of many chunks), which proves the same rule at a tenth of the rows to parse.
    assert OoyalaSandbox().custom_row_cap == 100_000
    cap = 10_000
    app = OoyalaSandbox(custom_report_seconds=0.01, custom_report_rows=25_000, custom_row_cap=cap)  # cut at the cap
    with serve(app) as url:
        async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
            assert pulse.custom_reports.row_cap == 100_000
            pulse.custom_reports.row_cap = cap
            job = await pulse.custom_reports.run("big", DEFINITION)
            await job.wait(first=0.01)
            seen: list[dict[str, object]] = []

            async def read() -> None:
                async for row in job.rows():
                    seen.append(row)

            with pytest.raises(ReportTruncated) as caught:
                await read()
            assert len(seen) == cap
            assert isinstance(caught.value, IncompleteData)
            assert (caught.value.seen, caught.value.code) == (cap, "row-cap")
            assert job.truncated is True
            app.custom_report_rows = 10
            small = await pulse.custom_reports.run("fits", DEFINITION)
            assert len([row async for row in small.rows(allow_truncated=True)]) == 10
            assert small.truncated is False


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis-py's asyncio client
async def test_two_processes_share_the_two_slots_through_redis(redis_server: RedisServer) -> None:
    # The first runs never end until both slots are seen in use: that they can run at once is then a fact of the
    # run, not of how fast a loaded machine polls.
    app = OoyalaSandbox(custom_report_seconds=3600)
    stores = [RedisStore(redis_server.url, prefix="ooy17-custom:") for _ in range(2)]
    done: list[int] = []
    try:
        with serve(app) as url:
            async with (
                OoyalaPulse(api_key=KEY, base_url=url, store=stores[0]) as first,
                OoyalaPulse(api_key=KEY, base_url=url, store=stores[1]) as second,
            ):
                for pulse in (first, second):
                    pulse.custom_reports.slots.poll = 0.01

                async def one(pulse: OoyalaPulse, i: int) -> None:
                    assert len(await _run_and_read(pulse, f"report {i}")) == 10
                    done.append(i)

                async with anyio.create_task_group() as tg:
                    for i in range(6):
                        tg.start_soon(one, (first, second)[i % 2], i)
                    await until(lambda: app.most_running == 2)
                    app.custom_report_seconds = 0.0
    finally:
        for store in stores:
            await store.aclose()
    assert sorted(done) == list(range(6))
    assert app.violations == []  # neither the one-request rule nor the two-report cap was broken
    assert app.most_running == 2


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_dead_holders_shared_slots_lapse(redis_server: RedisServer) -> None:
    now = [1000.0]
    store = RedisStore(redis_server.url, prefix="ooy17-lapse:", time=lambda: now[0])
    try:
        dead = JobQuota(2, store=store, key="acct", hold=60.0)
        alive = JobQuota(2, store=store, key="acct", hold=60.0, poll=0.01)
        await dead.acquire()
        await dead.acquire()  # never finished: its process died
        asks: list[float] = []

        async def later() -> None:
            asks.append(now[0])
            if len(asks) == 3:
                now[0] += 61.0

        slot = await alive.acquire(on_wait=later)
        assert len(asks) == 3  # refused until the dead holder's slots lapsed
        await slot.finished()
        await slot.finished()  # idempotent
        assert alive.held(anyio.current_time()) == 0
    finally:
        await store.redis.delete(store.key("acct", "jobs"))
        await store.aclose()
