"""A window whose Ooyala Custom Reporting report reaches the vendor's row cap: split in two, and in two again where a
half still reaches it, every row committed once. Sandbox on a real socket, sync into DuckDB."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.sandbox.ooyala._custom import CustomRun
from adops_async.sync import verify

from .helpers import SPEED, adops, day, served

pytestmark = pytest.mark.anyio

CAP = 400
#: Rows per hour of a day: 10 an hour until noon, 40 an hour after. A day (600) and its second half (480) reach the
#: cap; its first half (120) and the quarters after noon (240 each) do not.
MORNING, AFTERNOON = 10, 40
CUSTOM = {"timeGranularity": "HOUR", "dimensions": ["category"], "metrics": ["impression"], "filters": []}


def hourly(day_: date, hour: int) -> int:
    return MORNING if hour < 12 else AFTERNOON


class HourlyCustomReports(OoyalaSandbox):
    """An Ooyala sandbox whose custom reports answer ``hourly`` rows for each hour of their time range."""

    def custom_rows(self, run: CustomRun) -> list[list[Any]]:
        definition = run.definition
        at = datetime.fromisoformat(definition["startDateTime"]).replace(tzinfo=None)
        end = datetime.fromisoformat(definition["endDateTime"]).replace(tzinfo=None)
        rows: list[list[Any]] = []
        while at < end:
            for n in range(hourly(at.date(), at.hour)):
                rows.append([f"{at:%Y-%m-%dT%H}", f"row {n}", 1000 + n])
            at += timedelta(hours=1)
        return rows


def expected(day_: date) -> int:
    return sum(hourly(day_, hour) for hour in range(24))


async def test_an_ooyala_day_over_the_row_cap_is_split_until_each_report_fits_and_lands_once(tmp_path: Path) -> None:
    target = tmp_path / "adops.duckdb"
    app = HourlyCustomReports(speed=SPEED, custom_report_seconds=2.0, custom_row_cap=CAP)
    with served(ooyala=app) as sandboxes:
        async with adops(sandboxes, "ooyala") as ops:
            ops.clients["ooyala"].custom_reports.row_cap = CAP  # type: ignore[attr-defined]
            result = await ops.sync(
                target, start=day(0), end=day(1), lookback=0, options={"ooyala": {"custom": CUSTOM}}
            )
        assert sandboxes.violations() == {}
    periods = sorted(
        (run.definition["startDateTime"][:16], run.definition["endDateTime"][:16]) for run in app.custom.values()
    )
    windows = sorted(result.windows, key=lambda r: r.window)
    assert [(w.window.start, w.status, w.attempts, w.spans, w.rows) for w in windows] == [
        (day(0), "complete", 1, 3, expected(day(0))),
        (day(1), "complete", 1, 3, expected(day(1))),
    ]
    # Per day: the whole day (capped), then its halves (the second capped), then the first half again and the
    # second's quarters: a split window restarts from its first span.
    assert periods == sorted(
        (f"{d}T{a}", f"{d + timedelta(days=e // 24)}T{e % 24:02d}:00")
        for d in (day(0), day(1))
        for a, e in [("00:00", 24), ("00:00", 12), ("12:00", 24), ("00:00", 12), ("12:00", 18), ("18:00", 24)]
    )
    with duckdb.connect(str(target), read_only=True) as db:
        assert db.sql("SELECT vendor, day, count(*) FROM delivery GROUP BY ALL ORDER BY day").fetchall() == [
            ("ooyala", day(0), expected(day(0))),
            ("ooyala", day(1), expected(day(1))),
        ]
        # Every (hour, row) of the day exactly once.
        assert db.sql("SELECT count(*), count(DISTINCT (adops_day, adops_extra)) FROM ooyala_raw").fetchall() == [
            (2 * expected(day(0)), 2 * expected(day(0)))
        ]
        states = db.sql("SELECT start, status, rows, report_ids, error FROM adops_windows ORDER BY start").fetchall()
    assert [(start, status, rows, error) for start, status, rows, _, error in states] == [
        (day(0), "complete", expected(day(0)), None),
        (day(1), "complete", expected(day(1)), None),
    ]
    assert [len(report_ids.split(",")) for *_, report_ids, _ in states] == [3, 3]
    assert verify(target) == []
