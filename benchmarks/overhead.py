"""The price of the pipeline: N GETs on loopback through our client vs raw httpx with the same AsyncClient settings.

The server (uvicorn on 127.0.0.1, its own process) has no limit, so only client-side cost differs. Both sides use
the same ``httpx.AsyncClient`` configuration; ours adds the gate (MaxInFlight + Cooldown), auth, retry bookkeeping,
error decoding and JSON decoding. Three variants are measured in the same run, sequentially (1 task) and with 20
tasks: raw httpx, our client with no observers ("off"), and with every built-in subscriber on ("on": logging at
info to a null handler, OpenTelemetry with an SDK tracer provider and an exporter that drops spans, Prometheus on a
registry of its own).

The machine may be shared, so the variants are interleaved: the N requests of each are cut into blocks of ``BLOCK``,
and each round runs one block of every variant, in an order that rotates from round to round. A ratio is the median
over rounds of the ratio of the two blocks of that round (so a burst of load elsewhere hits both sides of a ratio
alike). Printed: ``ours`` (off vs raw: the target is at most 1.10x with one task) and ``observing`` (on vs off: the
target is at most +10 % per request), each in wall-clock time and in this process's CPU time (the client's own work,
without the server's or other processes' share of the machine).

``N=1000 python benchmarks/overhead.py`` for a quicker run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence

import httpx
from _strict_server import serve
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry

from adops_async import observe
from adops_async.extend import BaseClient, HeaderAuth
from adops_async.gates import Cooldown, Gate, MaxInFlight

N = int(os.environ.get("N", "5000"))
BLOCK = int(os.environ.get("BLOCK", "250"))

Get = Callable[[], Awaitable[object]]


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


async def block(get_one: Get, requests: int, tasks: int) -> tuple[float, float]:
    """``requests`` calls of ``get_one`` from ``tasks`` workers sharing one queue: (wall seconds, CPU seconds)."""
    todo = iter(range(requests))

    async def worker() -> None:
        for _ in todo:
            await get_one()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def interleaved(variants: dict[str, Get], tasks: int) -> dict[str, list[tuple[float, float]]]:
    """Every variant's blocks, round by round, the order rotating each round."""
    names = list(variants)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for round_ in range(max(1, N // BLOCK)):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            results[name].append(await block(variants[name], BLOCK, tasks))
    return results


def ratio(results: dict[str, list[tuple[float, float]]], top: str, bottom: str, column: int) -> float:
    """The median over rounds of ``top``'s block time over ``bottom``'s (``column`` 0: wall, 1: CPU)."""
    return statistics.median(a[column] / b[column] for a, b in zip(results[top], results[bottom], strict=True))


async def main() -> None:
    with serve(None) as base_url:
        limits = httpx.Limits(max_connections=20)
        async with httpx.AsyncClient(limits=limits) as raw, httpx.AsyncClient(limits=limits) as http:

            async def raw_get() -> object:
                response = await raw.get(f"{base_url}/r", headers={"Authorization": "Api-key k"})
                response.raise_for_status()
                return response.json()

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

            variants = {"raw": raw_get, "off": off_get, "on": on_get}
            for warm in variants.values():  # open the connections, fill every cache
                await block(warm, 200, 20)
            print(f"overhead: {N:,} GETs per variant on loopback, interleaved in blocks of {BLOCK}")
            for tasks in (1, 20):
                results = await interleaved(variants, tasks)
                rate = {name: N / sum(wall for wall, _ in blocks) for name, blocks in results.items()}
                us = {name: 1e6 * sum(cpu for _, cpu in blocks) / N for name, blocks in results.items()}
                print(
                    f"  {tasks:2d} task(s): req/s raw {rate['raw']:5.0f}, off {rate['off']:5.0f}, on {rate['on']:5.0f};"
                    f" CPU us/req raw {us['raw']:4.0f}, off {us['off']:4.0f}, on {us['on']:4.0f}\n"
                    f"      ours vs raw httpx: {ratio(results, 'off', 'raw', 0):4.2f}x wall,"
                    f" {ratio(results, 'off', 'raw', 1):4.2f}x CPU;"
                    f" observing (on vs off): {100 * (ratio(results, 'on', 'off', 0) - 1):+5.1f} % wall,"
                    f" {100 * (ratio(results, 'on', 'off', 1) - 1):+5.1f} % CPU per request"
                )


if __name__ == "__main__":
    asyncio.run(main())
