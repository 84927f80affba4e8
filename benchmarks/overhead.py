"""The price of the pipeline: N GETs on loopback through our client vs raw httpx with the same AsyncClient.

The server (uvicorn on 127.0.0.1, its own process) has no limit, so only client-side cost differs. Both sides share
one httpx.AsyncClient configuration; ours adds the gate (MaxInFlight + Cooldown), auth, retry bookkeeping, error
decoding and JSON decoding. Reported as a ratio measured in the same run, sequentially and with 20 tasks, with no
observers ("off") and with every built-in subscriber on ("on": logging at info to a null handler, OpenTelemetry
with an SDK tracer provider and an exporter that drops spans, Prometheus on a registry of its own); the last column
is what observing costs per request (on vs off; the target is at most 10 %).

``N=1000 python benchmarks/overhead.py`` for a quicker run.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence

import httpx
from _strict_server import drive, serve
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

from adops_async import observe
from adops_async.extend import BaseClient, HeaderAuth
from adops_async.gates import Cooldown, Gate, MaxInFlight

N = int(os.environ.get("N", "5000"))


async def timed(get_one: Callable[[], Awaitable[object]], tasks: int) -> float:
    return await drive(get_one, N, tasks)


class DropSpans(SpanExporter):
    """An exporter that sends nowhere: the cost measured is making the spans, not shipping them."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def all_observers() -> list[observe.Observer]:
    quiet = logging.getLogger("benchmark.events")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(DropSpans()))
    return [
        observe.logging("info", logger=quiet),
        observe.opentelemetry(provider),
        observe.prometheus(CollectorRegistry()),
    ]


async def main() -> None:
    with serve(None) as base_url:
        async with httpx.AsyncClient(base_url=base_url, limits=httpx.Limits(max_connections=20)) as raw:

            async def raw_get() -> object:
                response = await raw.get("/r", headers={"Authorization": "Api-key k"})
                response.raise_for_status()
                return response.json()

            http = httpx.AsyncClient(limits=httpx.Limits(max_connections=20))

            def client(observers: list[observe.Observer]) -> BaseClient:
                return BaseClient(
                    base_url=base_url,
                    http=http,
                    auth=HeaderAuth("k", scheme="Api-key"),
                    gate=Gate(MaxInFlight(20), Cooldown()),
                    observers=observers,
                )

            off, on = client([]), client(all_observers())

            async def off_get() -> object:
                return (await off.request("GET", "/r")).data

            async def on_get() -> object:
                return (await on.request("GET", "/r")).data

            for warm in (raw_get, off_get, on_get):  # warm up connections on each
                await timed(warm, 20)
            print(f"overhead: {N:,} GETs on loopback, ours vs raw httpx (same AsyncClient settings)")
            for tasks in (1, 20):
                # alternate and keep the best of three, to damp the noise of a shared machine
                raw_s = min([await timed(raw_get, tasks) for _ in range(3)])
                off_s = min([await timed(off_get, tasks) for _ in range(3)])
                on_s = min([await timed(on_get, tasks) for _ in range(3)])
                print(
                    f"  {tasks:2d} task(s): raw httpx {N / raw_s:7.0f} req/s, adops-async {N / off_s:7.0f} req/s "
                    f"(ratio {off_s / raw_s:4.2f}x), observers on {N / on_s:7.0f} req/s (ratio {on_s / raw_s:4.2f}x,"
                    f" {100 * (on_s / off_s - 1):+5.1f} % per request)"
                )
            await http.aclose()


if __name__ == "__main__":
    asyncio.run(main())
