"""Streaming a large CSV report: rows/s, MB/s and peak RSS, ours vs raw httpx, each in a fresh process.

The server (its own process) generates a CSV of ``ADOPS_BENCH_MB`` megabytes (default 1,024) on the fly. Variants:
raw httpx reading the bytes (the ceiling), raw httpx + the csv module (what one would write by hand), and
adops-async (``client.stream`` through the gate + ``csv_rows``). Peak RSS is each process's own ``ru_maxrss``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import resource
import subprocess
import sys
import time

import httpx
from _strict_server import serve

MB = int(os.environ.get("ADOPS_BENCH_MB", "1024"))


async def raw_bytes(url: str) -> tuple[int, int]:
    rows = size = 0
    async with httpx.AsyncClient(timeout=None) as http, http.stream("GET", url) as response:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            rows += chunk.count(b"\n")
    return rows - 1, size


async def raw_csv(url: str) -> tuple[int, int]:
    rows = size = 0
    pending = ""
    header: list[str] | None = None
    async with httpx.AsyncClient(timeout=None) as http, http.stream("GET", url) as response:
        async for text in response.aiter_text():
            size += len(text)
            pending += text
            cut = pending.rfind("\n") + 1
            for record in csv.reader(io.StringIO(pending[:cut])):
                if header is None:
                    header = record
                else:
                    rows += 1 if dict(zip(header, record, strict=False)) else 0
            pending = pending[cut:]
    return rows, size


async def ours(url: str) -> tuple[int, int]:
    from adops_async.core.reports import csv_rows
    from adops_async.extend import BaseClient

    size = 0

    def count(n: int) -> None:
        nonlocal size
        size += n

    rows = 0
    root, _, query = url.partition("/__report?")
    params = dict(pair.split("=") for pair in query.split("&"))
    async with (
        BaseClient(base_url=root, timeout=600) as client,
        client.stream("GET", "/__report", params=params) as response,
    ):
        async for _ in csv_rows(response.aiter_bytes(), on_bytes=count):
            rows += 1
    return rows, size


async def ours_to_disk(url: str) -> tuple[int, int]:
    """The whole report streamed to a CSV file through ``ReportJob.save`` (the issue's "streams to disk")."""
    import tempfile
    from collections.abc import AsyncIterator
    from typing import Any

    from adops_async.core.reports import ReportJob, csv_rows
    from adops_async.extend import BaseClient

    root, _, query = url.partition("/__report?")
    params = dict(pair.split("=") for pair in query.split("&"))
    size = 0

    def count(n: int) -> None:
        nonlocal size
        size += n

    async with BaseClient(base_url=root, timeout=600) as client:

        class Download(ReportJob):
            async def rows(self) -> AsyncIterator[dict[str, Any]]:
                async with client.stream("GET", "/__report", params=params) as response:
                    async for row in csv_rows(response.aiter_bytes(), on_bytes=count):
                        yield row

        with tempfile.TemporaryDirectory() as directory:
            rows = await Download().save(f"{directory}/report.csv")
    return rows, size


def child(variant: str, url: str) -> None:
    if variant.startswith("ours"):
        import adops_async.core.reports  # noqa: F401  (import time is not download time)
    start = time.perf_counter()
    variants = {"raw_bytes": raw_bytes, "raw_csv": raw_csv, "ours": ours, "ours_to_disk": ours_to_disk}
    rows, size = asyncio.run(variants[variant](url))
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "bytes": size, "seconds": elapsed, "peak_mb": peak_mb}))


def main() -> None:
    with serve(None) as base_url:
        url = f"{base_url}/__report?mb={MB}"
        results = {}
        for variant in ("raw_bytes", "raw_csv", "ours", "ours_to_disk"):
            out = subprocess.run([sys.executable, __file__, variant, url], capture_output=True, text=True, check=True)
            results[variant] = json.loads(out.stdout)
    print(f"report_pull: {MB:,} MB CSV over loopback, each variant in its own process")
    base = results["raw_csv"]
    labels = {
        "raw_bytes": "raw httpx, bytes only",
        "raw_csv": "raw httpx + csv",
        "ours": "adops-async rows()",
        "ours_to_disk": "adops-async save() to disk",
    }
    for name, label in labels.items():
        r = results[name]
        rate = f"{r['rows'] / r['seconds']:10,.0f} rows/s {r['bytes'] / r['seconds'] / 1e6:7.1f} MB/s"
        print(
            f"  {label:<27} {r['rows']:11,} rows {rate}  peak RSS {r['peak_mb']:6.1f} MB  "
            f"throughput {base['seconds'] / r['seconds']:4.2f}x raw+csv"
        )
    assert results["ours"]["rows"] == results["raw_csv"]["rows"] == results["ours_to_disk"]["rows"], "row counts differ"


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child(sys.argv[1], sys.argv[2])
    else:
        main()
