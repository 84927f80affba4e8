"""Enqueue one report job per advertiser, or one sync job per window, wait for every result and print a summary.

    python -m examples.workers.enqueue            # every active advertiser of the member
    python -m examples.workers.enqueue 12 34 56   # these advertisers
    python -m examples.workers.enqueue sync lake 2024-01-01 2024-01-10   # AppNexus' days into the Parquet tree lake/

Same environment as the workers (see ``worker.py``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import date
from pathlib import Path
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis
from arq.jobs import Job

from adops_async.sync import SOURCES, Window, WindowState, open_destination, plan

from .worker import QUEUE, WorkerSettings, open_appnexus


async def pull_reports(
    redis: ArqRedis, advertiser_ids: Sequence[int], *, timeout: float | None = None
) -> list[dict[str, Any] | BaseException]:
    """Enqueue a ``pull_report`` job per advertiser; return each job's summary, or the exception it failed with."""
    jobs = []
    for advertiser_id in advertiser_ids:
        job = await redis.enqueue_job("pull_report", advertiser_id)
        assert job is not None  # None only for a duplicate _job_id, and we let arq pick the ids
        jobs.append(job)
    results: list[dict[str, Any] | BaseException] = await asyncio.gather(
        *(job.result(timeout=timeout) for job in jobs), return_exceptions=True
    )
    return results


def stored_windows(root: Path) -> list[WindowState]:
    """The window states the Parquet tree at ``root`` holds (none when it does not exist yet)."""
    if not root.exists():
        return []
    destination = open_destination(root, SOURCES)
    try:
        return destination.windows()
    finally:
        destination.close()


async def sync_windows(
    redis: ArqRedis,
    root: Path,
    vendor: str,
    *,
    start: date | None,
    end: date,
    lookback: int = 3,
    timeout: float | None = None,
) -> list[tuple[Window, dict[str, Any] | BaseException]]:
    """Plan ``vendor``'s windows as ``adops sync`` would (:func:`adops_async.sync.plan`: the days from ``start`` to
    ``end`` without a complete window in ``root``, and the last ``lookback`` days), enqueue a ``sync_window`` job per
    window and return each window with its job's summary, or the exception the job failed with.

    A job's id is its tree and window: arq enqueues no job whose id is queued, running or still has a result, so two
    enqueuers never set two workers on one window (this waits for the job already there instead).
    """
    windows = plan(vendor, await asyncio.to_thread(stored_windows, root), start=start, end=end, lookback=lookback)
    tree = await asyncio.to_thread(root.resolve)
    jobs = []
    for window in windows:
        job_id = f"adops:sync:{tree}:{window.vendor}:{window.start}"
        args = (window.vendor, window.start.isoformat(), window.end.isoformat(), str(root))
        job = await redis.enqueue_job("sync_window", *args, _job_id=job_id)
        jobs.append(job or Job(job_id, redis, _queue_name=redis.default_queue_name))
    results: list[dict[str, Any] | BaseException] = await asyncio.gather(
        *(job.result(timeout=timeout) for job in jobs), return_exceptions=True
    )
    return list(zip(windows, results, strict=True))


async def sync_main(root: Path, start: date, end: date) -> int:
    redis = await create_pool(WorkerSettings.redis_settings, default_queue_name=QUEUE)
    try:
        results = await sync_windows(redis, root, "appnexus", start=start, end=end)
    finally:
        await redis.aclose()
    failed = 0
    for window, result in results:
        if isinstance(result, BaseException) or not result["ok"]:
            failed += 1
            print(f"{window}  FAILED  {result!r}")
        else:
            print(f"{window}  {result['rows']:>9,} rows  ({result['worker']})")
    print(f"{len(results) - failed} of {len(results)} windows landed in {root}, {failed} failed")
    return 1 if failed else 0


async def active_advertisers() -> list[int]:
    # Listing spends the member's quota too, so it goes through the same shared store as the workers.
    async with AsyncExitStack() as stack:
        appnexus = await open_appnexus(stack)
        return [a.id async for a in appnexus.advertisers.list(state="active") if a.id is not None]


async def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["sync"]:
        root, start, end = argv[1:]
        return await sync_main(Path(root), date.fromisoformat(start), date.fromisoformat(end))
    ids = [int(arg) for arg in argv] or await active_advertisers()
    redis = await create_pool(WorkerSettings.redis_settings, default_queue_name=QUEUE)
    try:
        results = await pull_reports(redis, ids)
    finally:
        await redis.aclose()
    workers: set[str] = set()
    for advertiser_id, result in zip(ids, results, strict=True):
        if isinstance(result, BaseException):
            print(f"{advertiser_id:>10}  FAILED  {result!r}")
        else:
            workers.add(result["worker"])
            print(f"{advertiser_id:>10}  {result['rows']:>9,} rows  {result['path']}  ({result['worker']})")
    failed = sum(isinstance(result, BaseException) for result in results)
    print(f"{len(ids) - failed} of {len(ids)} reports pulled by {len(workers)} worker(s), {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
