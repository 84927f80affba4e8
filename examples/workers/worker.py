"""An arq worker that pulls AppNexus reports on a member quota shared by every worker through Redis: one advertiser's
report per ``pull_report`` job, or one window of the delivery sync into a shared Parquet tree per ``sync_window`` job.

Run as many as you like, each with the same environment::

    arq examples.workers.worker.WorkerSettings

Environment: ``ADOPS_REDIS_URL`` (jobs and quota), ``ADOPS_APPNEXUS_USERNAME``/``_PASSWORD``/``_BASE_URL``,
``ADOPS_APPNEXUS_MEMBER`` (the member whose quota is shared), ``ADOPS_APPNEXUS_READS``/``_WRITES`` (when the account's
limits are not the documented 100/60 per minute), ``ADOPS_REPORT_DIR``, ``ADOPS_QUEUE``, ``ADOPS_REDIS_PREFIX`` and
``ADOPS_SPEED`` (for compressed-clock sandboxes only).
"""

from __future__ import annotations

import logging
import os
import socket
from contextlib import AsyncExitStack
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from arq.connections import RedisSettings

from adops_async import AppNexus, RedisStore, ScaledClock
from adops_async.sync import sync

REDIS_URL = os.environ.get("ADOPS_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE = os.environ.get("ADOPS_QUEUE", "adops:reports")
COLUMNS = ["day", "imps", "clicks"]

# Under arq's logger, so that the arq command prints it.
log = logging.getLogger("arq.adops")


async def open_appnexus(stack: AsyncExitStack) -> AppNexus:
    """An AppNexus client whose quota, pauses and 15-in-flight live in Redis: one budget for every process."""
    env = os.environ
    store = RedisStore(REDIS_URL, prefix=env.get("ADOPS_REDIS_PREFIX", "adops:"))
    stack.push_async_callback(store.aclose)
    client = AppNexus(
        username=env["ADOPS_APPNEXUS_USERNAME"],
        password=env["ADOPS_APPNEXUS_PASSWORD"],
        base_url=env.get("ADOPS_APPNEXUS_BASE_URL", "https://api.appnexus.com"),
        store=store,
        member_key=env["ADOPS_APPNEXUS_MEMBER"],
        reads=int(env.get("ADOPS_APPNEXUS_READS", "100")),
        writes=int(env.get("ADOPS_APPNEXUS_WRITES", "60")),
        clock=ScaledClock(float(env.get("ADOPS_SPEED", "1"))),
    )
    return await stack.enter_async_context(client)


async def startup(ctx: dict[str, Any]) -> None:
    stack = AsyncExitStack()
    ctx["stack"] = stack
    ctx["appnexus"] = await open_appnexus(stack)
    ctx["clients"] = {"appnexus": ctx["appnexus"]}  # the vendors ``sync_window`` can pull
    ctx["report_dir"] = Path(os.environ.get("ADOPS_REPORT_DIR", "reports"))
    ctx["report_dir"].mkdir(parents=True, exist_ok=True)
    ctx["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    log.info("worker %s ready: member %s", ctx["worker"], os.environ["ADOPS_APPNEXUS_MEMBER"])


async def shutdown(ctx: dict[str, Any]) -> None:
    if "stack" in ctx:
        await ctx["stack"].aclose()


async def pull_report(ctx: dict[str, Any], advertiser_id: int) -> dict[str, Any]:
    """Yesterday's delivery of one advertiser, saved as ``<report_dir>/advertiser-<id>.csv``."""
    appnexus: AppNexus = ctx["appnexus"]
    advertiser = await appnexus.advertisers.get(advertiser_id)
    job = await appnexus.reports.run(
        report_type="network_analytics",
        columns=COLUMNS,
        report_interval="yesterday",
        filters=[{"advertiser_id": advertiser_id}],
    )
    path: Path = ctx["report_dir"] / f"advertiser-{advertiser_id}.csv"
    partial = path.with_suffix(".part")  # a job killed mid-download must not leave a file that looks complete
    rows = await job.save(partial)
    partial.replace(path)
    return {
        "advertiser_id": advertiser_id,
        "name": advertiser.name,
        "rows": rows,
        "path": str(path),
        "worker": ctx["worker"],
    }


async def sync_window(ctx: dict[str, Any], vendor: str, start: str, end: str, root: str) -> dict[str, Any]:
    """Pull every day of ``vendor``'s window [``start``, ``end``) (ISO dates, ``end`` exclusive) into the Parquet tree
    at ``root``, whatever the days' stored state, through the library's sync (:func:`adops_async.sync.sync`): each
    day lands whole, with its state in ``adops_windows``, or is recorded failed.

    Several workers may write one tree at once, each its own windows (``enqueue.sync_windows`` gives each window one
    job); a DuckDB file takes one writing process, so it is loaded from the tree afterwards (``README.md``).
    """
    first, stop = date.fromisoformat(start), date.fromisoformat(end)
    result = await sync(
        ctx["clients"],
        Path(root),
        start=first,
        end=stop - timedelta(days=1),
        lookback=(stop - first).days,  # every day of the window, complete or not: the enqueuer planned it
        vendors=[vendor],
    )
    return {
        "vendor": vendor,
        "start": start,
        "end": end,
        "ok": result.ok,
        "rows": result.rows().get(vendor, 0),
        "failed": [f"{r.window}: {r.error}" for r in result.failed],
        "worker": ctx["worker"],
    }


class WorkerSettings:
    functions = (pull_report, sync_window)
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    queue_name = QUEUE
    # The member quota, not the worker count, bounds throughput (the shared gate also keeps every worker of the user
    # within AppNexus' 15 requests in flight, whatever max_jobs is).
    max_jobs = 5
    # A report may take the API's 15 minutes, on top of its turn on the shared quota.
    job_timeout = 1_800
