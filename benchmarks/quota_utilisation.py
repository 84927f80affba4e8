"""Achieved rate against a strict "100 reads per second" server on a real socket, and the 429s it sent.

The server (uvicorn on 127.0.0.1, its own process) counts arrivals over a rolling one-second window: a compressed
AppNexus minute.
Three clients pull the same N requests from 50 tasks: our gate, a bare aiolimiter ``AsyncLimiter(100, 1)``, and a
naive client that just retries on 429. Utilisation = when the rule would let the last request start (``limit`` per
window, back to back) over when it actually started; the 429s are the server's own count.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

import httpx
from _strict_server import drive, serve, stats
from aiolimiter import AsyncLimiter

from adops_async import RetryPolicy
from adops_async.extend import BaseClient
from adops_async.gates import Cooldown, Gate, MaxInFlight, ReadWriteQuota

LIMIT, N, TASKS = 100, 600, 50
# A 1 s window stresses the gate (one round trip is a large share of it); 5 s is closer to a real minute.
WINDOWS = (1.0, 5.0)


async def pull(get_one: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    """Run N requests from TASKS workers; return (when the last request started, when all were done)."""
    start = time.perf_counter()
    elapsed = await drive(get_one, N, TASKS)
    return LAST_SENT[0] - start, elapsed


LAST_SENT = [0.0]


async def send(http: httpx.AsyncClient, url: str) -> httpx.Response:
    LAST_SENT[0] = time.perf_counter()
    return await http.get(url)


async def retry_on_429(http: httpx.AsyncClient, url: str, limiter: AsyncLimiter | None) -> None:
    while True:
        if limiter is not None:
            async with limiter:
                response = await send(http, url)
        else:
            response = await send(http, url)
        if response.status_code != 429:
            return
        await asyncio.sleep(float(response.headers["retry-after"]))


async def run(
    name: str, make: Callable[[str, httpx.AsyncClient, float], Callable[[], Awaitable[None]]], window: float
) -> None:
    with serve(LIMIT, window) as base_url:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=TASKS)) as http:
            last_start, elapsed = await pull(make(base_url, http, window))
        counts = stats(base_url)
    ideal = (math.ceil(N / LIMIT) - 1) * window
    print(
        f"  {name:<34} last start {last_start:5.2f} s (ideal {ideal:.2f})  utilisation {ideal / last_start:6.1%}  "
        f"429s {counts['rejected']:4d}  served {counts['served']}  done in {elapsed:5.2f} s"
    )


def ours(base_url: str, http: httpx.AsyncClient, window: float) -> Callable[[], Awaitable[None]]:
    gate = Gate(ReadWriteQuota(reads=LIMIT, writes=LIMIT, per=window), MaxInFlight(20), Cooldown())
    client = BaseClient(base_url=base_url, gate=gate, http=http, retry=RetryPolicy(attempts=50))
    client.http.event_hooks["request"].append(_note_send)

    async def get_one() -> None:
        await client.request("GET", "/r")

    return get_one


async def _note_send(request: httpx.Request) -> None:
    LAST_SENT[0] = time.perf_counter()


def aiolimiter_client(base_url: str, http: httpx.AsyncClient, window: float) -> Callable[[], Awaitable[None]]:
    limiter = AsyncLimiter(LIMIT, window)
    return lambda: retry_on_429(http, f"{base_url}/r", limiter)


def naive(base_url: str, http: httpx.AsyncClient, window: float) -> Callable[[], Awaitable[None]]:
    return lambda: retry_on_429(http, f"{base_url}/r", None)


async def main() -> None:
    for window in WINDOWS:
        print(f"quota_utilisation: {N} GETs, {TASKS} tasks, server allows {LIMIT} per {window:g} s window")
        await run("adops-async gate (sliding log)", ours, window)
        await run(f"aiolimiter AsyncLimiter({LIMIT}, {window:g})", aiolimiter_client, window)
        await run("naive, retry on 429", naive, window)


if __name__ == "__main__":
    asyncio.run(main())
