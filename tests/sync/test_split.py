"""A window whose report does not finish in time: split in two and pulled again where the vendor's report takes a
time range (Ooyala), failed at once with the reason where it takes days only (AppNexus). Sandboxes on real sockets."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from adops_async.sandbox._delivery import DeliveryFigures
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.sandbox.ooyala._json import ReportRun
from adops_async.sync import verify

from .helpers import SPEED, adops, day, expected_counts, served

pytestmark = pytest.mark.anyio


class _Runs(dict[str, ReportRun]):
    """The sandbox's report jobs: one asked for more than ``longest`` never finishes (it started at infinity)."""

    def __init__(self, app: LongReportsNeverFinish) -> None:
        super().__init__()
        self.app = app

    def __setitem__(self, key: str, run: ReportRun) -> None:
        if self.app.asked is not None and self.app.asked > self.app.longest:
            run.started = math.inf
            self.app.unfinished += 1
        super().__setitem__(key, run)


class LongReportsNeverFinish(OoyalaSandbox):
    """An Ooyala sandbox whose report jobs over a ``TIME_PERIOD`` longer than ``longest`` never finish, as a vendor's
    report too large for its time limit. (Its delivery rows are per day: the half from midnight to noon has none, the
    half from noon to midnight the whole day's.)"""

    def __init__(self, longest: timedelta, **options: Any) -> None:
        super().__init__(**options)
        self.longest = longest
        self.asked: timedelta | None = None
        self.unfinished = 0
        self.periods: list[tuple[str, str]] = []
        self.reports = _Runs(self)

    def _json_body(self, request: Any) -> Any:
        body = super()._json_body(request)
        periods = [f for f in (body or {}).get("filters") or () if f.get("type") == "TIME_PERIOD"]
        if periods:
            start, end = periods[0]["start"], periods[0]["end"]
            self.periods.append((start, end))
            self.asked = datetime.fromisoformat(end) - datetime.fromisoformat(start)
        return body


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return db.sql(sql).fetchall()


async def test_an_ooyala_day_whose_report_does_not_finish_is_pulled_as_two_halves_and_committed_once(
    tmp_path: Path,
) -> None:
    target = tmp_path / "adops.duckdb"
    slow = LongReportsNeverFinish(timedelta(hours=12), speed=SPEED, report_seconds=2.0)
    slow.delivery = DeliveryFigures("ooyala", rows=6)
    with served(ooyala=slow) as sandboxes:
        async with adops(sandboxes, "ooyala") as ops:
            result = await ops.sync(
                target, start=day(0), end=day(0), lookback=0, options={"ooyala": {"give_up_after": 30.0}}
            )
        expected = expected_counts(sandboxes, ("ooyala",), 0, 0)
        assert sandboxes.violations() == {}
    [window] = result.windows
    assert (window.status, window.attempts, window.spans) == ("complete", 1, 2)
    assert slow.unfinished == 1
    assert slow.periods == [
        ("2024-03-01T00:00:00", "2024-03-02T00:00:00"),
        ("2024-03-01T00:00:00", "2024-03-01T12:00:00"),
        ("2024-03-01T12:00:00", "2024-03-02T00:00:00"),
    ]
    assert query(target, "SELECT vendor, day, count(*) FROM delivery GROUP BY ALL") == [
        ("ooyala", day(0), expected[("ooyala", day(0))])
    ]
    [(status, rows, report_ids, error)] = query(target, "SELECT status, rows, report_ids, error FROM adops_windows")
    assert (status, rows, error) == ("complete", expected[("ooyala", day(0))], None)
    assert isinstance(report_ids, str)
    assert len(report_ids.split(",")) == 2  # the halves', not the unfinished one's
    assert verify(target) == []


async def test_an_ooyala_span_that_never_finishes_however_short_fails_the_window_and_commits_nothing(
    tmp_path: Path,
) -> None:
    target = tmp_path / "adops.duckdb"
    slow = LongReportsNeverFinish(timedelta(0), speed=SPEED, report_seconds=2.0)
    slow.delivery = DeliveryFigures("ooyala", rows=6)
    with served(ooyala=slow) as sandboxes:
        async with adops(sandboxes, "ooyala") as ops:
            result = await ops.sync(
                target, start=day(0), end=day(0), lookback=0, options={"ooyala": {"give_up_after": 30.0}}
            )
    [window] = result.windows
    # 24 h, then 12 h twice... each first half stalls: 24, 12, 6, 3 and 1.5 hours, the last is not split again.
    assert [end for _, end in slow.periods] == [
        "2024-03-02T00:00:00",
        "2024-03-01T12:00:00",
        "2024-03-01T06:00:00",
        "2024-03-01T03:00:00",
        "2024-03-01T01:30:00",
    ]
    assert (window.status, window.attempts, window.spans) == ("failed", 1, 5)
    assert window.error is not None
    assert "already split down to 2024-03-01 00:00..2024-03-01 01:30" in window.error
    assert query(target, "SELECT count(*) FROM delivery") == [(0,)]
    assert query(target, "SELECT status FROM adops_windows") == [("failed",)]


async def test_an_appnexus_day_whose_report_does_not_finish_fails_at_once_with_the_reason(tmp_path: Path) -> None:
    target = tmp_path / "adops.duckdb"
    with served() as sandboxes:
        sandboxes.apps["appnexus"].report_delay = 10_000.0  # type: ignore[attr-defined]
        async with adops(sandboxes, "appnexus") as ops:
            result = await ops.sync(
                target, start=day(0), end=day(0), lookback=0, options={"appnexus": {"give_up_after": 30.0}}
            )
        submitted = [r for r in sandboxes.apps["appnexus"].records if r.method == "POST" and r.path == "/report"]
    [window] = result.windows
    assert (window.status, window.attempts, window.spans) == ("failed", 1, 1)
    assert window.error is not None
    assert "a day is the shortest window appnexus reports are asked for" in window.error
    assert len(submitted) == 1  # not asked again: the same day's report would not finish either
    assert query(target, "SELECT status, error IS NOT NULL FROM adops_windows") == [("failed", True)]
