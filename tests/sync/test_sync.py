"""``AdOps.sync`` into DuckDB and Parquet against the sync sandboxes on real sockets, judged by SQL over the result.

The 30-day backfill killed with ``kill -9`` and run again is in ``test_cli.py`` (the ``adops sync`` command).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adops_async.sandbox import Fault
from adops_async.sync import plan, verify
from adops_async.sync._model import WindowState

from .helpers import VENDORS, adops, day, expected_counts, expected_impressions, served

pytestmark = pytest.mark.anyio

HTML = b"<html><body>Service temporarily unavailable</body></html>"


def counts(path: Path) -> dict[tuple[str, object], int]:
    with duckdb.connect(str(path), read_only=True) as db:
        rows = db.sql("SELECT vendor, day, count(*) FROM delivery GROUP BY ALL").fetchall()
    return {(vendor, when): count for vendor, when, count in rows}


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return db.sql(sql).fetchall()


async def test_a_backfill_lands_each_vendor_day_once_with_the_sandboxes_rows(tmp_path: Path) -> None:
    target = tmp_path / "adops.duckdb"
    with served() as sandboxes:
        async with adops(sandboxes) as ops:
            result = await ops.sync(target, start=day(0), end=day(9), lookback=0)
        assert sandboxes.violations() == {}
        expected = expected_counts(sandboxes, VENDORS, 0, 9)
        impressions = {v: sum(expected_impressions(sandboxes, v, n) for n in range(10)) for v in VENDORS}
    assert result.ok
    assert len(result.windows) == 30
    assert counts(target) == expected  # every (vendor, day) once, with exactly the sandbox's rows
    # No row twice: each vendor's key of a row (its line item or creative) is unique within a day.
    assert query(
        target,
        "SELECT count(*) FROM (SELECT vendor, day, coalesce(line_item_id, creative_id) AS k FROM delivery "
        "GROUP BY ALL HAVING count(*) > 1)",
    ) == [(0,)]
    assert dict(query(target, "SELECT vendor, sum(impressions) FROM delivery GROUP BY vendor")) == impressions
    states = query(target, 'SELECT vendor, start, "end" - start, status, rows FROM adops_windows ORDER BY ALL')
    assert [(v, s, r) for v, s, _, _, r in states] == sorted((v, d, c) for (v, d), c in expected.items())
    assert {(span, status) for _, _, span, status, _ in states} == {(1, "complete")}
    assert verify(target) == []


async def test_a_lookback_rerun_replaces_the_revised_days_and_leaves_the_others(tmp_path: Path) -> None:
    target = tmp_path / "adops.duckdb"
    with served() as sandboxes:
        async with adops(sandboxes) as ops:
            await ops.sync(target, start=day(0), end=day(9), lookback=0)
            before = {(v, n): expected_impressions(sandboxes, v, n) for v in VENDORS for n in range(10)}
            for vendor in VENDORS:
                for n in (2, 7, 8, 9):  # day 2 settles too, but lies outside the lookback: it is not pulled
                    sandboxes.figures(vendor).revise(day(n))
            again = await ops.sync(target, end=day(9), lookback=3)
        after = {(v, n): expected_impressions(sandboxes, v, n) for v in VENDORS for n in range(10)}
        expected = expected_counts(sandboxes, VENDORS, 0, 9)
    assert sorted((r.window.vendor, r.window.start) for r in again.windows) == sorted(
        (v, day(n)) for v in VENDORS for n in (7, 8, 9)
    )
    stored = {
        (vendor, (when - day(0)).days): total
        for vendor, when, total in query(target, "SELECT vendor, day, sum(impressions) FROM delivery GROUP BY ALL")
    }
    for vendor in VENDORS:
        for n in range(10):
            assert before[(vendor, n)] != after[(vendor, n)] or n not in (2, 7, 8, 9)
            assert stored[(vendor, n)] == (after if n >= 7 else before)[(vendor, n)], (vendor, n)
    revised = {k: c for k, c in expected.items() if (k[1] - day(0)).days >= 7}
    assert {k: c for k, c in counts(target).items() if (k[1] - day(0)).days >= 7} == revised
    assert verify(target) == []


async def test_a_download_cut_every_time_fails_the_window_commits_nothing_and_the_next_run_lands_it(
    tmp_path: Path,
) -> None:
    target = tmp_path / "adops.duckdb"
    with served() as sandboxes:
        async with adops(sandboxes, "appnexus") as ops:
            await ops.sync(target, start=day(0), end=day(0), lookback=0)
            old = query(target, "SELECT * FROM delivery ORDER BY ALL")
            sandboxes.figures("appnexus").revise(day(0))
            sandboxes.apps["appnexus"].inject(Fault("cut", path="/report-download", fraction=0.6, count=99))
            refresh = await ops.sync(target, end=day(1), lookback=2, attempts=2)
            assert [(str(r.window), r.status, r.attempts) for r in refresh.failed] == [
                ("appnexus 2024-03-01", "failed", 2),
                ("appnexus 2024-03-02", "failed", 2),
            ]
            # Day 0 keeps its older complete rows (and says why its refresh failed); day 1 has none at all.
            assert query(target, "SELECT * FROM delivery ORDER BY ALL") == old
            states = query(target, "SELECT start, status, attempts, error IS NOT NULL FROM adops_windows ORDER BY 1")
            assert states == [(day(0), "complete", 2, True), (day(1), "failed", 2, True)]
            assert [p.kind for p in verify(target)] == ["failed"]
            sandboxes.apps["appnexus"].faults.clear()
            healed = await ops.sync(target, end=day(1), lookback=0)
        expected = expected_counts(sandboxes, ("appnexus",), 0, 1)
        new_total = expected_impressions(sandboxes, "appnexus", 1)
    assert [str(r.window) for r in healed.windows] == ["appnexus 2024-03-02"]  # the failed one, not the complete
    assert counts(target)[("appnexus", day(1))] == expected[("appnexus", day(1))]
    assert query(target, f"SELECT sum(impressions) FROM delivery WHERE day = '{day(1)}'") == [(new_total,)]
    assert verify(target) == []


@pytest.mark.parametrize(("vendor", "path"), [("appnexus", "/report-download"), ("adnuntius", "/api/v1/stats")])
async def test_an_html_page_instead_of_the_report_fails_the_attempt_and_the_retry_lands(
    vendor: str, path: str, tmp_path: Path
) -> None:
    target = tmp_path / "adops.duckdb"
    page = Fault("status", status=200, body=HTML, headers={"content-type": "text/html"}, path=path)
    with served() as sandboxes:
        sandboxes.apps[vendor].inject(page)
        async with adops(sandboxes, vendor) as ops:
            result = await ops.sync(target, start=day(0), end=day(0), lookback=0)
        expected = expected_counts(sandboxes, (vendor,), 0, 0)
    [window] = result.windows
    assert (window.status, window.attempts, window.rows) == ("complete", 2, expected[(vendor, day(0))])
    assert counts(target) == expected
    assert query(target, "SELECT attempts, error FROM adops_windows") == [(2, None)]


async def test_parquet_lands_the_same_rows_replaces_revised_days_and_verifies(tmp_path: Path) -> None:
    target = tmp_path / "lake"
    with served() as sandboxes:
        async with adops(sandboxes) as ops:
            await ops.sync(target, start=day(0), end=day(4), lookback=0)
            for vendor in VENDORS:
                sandboxes.figures(vendor).revise(day(4))
            sandboxes.apps["appnexus"].inject(Fault("cut", path="/report-download", fraction=0.5, count=99))
            rerun = await ops.sync(target, end=day(4), lookback=1, attempts=1)
        expected = expected_counts(sandboxes, VENDORS, 0, 4)
        new = {v: expected_impressions(sandboxes, v, 4) for v in VENDORS if v != "appnexus"}
    assert [str(r.window) for r in rerun.failed] == ["appnexus 2024-03-05"]
    lake = f"read_parquet('{target}/delivery/**/*.parquet', hive_partitioning = true)"
    found = {(v, d): c for v, d, c in duckdb.sql(f"SELECT vendor, day, count(*) FROM {lake} GROUP BY ALL").fetchall()}
    assert {k: c for k, c in found.items() if k[0] != "appnexus" or k[1] != day(4)} == {
        k: c for k, c in expected.items() if k[0] != "appnexus" or k[1] != day(4)
    }
    totals = duckdb.sql(f"SELECT vendor, sum(impressions) FROM {lake} WHERE day = '{day(4)}' GROUP BY ALL").fetchall()
    assert {v: t for v, t in totals if v != "appnexus"} == new
    windows = duckdb.sql(f"SELECT count(*), count(DISTINCT (vendor, start)) FROM '{target}/adops_windows/*.parquet'")
    assert windows.fetchall() == [(15, 15)]
    assert [p.kind for p in verify(target)] == []  # the failed refresh left appnexus' older day whole and recorded
    assert not any((target / ".staging").iterdir())


async def test_verify_finds_missing_rows_tampered_raw_rows_and_gaps(tmp_path: Path) -> None:
    target = tmp_path / "adops.duckdb"
    with served() as sandboxes:
        async with adops(sandboxes, "ooyala") as ops:
            await ops.sync(target, start=day(0), end=day(3), lookback=0)
    with duckdb.connect(str(target)) as db:
        db.execute("DELETE FROM delivery WHERE rowid IN (SELECT min(rowid) FROM delivery WHERE day = ?)", [day(0)])
        db.execute("UPDATE ooyala_raw SET \"Impressions\" = '1' WHERE adops_day = ? AND adops_row = 0", [day(1)])
        db.execute("DELETE FROM adops_windows WHERE start = ?", [day(2)])
    assert [(p.start, p.kind) for p in verify(target)] == [
        (day(0), "rows"),
        (day(1), "checksum"),
        (day(2), "gap"),
        (day(2), "unrecorded"),
    ]


def test_plan_pulls_missing_days_and_the_lookback_and_nothing_else() -> None:
    def state(n: int, status: str = "complete") -> WindowState:
        return WindowState("appnexus", day(n), day(n + 1), status)

    stored = [state(0), state(1, "failed"), state(2), state(3, "pending"), state(4), state(5), state(6)]
    pulled = [(w.start - day(0)).days for w in plan("appnexus", stored, start=None, end=day(7), lookback=3)]
    assert pulled == [1, 3, 5, 6, 7]
    assert [(w.start - day(0)).days for w in plan("appnexus", stored, start=day(5), end=day(6), lookback=0)] == []
    assert [(w.start - day(0)).days for w in plan("ooyala", stored, start=None, end=day(7), lookback=2)] == [6, 7]


async def test_a_run_stopped_after_its_first_window_leaves_the_rest_pending_and_the_next_run_pulls_them(
    tmp_path: Path,
) -> None:
    target = tmp_path / "adops.duckdb"

    class Stop(Exception):
        pass

    def stop(result: object) -> None:
        raise Stop

    with served() as sandboxes:
        async with adops(sandboxes, "adnuntius") as ops:
            with pytest.raises(Stop):
                await ops.sync(target, start=day(0), end=day(4), lookback=0, concurrency=1, progress=stop)
        problems = verify(target)
        assert [p.kind for p in problems] == ["pending"] * 4  # not "all good": the run never reached them
        # A new client: the stopped one holds its gate slot for the cancelled request's timeout (the vendor may still
        # be answering it), as a new process would not.
        async with adops(sandboxes, "adnuntius") as ops:
            resumed = await ops.sync(target, end=day(4), lookback=0)
        expected = expected_counts(sandboxes, ("adnuntius",), 0, 4)
    assert sorted(r.window.start for r in resumed.windows) == sorted(p.start for p in problems)
    assert counts(target) == expected
    assert verify(target) == []
