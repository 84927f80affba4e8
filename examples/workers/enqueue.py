"""Enqueue one report job per advertiser, wait for every result and print a summary.

    python -m examples.workers.enqueue            # every active advertiser of the member
    python -m examples.workers.enqueue 12 34 56   # these advertisers

Same environment as the workers (see ``worker.py``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis

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


async def active_advertisers() -> list[int]:
    # Listing spends the member's quota too, so it goes through the same shared store as the workers.
    async with AsyncExitStack() as stack:
        appnexus = await open_appnexus(stack)
        return [a.id async for a in appnexus.advertisers.list(state="active") if a.id is not None]


async def main(argv: Sequence[str]) -> int:
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
