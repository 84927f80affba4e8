"""A day of 2,000,000 AppNexus rows synced into DuckDB and into Parquet: rows/s and peak RSS, each in a fresh process.

The AppNexus sandbox runs in its own process and serves a generated ``network_analytics`` report of
``ADOPS_BENCH_SYNC_ROWS`` rows (default 2,000,000) for one day, and of a tenth as many for another, over a real
socket. Variants, each in its own process:

* ``read_csv``: DuckDB's own ``read_csv`` of the same CSV bytes from a local file into a table: the near-limit
  baseline (no network, no checks, DuckDB's parallel C++ parser), at both sizes;
* ``save_jsonl``: today's ``job.save(path, "jsonl")`` of the same report (submit, poll, download, parse, write), at
  the tenth (its rows/s do not depend on the size; at the full size it added 40 s to the run);
* ``sync_duckdb`` / ``sync_parquet``: ``AdOps.sync`` of that day into a ``.duckdb`` file / a Parquet tree (submit,
  poll, download, checks, normalized + raw rows, checksum, one atomic commit), at the tenth and the full size;
* ``idle``: the client with the same imports, logged in, pulling nothing: the RSS the others are measured against.

Rows/s are compared with ``read_csv`` at the same size, and the syncs with ``save()`` at the tenth. Peak RSS is
each process's own ``ru_maxrss``: flat means the full size peaks about where the tenth does.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROWS = int(os.environ.get("ADOPS_BENCH_SYNC_ROWS", "2000000"))
SPEED = 600.0
BIG, SMALL = date(2024, 1, 2), date(2024, 1, 1)

SERVER = """
import functools, sys, time
from adops_async.sandbox import serve
from adops_async.sandbox.appnexus import AppNexusSandbox, report_cell

big, small = int(sys.argv[1]), int(sys.argv[1]) // 10
SIZES = {"2024-01-02": big, "2024-01-01": small}


@functools.lru_cache(maxsize=2)
def generated(day, columns, rows):
    def cell(column, n):
        if column == "day":
            return day
        if column == "booked_revenue":
            return f"{n % 997 * 0.013:.3f}"
        return report_cell(column, n)

    return "\\n".join([",".join(columns), *(",".join(cell(c, n) for c in columns) for n in range(rows))]) + "\\n"


class Generated(AppNexusSandbox):
    # The report's rows are dated inside its window (the sync refuses any other), generated once per day and size.
    def _submit(self, request, session):
        self.report_rows = SIZES.get((request.json() or {}).get("report", {}).get("start_date"), 10)
        return super()._submit(request, session)

    @staticmethod
    def _csv(report):
        spec = report["spec"]
        return generated(spec["start_date"], tuple(spec["columns"]), report["rows"])


with serve(Generated(speed=float(sys.argv[2]), report_delay=1.0)) as url:
    print(url, flush=True)
    time.sleep(3600)
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def settings(url: str) -> dict[str, Any]:
    from adops_async import RetryPolicy, ScaledClock

    # Vendor seconds on the client too; a call may last five real minutes (millions of rows take seconds to stream).
    clock, retry = ScaledClock(SPEED), RetryPolicy(deadline=300.0 * SPEED)
    return {"username": "api-user", "password": "secret", "base_url": url, "clock": clock, "retry": retry}


async def idle(url: str, work: Path, day: date) -> int:
    from adops_async import AdOps

    async with AdOps(appnexus=settings(url)) as ops:
        await ops.clients["appnexus"].request("GET", "member")
    return 0


async def sync_to(url: str, target: Path, day: date) -> int:
    from adops_async import AdOps

    async with AdOps(appnexus=settings(url)) as ops:
        result = await ops.sync(target, start=day, end=day, lookback=0)
    assert result.ok, result.failed
    return result.rows()["appnexus"]


async def sync_duckdb(url: str, work: Path, day: date) -> int:
    return await sync_to(url, work / "adops.duckdb", day)


async def sync_parquet(url: str, work: Path, day: date) -> int:
    return await sync_to(url, work / "lake", day)


async def save_jsonl(url: str, work: Path, day: date) -> int:
    from adops_async import AppNexus
    from adops_async.vendors.appnexus._spec import DELIVERY_COLUMNS as APPNEXUS_COLUMNS

    async with AppNexus(**settings(url)) as an:
        spec = {"start_date": day.isoformat(), "end_date": date.fromordinal(day.toordinal() + 1).isoformat()}
        job = await an.reports.run(report_type="network_analytics", columns=APPNEXUS_COLUMNS, timezone="UTC", **spec)
        return await job.save(work / "report.jsonl", "jsonl")


def read_csv(csv_file: str, work: Path) -> int:
    import duckdb

    with duckdb.connect(str(work / "baseline.duckdb")) as db:
        db.execute(f"CREATE TABLE delivery AS SELECT * FROM read_csv('{csv_file}', header = true)")
        [(rows,)] = db.execute("SELECT count(*) FROM delivery").fetchall()
    return int(rows)


VARIANTS = {"idle": idle, "save_jsonl": save_jsonl, "sync_duckdb": sync_duckdb, "sync_parquet": sync_parquet}


def child(variant: str, where: str, day: str) -> None:
    # Everything any variant imports, imported before the clock starts and counted in every variant's RSS alike.
    import duckdb  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import adops_async.sync  # noqa: F401

    with tempfile.TemporaryDirectory(dir=os.environ.get("ADOPS_BENCH_TMP")) as directory:
        start = time.perf_counter()
        if variant == "read_csv":
            rows = read_csv(where, Path(directory))
        else:
            rows = asyncio.run(VARIANTS[variant](where, Path(directory), date.fromisoformat(day)))
        elapsed = time.perf_counter() - start
    print(json.dumps({"rows": rows, "seconds": elapsed, "peak_mb": peak_mb()}))


def run(variant: str, where: str, day: date) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, variant, where, day.isoformat()], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def fetch_csv(url: str, day: date, target: Path) -> None:
    """The report's CSV bytes, as the client downloads them, into a local file (for the ``read_csv`` baseline)."""
    import anyio

    from adops_async import AppNexus
    from adops_async.vendors.appnexus._spec import DELIVERY_COLUMNS as APPNEXUS_COLUMNS

    async def fetch() -> None:
        async with AppNexus(**settings(url)) as an:
            end = date.fromordinal(day.toordinal() + 1).isoformat()
            job = await an.reports.run(
                report_type="network_analytics",
                columns=APPNEXUS_COLUMNS,
                timezone="UTC",
                start_date=day.isoformat(),
                end_date=end,
            )
            async with an.stream("GET", "report-download", params={"id": job.id}) as response:
                with target.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)

    anyio.run(fetch)


def main() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(ROWS), str(SPEED)], stdout=subprocess.PIPE, text=True)
    results: dict[str, dict[str, float]] = {}
    sizes: dict[str, int] = {}
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory(dir=os.environ.get("ADOPS_BENCH_TMP")) as directory:
            for suffix, day in (("", BIG), ("_small", SMALL)):
                csv_file = Path(directory) / f"report{suffix}.csv"
                fetch_csv(url, day, csv_file)  # also has the server generate the day once, outside every timing
                sizes[suffix] = csv_file.stat().st_size
                results[f"read_csv{suffix}"] = run("read_csv", str(csv_file), day)
        results["idle"] = run("idle", url, BIG)
        results["save_jsonl_small"] = run("save_jsonl", url, SMALL)
        for variant in ("sync_duckdb", "sync_parquet"):
            results[f"{variant}_small"] = run(variant, url, SMALL)
            results[variant] = run(variant, url, BIG)
    finally:
        server.terminate()
        server.wait(10)
    idle_mb = results["idle"]["peak_mb"]
    print(f"report_sync: one day of {ROWS:,} AppNexus rows ({sizes[''] / 1e6:,.0f} MB CSV) and one of {ROWS // 10:,}")
    print("each variant in its own process; rows/s against read_csv of the same size")
    labels = {
        "read_csv": "DuckDB read_csv, local file",
        "save_jsonl": "save() to JSON lines",
        "sync_duckdb": "sync into DuckDB",
        "sync_parquet": "sync into Parquet",
    }
    for suffix in ("", "_small"):
        base = results[f"read_csv{suffix}"]
        for name, label in labels.items():
            r = results.get(name + suffix)
            if r is None:
                continue
            rate = r["rows"] / r["seconds"]
            print(
                f"  {label:<28} {r['rows']:11,.0f} rows {r['seconds']:6.1f} s {rate:10,.0f} rows/s "
                f"{base['seconds'] / r['seconds']:5.3f}x read_csv  peak RSS {r['peak_mb']:6.1f} MB"
            )
    for name in ("sync_duckdb", "sync_parquet"):
        ratio = results["save_jsonl_small"]["seconds"] / results[f"{name}_small"]["seconds"]
        print(f"  {labels[name]}: {ratio:.2f}x the rows/s of save() to JSON lines (at {ROWS // 10:,} rows)")
    print(f"  peak RSS above the idle client ({idle_mb:.1f} MB), at {ROWS // 10:,} / {ROWS:,} rows:")
    for name in ("sync_duckdb", "sync_parquet"):
        small, big = results[f"{name}_small"], results[name]
        print(f"    {labels[name]:<26} +{small['peak_mb'] - idle_mb:5.1f} MB / +{big['peak_mb'] - idle_mb:5.1f} MB")
    for name, result in results.items():
        if name != "idle":
            assert result["rows"] == (ROWS // 10 if name.endswith("_small") else ROWS), f"{name}: row counts differ"


if __name__ == "__main__":
    if len(sys.argv) == 4:
        child(sys.argv[1], sys.argv[2], sys.argv[3])
    else:
        main()
