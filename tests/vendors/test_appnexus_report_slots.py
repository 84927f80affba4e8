"""The AppNexus report throttle (a user's report is refused while 5 of the reports the user submitted in the last 15
minutes are pending or processing), in the sandbox and as a client-side job quota (adops_async/core/jobs.py JobQuota).

What a test says about the vendor is judged by the sandbox's records (its violations and its own count of pending
reports); the job quota (core/jobs.py JobQuota) itself is tested in virtual time.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import anyio
import httpx
import pytest

from adops_async import GateWaitTooLong, QuotaExceeded, RedisStore, ScaledClock
from adops_async.core.clock import VirtualClock
from adops_async.core.jobs import JobQuota
from adops_async.sandbox import serve
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.vendors.appnexus import AppNexus, AppNexusReportJob

from ..redis_server import RedisServer
from ..sandboxes import real_time_retry

pytestmark = pytest.mark.anyio

COLUMNS = ["day", "imps"]
SPEC: dict[str, Any] = {"report_type": "network_analytics", "columns": COLUMNS, "report_interval": "yesterday"}


def client(url: str, **options: Any) -> AppNexus:
    options.setdefault("retry", real_time_retry(options.get("clock")))
    return AppNexus(username="api-user", password="secret", base_url=url, **options)


async def _run_reports(an: AppNexus, count: int, rows: list[int]) -> None:
    async def one() -> None:
        job = await an.reports.run(**SPEC)
        assert isinstance(job, AppNexusReportJob)
        rows.append(len([row async for row in job.rows()]))

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)


# -- end to end -------------------------------------------------------------------------------------------------


async def test_20_concurrent_reports_all_complete_with_at_most_5_pending() -> None:
    app = AppNexusSandbox(speed=600, report_delay=120, report_rows=10)
    with serve(app) as url:
        async with client(url, clock=ScaledClock(600)) as an:
            rows: list[int] = []
            await _run_reports(an, 20, rows)
            assert an.report_slots.held(an.clock.now()) == 0  # every job gave its place back
            assert an.report_slots.waits == 15  # the first 5 went at once, the others waited for a place
    assert rows == [10] * 20
    assert app.violations == []
    posts = [r for r in app.records if r.method == "POST" and r.path == "/report"]
    assert [r.status for r in posts] == [200] * 20
    assert len(app.reports) == 20
    assert list(app.peak_reports_pending) == ["api-user"]
    assert app.peak_reports_pending["api-user"] <= 5  # as the API counts them


async def test_clients_of_one_user_share_the_report_slots_through_redis(
    anyio_backend: str, redis_server: RedisServer
) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("redis-py's asyncio client runs on asyncio only")
    app = AppNexusSandbox(speed=600, report_delay=120, report_rows=3)
    store = RedisStore(redis_server.url, prefix=f"test-report-slots:{uuid.uuid4().hex}:")
    try:
        with serve(app) as url:
            async with (
                client(url, clock=ScaledClock(600), store=store) as first,
                client(url, clock=ScaledClock(600), store=store) as second,
            ):
                rows: list[int] = []
                async with anyio.create_task_group() as group:
                    group.start_soon(_run_reports, first, 8, rows)
                    group.start_soon(_run_reports, second, 8, rows)
    finally:
        await store.aclose()
    assert rows == [3] * 16
    assert app.violations == []
    assert app.peak_reports_pending["api-user"] <= 5
    assert first.report_slots.waits + second.report_slots.waits >= 11  # 16 reports, 5 places


# -- the sandbox refuses as the report-service page says ---------------------------------------------------------


async def test_the_sandbox_refuses_a_users_6th_pending_report_and_counts_only_15_minutes() -> None:
    app = AppNexusSandbox(report_delay=10_000)  # nothing gets ready during the test
    app.users["other"] = app.users["api-user"]
    with serve(app) as url:
        async with httpx.AsyncClient(base_url=url) as http:

            async def login(name: str) -> str:
                answer = await http.post("/auth", json={"auth": {"username": name, "password": "secret"}})
                return str(answer.json()["response"]["token"])

            token, other = await login("api-user"), await login("other")

            async def submit(as_token: str) -> httpx.Response:
                return await http.post("/report", json={"report": SPEC}, headers={"authorization": as_token})

            accepted = [await submit(token) for _ in range(5)]
            assert all(a.json()["response"]["status"] == "OK" for a in accepted)
            refused = await submit(token)
            assert refused.status_code == 400
            assert refused.json()["response"]["error_id"] == "LIMIT"
            assert (await submit(other)).json()["response"]["status"] == "OK"  # the throttle is per user
            # A report submitted more than 15 minutes ago no longer counts, even if still pending.
            first = accepted[0].json()["response"]["report_id"]
            app.reports[first]["created"] -= 900
            assert (await submit(token)).json()["response"]["status"] == "OK"
    assert [v.rule for v in app.violations] == ["report-throttle"]
    assert app.violations[0].account == "api-user"


async def test_the_original_client_meets_the_throttle_the_slots_avoid() -> None:
    """Without slots (a rule of 100 places) the 6th concurrent report is refused: the sandbox does refuse."""
    app = AppNexusSandbox(speed=600, report_delay=600, report_rows=1)
    with serve(app) as url:
        async with client(url, clock=ScaledClock(600), report_slots=JobQuota(100)) as an:
            outcomes: list[BaseException | None] = []

            async def one() -> None:
                try:
                    await an.reports.run(**SPEC)
                except QuotaExceeded as exc:
                    outcomes.append(exc)
                else:
                    outcomes.append(None)

            async with anyio.create_task_group() as group:
                for _ in range(6):
                    group.start_soon(one)
    refused = [exc for exc in outcomes if exc is not None]
    assert len(refused) == 1
    assert "pending or processing" in str(refused[0])
    assert [v.rule for v in app.violations] == ["report-throttle"]


async def test_a_refused_submit_gives_its_slot_back() -> None:
    app = AppNexusSandbox(speed=600, report_delay=30, report_rows=1, user_reports=0)  # the API refuses every report
    with serve(app) as url:
        async with client(url, clock=ScaledClock(600)) as an:
            with pytest.raises(QuotaExceeded):
                await an.reports.run(**SPEC)
            assert an.report_slots.held(an.clock.now()) == 0  # no report exists: its place is free again


async def test_the_member_queue_delays_reports_beyond_its_cap() -> None:
    app = AppNexusSandbox(speed=600, report_delay=30, report_rows=2, member_reports=2)
    with serve(app) as url:
        async with client(url, clock=ScaledClock(600)) as an:
            rows: list[int] = []
            await _run_reports(an, 5, rows)
    assert rows == [2] * 5
    starts = sorted(r["start"] for r in app.reports.values())
    created = sorted(r["created"] for r in app.reports.values())
    assert starts[2] >= created[0] + 30  # the third waited in the member's queue for the first to be ready
    assert app.violations == []


# -- the job quota (core/jobs.py JobQuota), in virtual time ---------------------------------------------------


async def test_job_quota_hold_at_most_limit_and_free_on_finish_or_window() -> None:
    async with VirtualClock().running() as clock:
        slots = JobQuota(2, window=900)
        a, b = await slots.acquire(clock), await slots.acquire(clock)
        await a.started()
        await b.started()
        got: list[float] = []

        async def third() -> None:
            await slots.acquire(clock)
            got.append(clock.now())

        async with anyio.create_task_group() as group:
            group.start_soon(third)
            await clock.advance(100)
            assert got == []
            await a.finished()  # a job that ended frees its place at once
        assert got == [100]
        # b never finishes: it stops counting 900 s after it started.
        await slots.acquire(clock)
        assert clock.now() == 900
        assert slots.held(clock.now()) == 2
        assert slots.peak == 2


async def test_started_mode_counts_a_finished_job_for_its_whole_window() -> None:
    async with VirtualClock().running() as clock:
        slots = JobQuota(1, window=60, mode="started")
        slot = await slots.acquire(clock)
        await slot.started()
        await slot.finished()  # still counted: the rule is "1 started per 60 s"
        never = await slots.acquire(clock)
        assert clock.now() == 60
        await never.finished()  # a job that never started (the vendor refused it) frees its place at once
        assert slots.held(clock.now()) == 0


async def test_a_slot_wait_never_passes_its_deadline() -> None:
    async with VirtualClock().running() as clock:
        slots = JobQuota(1, window=60, mode="started")
        slot = await slots.acquire(clock)
        await slot.started()
        with pytest.raises(GateWaitTooLong) as raised:  # the place opens at 60, after the deadline: at once
            await slots.acquire(clock, deadline=10)
        assert clock.now() == 0
        assert raised.value.retry_after == 60
        running = JobQuota(1)
        await running.acquire(clock)
        with pytest.raises(GateWaitTooLong):  # it could be finished any moment: wait, until the deadline
            await running.acquire(clock, deadline=10)
        assert clock.now() == 10
        assert running.held(clock.now()) == 1


def test_job_quota_refuse_rules_they_cannot_keep() -> None:
    with pytest.raises(ValueError, match="limit"):
        JobQuota(0)
    with pytest.raises(ValueError, match="window"):
        JobQuota(2, mode="started")
    with pytest.raises(ValueError, match="window"):
        JobQuota(2, window=math.inf)


async def test_a_shared_job_quota_hold_across_stores_and_wake_on_release(
    anyio_backend: str, redis_server: RedisServer
) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("redis-py's asyncio client runs on asyncio only")
    prefix = f"test-job-slots:{uuid.uuid4().hex}:"
    one, two = RedisStore(redis_server.url, prefix=prefix), RedisStore(redis_server.url, prefix=prefix)
    try:
        here, there = JobQuota(2, window=900, store=one, key="user"), JobQuota(2, window=900, store=two, key="user")
        held = [await here.acquire(), await there.acquire()]
        for slot in held:
            await slot.started()
        with pytest.raises(GateWaitTooLong):  # both places are taken, by two "processes"
            await there.acquire(deadline=anyio.current_time() + 0.05)
        freed = anyio.Event()

        async def waiter() -> None:
            await there.acquire()
            freed.set()

        async with anyio.create_task_group() as group:
            group.start_soon(waiter)
            await held[0].finished()  # published: the waiter in the other store takes the place
            with anyio.fail_after(5):  # long before the slot's own expiry (900 s): the release woke it
                await freed.wait()
    finally:
        await one.aclose()
        await two.aclose()
