"""One worker OS process of the shared-quota tests: :func:`serve` runs in a process of its own, started by
``tests/shared/test_processes.py`` and spoken to over a pipe.

It builds a vendor client whose default gate keeps its state in a RedisStore, says it is ready, waits for "go", runs
``tasks`` concurrent tasks that each fetch their slice of the entities, and answers with the ids it saw, the errors it
hit, how many Redis round trips and HTTP requests it made, and what it logged. The test process owns the sandbox and
judges by the sandbox's records.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Any

import anyio
import anyio.to_thread

from adops_async import AdOpsError, AppNexus, OoyalaPulse, PulsePro, RedisStore
from adops_async.core.client import BaseClient
from adops_async.gates import ScaledClock

from ..sandboxes import real_time_retry


class SkewedClock(ScaledClock):
    """This host's clock at the sandbox's ``speed``, ``skew`` real seconds off the others'."""

    def __init__(self, speed: float, skew: float) -> None:
        super().__init__(speed)
        self.skew = skew * speed

    def now(self) -> float:
        return super().now() + self.skew

    async def sleep_until(self, deadline: float) -> None:
        await super().sleep_until(deadline - self.skew)


def build(job: dict[str, Any], store: RedisStore) -> BaseClient:
    vendor, url, speed = job["vendor"], job["url"], job.get("speed", 1.0)
    if vendor == "appnexus":
        clock = SkewedClock(speed, job.get("skew", 0.0))
        return AppNexus(
            username=job["username"],
            password=job["password"],
            base_url=url,
            store=store,
            member_key=job["member"],
            reads=job["reads"],
            clock=clock,
            # A shared 15-in-flight refusal predicts the gate opens when the holder's lease lapses (30 real s): past
            # a deadline of 300 vendor seconds at speed 60.
            retry=real_time_retry(clock),
        )
    if vendor == "pulsepro":
        return PulsePro(api_key=job["api_key"], base_url=url, store=store, clock=ScaledClock(speed), page_size=100)
    return OoyalaPulse(api_key=job["api_key"], base_url=url, store=store)


def fetch(client: BaseClient, job: dict[str, Any], task: int) -> Callable[[], Awaitable[list[Any]]]:
    """What task number ``task`` fetches: one slice of the entities, each entity in exactly one task."""
    if isinstance(client, AppNexus):
        return lambda: collect_ids(client.line_items.list(advertiser_id=job["slices"][task]))
    resource: Any = client.inspections if isinstance(client, PulsePro) else client.campaigns

    async def one_by_one() -> list[Any]:
        return [(await resource.get(i)).id for i in job["slices"][task]]

    return one_by_one


async def collect_ids(items: Any) -> list[Any]:
    return [item.id async for item in items]


def serve(job: dict[str, Any], pipe: Connection) -> None:
    """The worker process's whole life: what it logs (Python's last-resort handler writes to ``sys.stderr``) goes
    back with its result."""
    sys.stderr = log = io.StringIO()
    result = anyio.run(work, job, pipe, backend="asyncio")
    pipe.send({**result, "log": log.getvalue()})


async def work(job: dict[str, Any], pipe: Connection) -> dict[str, Any]:
    store = RedisStore(
        job["redis"],
        prefix=job["prefix"],
        lease=job.get("lease", 30.0),
        on_store_error=job.get("on_store_error", "fail"),
        expected_processes=job.get("expected", 1),
        timeout=job.get("store_timeout", 2.0),
        retry_every=job.get("retry_every", 1.0),
    )
    ids: list[Any] = []
    errors: list[str] = []
    client = build(job, store)
    async with client:
        pipe.send({"ready": True})
        await anyio.to_thread.run_sync(pipe.recv)  # every worker starts at once, when the test says go

        async def run(task: int) -> None:
            try:
                ids.extend(await fetch(client, job, task)())
            except AdOpsError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        async with anyio.create_task_group() as tg:
            for task in range(len(job["slices"])):
                tg.start_soon(run, task)
    await store.aclose()
    return {"ids": ids, "errors": errors, "calls": store.calls, "requests": client.requests_sent}
