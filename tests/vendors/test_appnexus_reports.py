"""AppNexus reports against the sandbox: submit, poll pending -> ready, stream CSV rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from adops_async import ScaledClock
from adops_async.sandbox import serve
from adops_async.sandbox.appnexus import AppNexusSandbox, report_cell
from adops_async.vendors.appnexus import AppNexus, ReportFailed

from ..sandboxes import real_time_retry

pytestmark = pytest.mark.anyio

COLUMNS = ["day", "advertiser_id", "imps", "clicks"]


def client(url: str, clock: ScaledClock) -> AppNexus:
    return AppNexus(username="api-user", password="secret", base_url=url, clock=clock, retry=real_time_retry(clock))


@pytest.mark.parametrize(("stacked", "rows"), [(False, 100_000), (True, 1_000)])
async def test_report_goes_pending_then_ready_and_streams_its_rows(stacked: bool, rows: int, tmp_path: Path) -> None:
    app = AppNexusSandbox(speed=60, report_delay=20, report_rows=rows, stacked_reports=stacked)
    with serve(app) as url:
        async with client(url, ScaledClock(60)) as an:
            job = await an.reports.run(report_type="network_analytics", columns=COLUMNS, report_interval="yesterday")
            assert job.status == "ready"
            count = 0
            async for row in job.rows():
                assert row == {column: report_cell(column, count) for column in COLUMNS}
                count += 1
            assert count == rows
            if stacked:  # save() writes row by row through a worker thread: keep it to the small report
                assert await job.save(tmp_path / "report.csv") == rows
    polls = app.count("GET", "/report")
    assert polls >= 3  # at least two pending answers before ready (20 vendor s, polls from 2 s with backoff)
    assert app.count("GET", "/report-download") == (2 if stacked else 1)
    assert app.violations == []


async def test_a_failed_report_raises_instead_of_polling_for_15_minutes() -> None:
    app = AppNexusSandbox(speed=60, report_delay=5)
    app.failed_reports = True
    with serve(app) as url:
        async with client(url, ScaledClock(60)) as an:
            with pytest.raises(ReportFailed, match="error"):
                await an.reports.run(report_type="network_analytics", columns=COLUMNS, report_interval="yesterday")
            with pytest.raises(ValueError, match="report_interval or start_date"):
                await an.reports.submit(report_type="network_analytics", columns=COLUMNS)


async def test_a_large_report_is_fetched_page_by_page_behind_one_iterator() -> None:
    app = AppNexusSandbox(speed=600, report_delay=5, report_rows=2_500)
    orders = [{"order_by": "day", "direction": "ASC"}, {"order_by": "advertiser_id", "direction": "ASC"}]
    with serve(app) as url:
        async with client(url, ScaledClock(600)) as an:
            with pytest.raises(ValueError, match="orders"):
                await an.reports.run(
                    report_type="network_analytics", columns=COLUMNS, report_interval="today", page_rows=10
                )
            job = await an.reports.run(
                report_type="network_analytics",
                columns=COLUMNS,
                report_interval="today",
                orders=orders,
                page_rows=1_000,
            )
            rows = [row async for row in job.rows()]
    assert rows == [{column: report_cell(column, n) for column in COLUMNS} for n in range(2_500)]
    submitted = [r for r in app.records if r.method == "POST" and r.path == "/report"]
    assert len(submitted) == 3  # offsets 0, 1,000, 2,000; the third page comes back short
    assert [report["spec"]["offset"] for report in app.reports.values()] == [0, 1_000, 2_000]
    assert app.violations == []
