"""The price of the pipeline: N GETs on loopback through our client vs raw httpx with the same AsyncClient settings.

The server (uvicorn on 127.0.0.1, its own process) has no limit, so only client-side cost differs. Both sides use
the same ``httpx.AsyncClient`` configuration; ours adds the gate (MaxInFlight + Cooldown), auth, retry bookkeeping,
error decoding and JSON decoding. Four variants are measured in the same run, sequentially (1 task) and with 20
tasks: raw httpx, our client with no observers ("off"), with every built-in subscriber on ("on": logging at
info to a null handler, OpenTelemetry with an SDK tracer provider and an exporter that drops spans, Prometheus on a
registry of its own), and "floor": the off client with the same libraries' work done by hand around each call (one
span, made current and ended, with the attributes the HTTP conventions ask for and the vendor, not our own
``adops.priority`` and ``adops.gate_wait``; one log record handled; the two counters and the histogram a call
moves; not the gauges, read once a second). "floor" is the least any subscriber could cost, so on
vs floor is the part that is ours.

The machine may be shared, so the variants are interleaved: the N requests of each are cut into blocks of ``BLOCK``,
and each round runs one block of every variant, in an order that rotates from round to round. A ratio is the median
over rounds of the ratio of the two blocks of that round (so a burst of load elsewhere hits both sides of a ratio
alike). Printed: ``ours vs raw httpx`` (off vs raw: the target is at most 1.10x with one task), ``observing`` (on
vs off: the target is at most +10 % per request), ``libraries alone`` (floor vs off) and ``ours`` (on vs floor),
each in wall-clock time and in this process's CPU time (the client's own work, without the server's or other
processes' share of the machine).

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
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry, Counter, Histogram

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


def quiet_logger(name: str) -> logging.Logger:
    """A logger whose records reach a null handler: the cost of making and handling them, not of writing them."""
    quiet = logging.getLogger(name)
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    return quiet


def span_provider() -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(DropSpans()))
    return provider


def all_observers() -> list[observe.Observer]:
    return [
        observe.logging("info", logger=quiet_logger("benchmark.events")),
        observe.opentelemetry(span_provider()),
        observe.prometheus(CollectorRegistry()),
    ]


def libraries_alone(client: BaseClient) -> Get:
    """A GET through ``client`` (no observers) with, around it, what the three subscribers ask of their libraries
    for such a call, made by hand the cheapest way each library offers."""
    log = quiet_logger("benchmark.floor")
    log.setLevel(logging.INFO)
    tracer = span_provider().get_tracer("benchmark")
    start = {"http.request.method": "GET", "url.template": "/r", "adops.vendor": client.vendor}
    registry = CollectorRegistry()
    responses = Counter("floor_requests", "", ["vendor", "status"], registry=registry).labels(client.vendor, "200")
    latency = Histogram("floor_seconds", "", ["vendor"], registry=registry).labels(client.vendor)
    calls = Counter("floor_calls", "", ["vendor", "outcome"], registry=registry).labels(client.vendor, "ok")

    async def get() -> object:
        span = tracer.start_span("GET /r", kind=trace.SpanKind.CLIENT, attributes=start)
        token = context.attach(trace.set_span_in_context(span))
        sent = time.perf_counter()
        data = (await client.request("GET", "/r")).data
        responses.inc()
        latency.observe(time.perf_counter() - sent)
        calls.inc()
        span.set_attribute("http.response.status_code", 200)
        span.end()
        context.detach(token)
        if log.isEnabledFor(logging.INFO):
            log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, "GET /r 200 ok", (), None))
        return data

    return get


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


def percent(results: dict[str, list[tuple[float, float]]], variant: str, column: int, base: str = "off") -> float:
    """How much more ``variant`` costs than ``base``, in per cent (``column`` 0: wall, 1: CPU)."""
    return 100 * (ratio(results, variant, base, column) - 1)


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

            variants = {"raw": raw_get, "off": off_get, "on": on_get, "floor": libraries_alone(off)}
            for warm in variants.values():  # open the connections, fill every cache
                await block(warm, 200, 20)
            print(f"overhead: {N:,} GETs per variant on loopback, interleaved in blocks of {BLOCK}")
            for tasks in (1, 20):
                results = await interleaved(variants, tasks)

                rate = {name: N / sum(wall for wall, _ in blocks) for name, blocks in results.items()}
                us = {name: 1e6 * sum(cpu for _, cpu in blocks) / N for name, blocks in results.items()}
                print(
                    f"  {tasks:2d} task(s): req/s raw {rate['raw']:5.0f}, off {rate['off']:5.0f}, on {rate['on']:5.0f},"
                    f" floor {rate['floor']:5.0f}; CPU us/req raw {us['raw']:4.0f}, off {us['off']:4.0f},"
                    f" on {us['on']:4.0f}, floor {us['floor']:4.0f}\n"
                    f"      ours vs raw httpx: {ratio(results, 'off', 'raw', 0):4.2f}x wall,"
                    f" {ratio(results, 'off', 'raw', 1):4.2f}x CPU;"
                    f" observing (on vs off): {percent(results, 'on', 0):+5.1f} % wall,"
                    f" {percent(results, 'on', 1):+5.1f} % CPU per request;\n"
                    f"      libraries alone (floor vs off): {percent(results, 'floor', 0):+5.1f} % wall,"
                    f" {percent(results, 'floor', 1):+5.1f} % CPU; ours (on vs floor):"
                    f" {percent(results, 'on', 0, 'floor'):+5.1f} % wall,"
                    f" {percent(results, 'on', 1, 'floor'):+5.1f} % CPU"
                )


if __name__ == "__main__":
    asyncio.run(main())
