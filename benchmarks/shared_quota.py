"""N processes on one vendor budget: one shared RedisStore, against the usual workarounds.

A strict server (uvicorn, its own process) allows LIMIT requests per rolling WINDOW and answers 429 beyond; it counts
what it served and refused. N worker processes (N = 1, 2, 4, 8) each run TASKS tasks sending as fast as their gate
lets them for RUN seconds, in three set-ups:

* shared:  every process's gate keeps one ReadWriteQuota(LIMIT, per=WINDOW) in one RedisStore;
* split:   each process has ReadWriteQuota(LIMIT // N) in memory (budget / N, the usual workaround);
* alone:   each process has the full ReadWriteQuota(LIMIT) in memory (no coordination).

Printed: served / allowed (LIMIT x RUN / WINDOW) and the server's 429s (each one a broken rule); the same with only
one of the N processes busy (the others idle: what "split" wastes); Redis round trips per request; and the latency
of an uncontended acquire, RedisStore against the memory store, in the same run.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from _strict_server import serve, stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adops_async import RedisStore, RetryPolicy  # noqa: E402
from adops_async.extend import BaseClient  # noqa: E402
from adops_async.gates import Cooldown, Gate, Kind, MemoryStore, ReadWriteQuota  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

LIMIT, WINDOW, RUN, TASKS = 60, 1.0, 4.0, 10
PROCESSES = (1, 2, 4, 8)


# -- one worker process ------------------------------------------------------------------------------------------


async def work(job: dict[str, Any]) -> dict[str, Any]:
    mode, n = job["mode"], job["processes"]
    store: MemoryStore | RedisStore = MemoryStore()
    budget = LIMIT // n if mode == "split" else LIMIT
    if mode == "shared":
        store = RedisStore(job["redis"], prefix=job["prefix"])
    gate = Gate(ReadWriteQuota(budget, budget, per=WINDOW, store=store, key="account"), Cooldown())
    client = BaseClient(base_url=job["url"], gate=gate, retry=RetryPolicy(attempts=1))
    done = 0

    async def task() -> None:
        nonlocal done
        while True:
            try:
                await client.request("GET", "/r")
                done += 1
            except Exception:  # a 429 is the server's to count; keep sending, as a real worker would
                await anyio.sleep(0.01)

    # Every process starts at once, when the driver says, once all have imported and built their client (a fixed
    # delay from launch was too short on a loaded machine: late workers ran out of time before their first request).
    print(json.dumps({"ready": True}), flush=True)
    start_at = float(await anyio.to_thread.run_sync(sys.stdin.readline))
    await anyio.sleep(max(0.0, start_at - time.time()))
    if job["busy"]:
        # Requests still waiting at the gate when the run ends are cancelled: only admissions within RUN count.
        async with client, anyio.create_task_group() as tg:
            tg.cancel_scope.deadline = anyio.current_time() + start_at + RUN - time.time()
            for _ in range(TASKS):
                tg.start_soon(task)
    if isinstance(store, RedisStore):
        await store.aclose()  # the settles still owed go now: counted too
    calls = store.calls if isinstance(store, RedisStore) else 0
    return {"done": done, "requests": client.requests_sent, "redis_calls": calls}


# -- the driver ----------------------------------------------------------------------------------------------------


def run(url: str, redis: RedisServer, mode: str, n: int, busy: int) -> dict[str, Any]:
    before = stats(url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    jobs = [
        {"mode": mode, "processes": n, "url": url, "redis": redis.url, "prefix": prefix, "busy": i < busy}
        for i in range(n)
    ]
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", json.dumps(job)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert json.loads(worker.stdout.readline()) == {"ready": True}
    start_at = time.time() + 0.5
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(f"{start_at!r}\n")
        worker.stdin.flush()
    results = [json.loads(w.communicate(timeout=120)[0]) for w in workers]
    after = stats(url)
    served, refused = after["served"] - before["served"], after["rejected"] - before["rejected"]
    requests = sum(r["requests"] for r in results)
    return {
        "utilisation": served / (LIMIT * RUN / WINDOW),
        "violations": refused,
        "calls_per_request": sum(r["redis_calls"] for r in results) / max(1, requests),
    }


async def acquire_latency(store: MemoryStore | RedisStore, samples: int = 3000) -> list[float]:
    gate = Gate(ReadWriteQuota(10**9, 10**9, per=WINDOW, store=store, key="latency"))
    times: list[float] = []
    for _ in range(samples):
        started = time.perf_counter()
        async with gate.slot(Kind.READ):
            times.append(time.perf_counter() - started)
    return times


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    print(f"shared_quota: strict server allows {LIMIT} per {WINDOW:g} s; {TASKS} tasks per process for {RUN:g} s")
    with RedisServer() as redis, serve(LIMIT, WINDOW) as url:
        print(f"  {'processes':>9}  {'shared (Redis)':>22}  {'split: budget / N':>22}  {'alone: full budget':>22}")
        calls: list[float] = []
        for n in PROCESSES:
            cells = []
            for mode in ("shared", "split", "alone"):
                result = run(url, redis, mode, n, busy=n)
                cells.append(f"{result['utilisation']:6.1%} {result['violations']:5d} x 429")
                if mode == "shared":
                    calls.append(result["calls_per_request"])
            print(f"  {n:>9}  " + "  ".join(f"{c:>22}" for c in cells))
        n = 4
        shared, split = (run(url, redis, mode, n, busy=1) for mode in ("shared", "split"))
        print(
            f"  {n} processes, 1 busy: shared {shared['utilisation']:.1%} ({shared['violations']} x 429), "
            f"split {split['utilisation']:.1%} ({split['violations']} x 429)"
        )
        print(
            "  Redis round trips per request (shared): "
            + ", ".join(f"N={n}: {c:.2f}" for n, c in zip(PROCESSES, calls, strict=True))
        )

        async def latencies() -> tuple[list[float], list[float]]:
            memory = await acquire_latency(MemoryStore())
            store = RedisStore(redis.url, prefix=f"bench-{uuid.uuid4().hex[:8]}:")
            try:
                return memory, await acquire_latency(store)
            finally:
                await store.aclose()

        memory, shared_times = asyncio.run(latencies())
        for name, q in (("p50", 50), ("p99", 99)):
            m, r = percentile(memory, q) * 1e6, percentile(shared_times, q) * 1e6
            print(f"  acquire {name}: memory {m:7.1f} us, Redis {r:7.1f} us (x{r / m:.0f}; one round trip per take)")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        print(json.dumps(asyncio.run(work(json.loads(sys.argv[2])))))
    else:
        main()
