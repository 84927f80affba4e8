"""Windows under the vendors' report budgets: as many AppNexus windows at once as its 5-pending rule allows, and 20 at
once with no report refused by the sandbox's throttle (AppNexus sandbox on a real socket, throttle enforced)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adops_async.sync import verify

from .helpers import adops, day, expected_counts, served

pytestmark = pytest.mark.anyio

WINDOWS = 20


def counts(path: Path) -> dict[tuple[str, object], int]:
    with duckdb.connect(str(path), read_only=True) as db:
        rows = db.sql("SELECT vendor, day, count(*) FROM delivery GROUP BY ALL").fetchall()
    return {(vendor, when): count for vendor, when, count in rows}


@pytest.mark.parametrize("concurrency", [None, WINDOWS])
async def test_appnexus_windows_fill_the_report_budget_and_no_report_is_refused(
    concurrency: int | None, tmp_path: Path
) -> None:
    target = tmp_path / "adops.duckdb"
    with served() as sandboxes:
        app = sandboxes.apps["appnexus"]
        # A report stays pending 40 vendor seconds (0.2 s here): windows that may run at once do overlap.
        app.report_delay = 40.0  # type: ignore[attr-defined]
        async with adops(sandboxes, "appnexus") as ops:
            result = await ops.sync(target, start=day(0), end=day(WINDOWS - 1), lookback=0, concurrency=concurrency)
        expected = expected_counts(sandboxes, ("appnexus",), 0, WINDOWS - 1)
        assert sandboxes.violations() == {}  # no report-throttle refusal, nor any other rule broken
        # Default concurrency is the budget (5 pending): it is filled, never exceeded, also with 20 windows at once.
        assert app.peak_reports_pending == {"api-user": 5}  # type: ignore[attr-defined]
        submitted = [r for r in app.records if r.method == "POST" and r.path == "/report"]
    assert result.ok
    assert len(result.windows) == len(submitted) == WINDOWS
    assert counts(target) == expected
    assert verify(target) == []
