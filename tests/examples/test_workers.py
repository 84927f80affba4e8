"""The arq workers example end to end: 2 worker processes on a real Redis, one AppNexus member quota between them;
pulling reports per advertiser, and the delivery sync's windows into one Parquet tree."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import anyio
import duckdb
import pytest
from arq import create_pool
from arq.connections import RedisSettings

from adops_async.cli._sync import sync_sandboxes
from adops_async.sandbox import serve
from adops_async.sandbox._delivery import DeliveryFigures
from adops_async.sandbox.appnexus import AppNexusSandbox, report_cell
from adops_async.sync import verify
from examples.workers.enqueue import pull_reports, sync_windows
from examples.workers.worker import COLUMNS

from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
SPEED = 60  # a vendor minute per real second
READS = 20  # per vendor minute; the 12 jobs need 60 reads or more (polls vary), so both workers wait on the quota
ROWS = 500


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # arq is asyncio-only


@contextmanager
def workers(count: int, env: Mapping[str, str], logs: Path) -> Iterator[None]:
    """``count`` arq worker processes, each with its client open before this yields; stopped whatever happens."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for n in range(count):
            log = logs / f"worker{n}.log"
            with log.open("wb") as out:
                command = [sys.executable, "-m", "arq", "examples.workers.worker.WorkerSettings"]
                process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out)
            started.append((process, log))
        # Jobs are enqueued only once every worker polls: otherwise the first one up could take them all.
        deadline = time.monotonic() + 20
        for process, log in started:
            while " ready: " not in log.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()}")
                time.sleep(0.05)
        yield
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def worker_env(redis_server: RedisServer, url: str, speed: float) -> dict[str, str]:
    """The workers' settings: the sandbox's AppNexus, and a queue and key prefix of this run's own on the session's
    Redis."""
    run = uuid.uuid4().hex
    return {
        "ADOPS_REDIS_URL": redis_server.url,
        "ADOPS_REDIS_PREFIX": f"test-workers:{run}:",
        "ADOPS_QUEUE": f"test-workers:{run}:queue",
        "ADOPS_APPNEXUS_BASE_URL": url,
        "ADOPS_APPNEXUS_USERNAME": "api-user",
        "ADOPS_APPNEXUS_PASSWORD": "secret",
        "ADOPS_APPNEXUS_MEMBER": "1",
        "ADOPS_SPEED": str(speed),
    }


async def test_two_workers_pull_every_report_on_one_shared_quota(redis_server: RedisServer, tmp_path: Path) -> None:
    sandbox = AppNexusSandbox(speed=SPEED, reads=READS, report_delay=10, report_rows=ROWS)
    advertisers = [sandbox.add("advertiser", name=f"Advertiser {n}")["id"] for n in range(12)]
    with serve(sandbox) as url:
        env = worker_env(redis_server, url, SPEED)
        env |= {"ADOPS_APPNEXUS_READS": str(READS), "ADOPS_REPORT_DIR": str(tmp_path / "reports")}
        with workers(2, env, tmp_path):
            redis = await create_pool(RedisSettings.from_dsn(redis_server.url), default_queue_name=env["ADOPS_QUEUE"])
            try:
                results = await pull_reports(redis, advertisers, timeout=20)
            finally:
                await redis.aclose()

    assert [r for r in results if isinstance(r, BaseException)] == []
    summaries = [r for r in results if not isinstance(r, BaseException)]
    assert [(s["advertiser_id"], s["name"], s["rows"]) for s in summaries] == [
        (a, f"Advertiser {n}", ROWS) for n, a in enumerate(advertisers)
    ]
    expected = [{column: report_cell(column, n) for column in COLUMNS} for n in range(ROWS)]
    for summary in summaries:
        assert list(csv.DictReader((await anyio.Path(summary["path"]).read_text()).splitlines())) == expected
    assert len({s["worker"] for s in summaries}) == 2
    assert sorted(r["spec"]["filters"][0]["advertiser_id"] for r in sandbox.reports.values()) == advertisers
    # No vendor minute held more than the member's reads, the two workers together (per-process budgets would have
    # let 2 x READS into one). How full the minutes were is a rate, and a loaded machine makes it lower: that figure
    # belongs to benchmarks/shared_quota.py, not to a test.
    reads = sorted(r.at for r in sandbox.records if r.method == "GET")
    assert max(sum(1 for t in reads if start <= t < start + 60) for start in reads) <= READS
    assert sandbox.violations == []


SYNC_SPEED = 600  # 15 vendor minutes (AppNexus' report window) in 1.5 real seconds
SYNC_DAYS = 10


async def test_two_workers_sync_every_window_into_one_parquet_tree(redis_server: RedisServer, tmp_path: Path) -> None:
    sandbox = sync_sandboxes(SYNC_SPEED)["appnexus"]
    figures: DeliveryFigures = getattr(sandbox, "delivery")  # noqa: B009
    first = date(2024, 3, 1)
    last = first + timedelta(days=SYNC_DAYS - 1)
    root = tmp_path / "lake"
    with serve(sandbox) as url:
        env = worker_env(redis_server, url, SYNC_SPEED)
        with workers(2, env, tmp_path):
            redis = await create_pool(RedisSettings.from_dsn(redis_server.url), default_queue_name=env["ADOPS_QUEUE"])
            try:
                results = await sync_windows(redis, root, "appnexus", start=first, end=last, lookback=0, timeout=30)
            finally:
                await redis.aclose()

    days = [first + timedelta(days=n) for n in range(SYNC_DAYS)]
    assert [r for _, r in results if isinstance(r, BaseException)] == []
    assert [(w.vendor, w.start, w.end) for w, _ in results] == [("appnexus", d, d + timedelta(days=1)) for d in days]
    summaries = [r for _, r in results if not isinstance(r, BaseException)]
    assert [(s["ok"], s["rows"], s["failed"]) for s in summaries] == [(True, figures.count(d), []) for d in days]
    lake = f"read_parquet('{root}/delivery/**/*.parquet', hive_partitioning = true)"
    found = duckdb.execute(f"SELECT vendor, day::DATE, count(*) FROM {lake} GROUP BY ALL ORDER BY ALL").fetchall()
    assert found == [("appnexus", d, figures.count(d)) for d in days]  # every (vendor, day) once, exactly its rows
    states = duckdb.execute(f"SELECT vendor, start, status, rows FROM '{root}/adops_windows/*.parquet' ORDER BY ALL")
    assert states.fetchall() == [("appnexus", d, "complete", figures.count(d)) for d in days]
    assert verify(root) == []
    assert list((root / ".staging").iterdir()) == []  # each job's staging directory went with it
    assert len(sandbox.reports) == SYNC_DAYS  # type: ignore[attr-defined]
    assert sandbox.violations == []  # the 5-reports-per-15-minutes rule included, across both workers
