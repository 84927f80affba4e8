"""Cost of the gate itself: one uncontended acquire/release, and hand-offs with 10,000 waiters.

Baselines measured in the same run: a bare anyio semaphore and aiolimiter's AsyncLimiter (the leaky bucket the
issue asked us to compare with; asyncio only, so this benchmark runs on asyncio). The queued hand-offs are measured in
``ROUNDS`` interleaved rounds (each row once per round) and each row's ratio is the median of its per-round ratios to
``anyio.Semaphore(1)``: on a shared machine a burst of load then spoils one round, not one row.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
from aiolimiter import AsyncLimiter

from adops_async.gates import Cooldown, Gate, Kind, MaxInFlight, ReadWriteQuota, Serial, TokenBucket

N = 100_000
WAITERS = 10_000
ROUNDS = 5

Enter = Callable[[], AbstractAsyncContextManager[object]]


async def timed_uncontended(enter_exit: Enter, n: int = N) -> float:
    start = time.perf_counter()
    for _ in range(n):
        async with enter_exit():
            pass
    return (time.perf_counter() - start) / n * 1e6


async def timed_waiters(make_cm: Enter, n: int = WAITERS) -> float:
    async def one() -> None:
        async with make_cm():
            await asyncio.sleep(0)

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    return (time.perf_counter() - start) / n * 1e6


async def main() -> None:
    semaphore = anyio.Semaphore(15)
    limiter = AsyncLimiter(1e12, 1)
    full_gate = Gate(ReadWriteQuota(1_000_000_000, 1_000_000_000, per=60), MaxInFlight(15), Cooldown())
    light_gate = Gate(MaxInFlight(15), Cooldown())
    rows = [
        ("anyio.Semaphore (baseline)", await timed_uncontended(lambda: semaphore)),
        ("aiolimiter.AsyncLimiter", await timed_uncontended(lambda: limiter)),
        ("Gate(MaxInFlight, Cooldown)", await timed_uncontended(lambda: light_gate.slot(Kind.READ))),
        ("Gate(ReadWriteQuota, MaxInFlight, Cooldown)", await timed_uncontended(lambda: full_gate.slot(Kind.READ))),
    ]
    base = rows[0][1]
    print(f"gate_overhead: uncontended acquire+release, {N:,} times (asyncio)")
    for name, us in rows:
        print(f"  {name:<46} {us:7.2f} us  {us / base:5.2f}x baseline")

    serial_sem = anyio.Semaphore(1)
    serial_gate = Gate(Serial())
    bucket_limiter = AsyncLimiter(WAITERS, 0.05)
    bucket_gate = Gate(TokenBucket(rate=WAITERS, per=0.05, burst=1))
    quota_gate = Gate(ReadWriteQuota(1_000_000_000, 1_000_000_000, per=60), MaxInFlight(1), Cooldown())
    contended: list[tuple[str, Enter]] = [
        ("anyio.Semaphore(1) (baseline)", lambda: serial_sem),
        ("Gate(Serial())", lambda: serial_gate.slot(Kind.READ)),
        ("aiolimiter, 10,000 per 50 ms", lambda: bucket_limiter),
        ("Gate(TokenBucket), 10,000 per 50 ms, burst 1", lambda: bucket_gate.slot(Kind.READ)),
        ("Gate(ReadWriteQuota, MaxInFlight(1), Cooldown)", lambda: quota_gate.slot(Kind.READ)),
    ]
    times: list[list[float]] = [[] for _ in contended]
    for _ in range(ROUNDS):
        for i, (_, enter) in enumerate(contended):
            times[i].append(await timed_waiters(enter))
    print(f"gate_overhead: {WAITERS:,} tasks queued at once, per hand-off, median of {ROUNDS} rounds (asyncio)")
    for (name, _), us in zip(contended, times, strict=True):
        ratio = statistics.median(t / b for t, b in zip(us, times[0], strict=True))
        print(f"  {name:<46} {statistics.median(us):7.2f} us  {ratio:5.2f}x baseline")


if __name__ == "__main__":
    asyncio.run(main())
