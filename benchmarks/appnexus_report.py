"""A 1,000,000-row AppNexus report through ``job.rows()``: rows/s and the client's peak RSS (flat memory).

The AppNexus sandbox runs in its own process (it builds the CSV in memory; the client must not), the client here
submits, polls and streams the report, and reports its own ``ru_maxrss`` against a baseline taken before the pull.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import anyio

ROWS = int(os.environ.get("ADOPS_BENCH_REPORT_ROWS", "1000000"))
SERVER = """
import sys, time
from adops_async.sandbox import serve
from adops_async.sandbox.appnexus import AppNexusSandbox
with serve(AppNexusSandbox(speed=600, report_delay=5, report_rows=int(sys.argv[1]))) as url:
    print(url, flush=True)
    time.sleep(3600)
"""


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def pull(url: str) -> tuple[int, float, float]:
    from adops_async import AppNexus, RetryPolicy, ScaledClock

    before = peak_mb()
    # Vendor seconds on the client too; a call may last five real minutes (the million rows take seconds to stream).
    clock, retry = ScaledClock(600), RetryPolicy(deadline=300.0 * 600)
    async with AppNexus(username="api-user", password="secret", base_url=url, clock=clock, retry=retry) as an:
        spec = {"report_type": "network_analytics", "columns": ["day", "imps"], "report_interval": "today"}
        job = await an.reports.run(**spec)
        start = time.perf_counter()
        rows = 0
        async for _ in job.rows():
            rows += 1
    return rows, time.perf_counter() - start, before


def main() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(ROWS)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        rows, elapsed, before = anyio.run(pull, server.stdout.readline().strip())
    finally:
        server.terminate()
        server.wait(10)
    print(f"appnexus_report: {rows:,} rows through job.rows() in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s)")
    print(f"  client peak RSS {peak_mb():.1f} MB (before the pull {before:.1f} MB): flat, whatever the report size")
    assert rows == ROWS


if __name__ == "__main__":
    main()
