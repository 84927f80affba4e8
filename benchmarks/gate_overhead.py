"""Cost of the gate itself: one uncontended acquire/release, and hand-offs with 10,000 waiters.

Baselines measured in the same run: a bare anyio semaphore and aiolimiter's AsyncLimiter (the leaky bucket the
issue asked us to compare with; asyncio only, so this benchmark runs on asyncio).
"""

from __future__ import annotations

import asyncio
import time

import anyio
from aiolimiter import AsyncLimiter

from adops_async.gates import Cooldown, Gate, Kind, MaxInFlight, ReadWriteQuota, Serial, TokenBucket

N = 100_000
WAITERS = 10_000


async def timed_uncontended(enter_exit: object, n: int = N) -> float:
    start = time.perf_counter()
    for _ in range(n):
        async with enter_exit():  # type: ignore[operator]
            pass
    return (time.perf_counter() - start) / n * 1e6


async def timed_waiters(make_cm: object, n: int = WAITERS) -> float:
    async def one() -> None:
        async with make_cm():  # type: ignore[operator]
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
    contended = [
        ("anyio.Semaphore(1) (baseline)", await timed_waiters(lambda: serial_sem)),
        ("Gate(Serial())", await timed_waiters(lambda: serial_gate.slot(Kind.READ))),
        ("aiolimiter, 10,000 per 50 ms", await timed_waiters(lambda: bucket_limiter)),
        ("Gate(TokenBucket), 10,000 per 50 ms, burst 1", await timed_waiters(lambda: bucket_gate.slot(Kind.READ))),
    ]
    base = contended[0][1]
    print(f"gate_overhead: {WAITERS:,} tasks queued at once, per hand-off (asyncio)")
    for name, us in contended:
        print(f"  {name:<46} {us:7.2f} us  {us / base:5.2f}x baseline")


if __name__ == "__main__":
    asyncio.run(main())
