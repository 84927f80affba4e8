"""A window of more rows than one staged or stored Parquet file holds (``FILE_ROWS``): written as several files, loaded
whole and in report order. Batches and files made tiny so a few rows span several; sandboxes on real sockets."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adops_async.sync import _batches, _duckdb, _run, verify

from .helpers import adops, day, expected_counts, served

pytestmark = pytest.mark.anyio

ROWS = 20  # a day has 10 to 20 rows: 3 files of 4 rows at least


@pytest.fixture
def tiny_files(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Batches of 2 rows, a file per 4; the number of files each DuckDB window staged, per table."""
    monkeypatch.setattr(_run, "BATCH_ROWS", 2)
    monkeypatch.setattr(_batches, "FILE_ROWS", 4)
    staged: list[int] = []
    commit = _duckdb._DuckDBLoad.commit

    def counting(load: _duckdb._DuckDBLoad, state: _duckdb.WindowState) -> None:
        staged.extend(len(writer.files) for writer in load._writers.values())
        commit(load, state)

    monkeypatch.setattr(_duckdb._DuckDBLoad, "commit", counting)
    return staged


@pytest.mark.parametrize("name", ["adops.duckdb", "lake"])
async def test_a_window_of_several_files_lands_whole_and_in_order(
    tmp_path: Path, tiny_files: list[int], name: str
) -> None:
    target = tmp_path / name
    with served(rows=ROWS) as sandboxes:
        async with adops(sandboxes, "appnexus") as ops:
            result = await ops.sync(target, start=day(0), end=day(1), lookback=0)
        expected = expected_counts(sandboxes, ("appnexus",), 0, 1)
    assert result.ok
    if name == "lake":
        parts = [sorted(p.name for p in (target / "appnexus_raw" / f"adops_day={day(n)}").iterdir()) for n in (0, 1)]
        assert [files[:2] for files in parts] == [["part-00000.parquet", "part-00001.parquet"]] * 2
        assert [len(files) for files in parts] == [-(-expected[("appnexus", day(n))] // 4) for n in (0, 1)]
        lake = f"read_parquet('{target}/delivery/**/*.parquet', hive_partitioning = true)"
        found = duckdb.sql(f"SELECT vendor, day::DATE, count(*) FROM {lake} GROUP BY ALL").fetchall()
    else:
        assert sorted(tiny_files) == sorted(-(-c // 4) for c in expected.values() for _ in ("delivery", "raw"))
        with duckdb.connect(str(target), read_only=True) as db:
            found = db.sql("SELECT vendor, day, count(*) FROM delivery GROUP BY ALL").fetchall()
    assert {(vendor, when): count for vendor, when, count in found} == expected
    assert verify(target) == []  # the raw rows, read back file by file, hash to the pull's checksum (their order)
