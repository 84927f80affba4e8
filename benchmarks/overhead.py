"""The price of the pipeline: N GETs on loopback through our client vs raw httpx with the same AsyncClient.

The server (uvicorn on 127.0.0.1, its own process) has no limit, so only client-side cost differs. Both sides share
one httpx.AsyncClient configuration; ours adds the gate (MaxInFlight + Cooldown), auth, retry bookkeeping, error
decoding and JSON decoding. Reported as a ratio measured in the same run, sequentially and with 20 tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from _strict_server import drive, serve

from adops_async.extend import BaseClient, HeaderAuth
from adops_async.gates import Cooldown, Gate, MaxInFlight

N = 5_000


async def timed(get_one: Callable[[], Awaitable[object]], tasks: int) -> float:
    return await drive(get_one, N, tasks)


async def main() -> None:
    with serve(None) as base_url:
        async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=20)) as raw:

            async def raw_get() -> object:
                response = await raw.get("/r", headers={"Authorization": "Api-key k"})
                response.raise_for_status()
                return response.json()

            http = httpx.AsyncClient(limits=httpx.Limits(max_connections=20))
            client = BaseClient(
                base_url=base_url,
                http=http,
                auth=HeaderAuth("k", scheme="Api-key"),
                gate=Gate(MaxInFlight(20), Cooldown()),
            )

            async def our_get() -> object:
                return (await client.request("GET", "/r")).data

            await timed(raw_get, 20)  # warm up connections on both
            await timed(our_get, 20)
            print(f"overhead: {N:,} GETs on loopback, ours vs raw httpx (same AsyncClient settings)")
            for tasks in (1, 20):
                # alternate and keep the best of three, to damp the noise of a shared machine
                raw_s = min([await timed(raw_get, tasks) for _ in range(3)])
                our_s = min([await timed(our_get, tasks) for _ in range(3)])
                print(
                    f"  {tasks:2d} task(s): raw httpx {N / raw_s:7.0f} req/s, adops-async {N / our_s:7.0f} req/s, "
                    f"ratio {our_s / raw_s:4.2f}x"
                )
            await http.aclose()


if __name__ == "__main__":
    asyncio.run(main())
