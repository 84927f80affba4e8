"""Ooyala Pulse end to end on a real socket, judged by what the sandbox recorded: the one-request rule under 300
concurrent tasks, the legacy session (Set-Cookie renewal, one re-login on expiry), and a 100,000-row report."""

from __future__ import annotations

import anyio
import pytest

from adops_async.sandbox import serve
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.ooyala import OoyalaPulse

pytestmark = pytest.mark.anyio

KEY = "sandbox-key"
TASKS = 300
LATENCY = 0.004
"""Real seconds each sandbox request takes: the wire time a real Pulse call spends in the server."""


async def test_300_tasks_never_overlap_and_each_finishes() -> None:
    # How busy the line stays (requests per round trip) is a wall-clock figure: benchmarks/ooyala_serial.py.
    app = OoyalaSandbox(report_seconds=0.02, latency=LATENCY)
    with serve(app) as url:
        async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
            ids = [(await pulse.campaigns.create({"name": f"c{i}", "priority": 5})).id or "" for i in range(10)]
            definition = (await pulse.reports.definitions())[0].id
            done: list[int] = []
            report_rows: list[int] = []

            async def work(i: int) -> None:
                if i % 20 == 0:
                    job = await pulse.reports.run(definition, [{"type": "CAMPAIGN", "id": ids[i % 10]}])
                    await job.wait(first=0.005, longest=0.02)
                    report_rows.append(len([row async for row in job.rows()]))
                elif i % 3 == 0:
                    await pulse.campaigns.update(ids[i % 10], {"description": f"task {i}"})
                else:
                    await pulse.campaigns.get(ids[i % 10])
                done.append(i)

            async with anyio.create_task_group() as tg:
                for i in range(TASKS):
                    tg.start_soon(work, i)
    assert app.violations == []  # the sandbox records every request that overlapped another
    assert sorted(done) == list(range(TASKS))
    assert report_rows == [10] * (TASKS // 20)
    assert app.count("GET", "/api/2.0/report/job/") >= TASKS // 20  # the polls went through the same gate
    for campaign in app.beans["campaign"].values():  # every update kept the fields it did not name
        assert campaign["priority"] == "5"
        assert campaign["name"].startswith("c")


async def test_legacy_session_follows_set_cookie_and_logs_in_again_once() -> None:
    app = OoyalaSandbox(renew_after=0.0)  # every response renews the token
    with serve(app) as url:
        async with OoyalaPulse(username="sandbox", password="sandbox-password", base_url=url) as pulse:
            for _ in range(5):
                await pulse.campaigns.list().collect()
            assert app.logins == 1
            assert app.renewals == 5
            issued = list(app.tokens)
            assert app.tokens_seen == issued[:5]  # each call carried the token the previous response set
            app.expire_tokens()
            async with anyio.create_task_group() as tg:
                for _ in range(30):
                    tg.start_soon(pulse.campaigns.list().collect)
            assert app.logins == 2
            assert pulse.session is not None
            assert pulse.session.logins == 2
            assert app.count(path="/login_process") == 2
    assert app.violations == []


async def test_legacy_token_in_a_plain_header() -> None:
    app = OoyalaSandbox(cookie=False, renew_after=None)
    with serve(app) as url:
        async with OoyalaPulse(username="sandbox", password="sandbox-password", base_url=url) as pulse:
            assert await pulse.campaigns.list().collect() == []
    assert app.logins == 1
    assert len(app.tokens_seen) == 1


async def test_a_100k_row_report_streams_through_rows() -> None:
    app = OoyalaSandbox(report_seconds=0.01, report_rows=100_000)
    with serve(app) as url:
        async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
            job = await pulse.reports.run("56de9277498ed663342784c7")
            count = 0
            last: dict[str, object] = {}
            async for row in job.rows():
                count += 1
                last = row
    assert count == 100_000
    assert last == {"Ad": "ad-99999", "Impressions": 100_999, "Click-throughs": 99_999 % 97,
                    "CTR": round((99_999 % 97) / 100_999, 4), "Completion_rate": 0.5}  # fmt: skip
    assert app.violations == []
