"""Every entity exactly once under mixed transient faults: a large pull per vendor, fault-free then faulted.

For each vendor whose lists come in pages (AppNexus line items by ``start_element``/``num_elements``, PulsePro
inspections by ``page``/``page_size``, Adnuntius line items by ``page``/``pageSize``), a sandbox seeded with
``ADOPS_BENCH_FAULT_ENTITIES`` entities (default 100,000) is served on a real socket with a compressed clock, so the
vendor's rate rule holds and ten vendor minutes pass in ten seconds. The vendor's public client pulls every entity
twice in one process, each time from a fresh sandbox: fault-free (the baseline), then while the consumer injects one
transient fault through the sandbox's public Fault plan every ``FAULT_EVERY`` entities, cycling through 503, 503 with
``Retry-After``, 502, 500, a storm of three 429s with ``Retry-After``, a connection reset before the body, a body cut
short of its ``Content-Length``, a body trickled past the client's timeout, and an endless body.

Figures per vendor: entities expected / yielded / unique, faults taken (a fault with ``count=3`` is three faults),
extra requests per fault (requests the sandbox recorded beyond the baseline, per fault: 1.00 is one retry each),
elapsed under faults as a ratio to the baseline, and the sandbox's violations of the vendor's rule (must be 0).
Adnuntius does not publish its limit: its sandbox enforces one (429 + ``Retry-After``, a request sent into an open
``Retry-After`` window is a violation), and those refusals, which depend on timing, are counted apart from the extra
requests.

Ooyala is left out: its Booking lists come whole in one response (no walk to break), and its report is one
streamed download, which by design is never retried once its body is handed over (a fault mid-body is a typed
``TransportError``, see ``docs/faults.md``).

Exits 1 when an entity is lost or duplicated, a violation is recorded, or a pull raises.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio

from adops_async import AdOpsError, AppNexus, PulsePro, ScaledClock
from adops_async.sandbox import Fault, Sandbox, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.vendors.adnuntius import Adnuntius

ENTITIES = int(os.environ.get("ADOPS_BENCH_FAULT_ENTITIES", "100000"))
FAULT_EVERY = max(1, ENTITIES // 20)
"""Entities between two injected faults: about 20 injections (the 429 storm is three faults) spread over the walk."""
SPEED = 60.0
"""Vendor seconds per real second: AppNexus's 1,000 pages at 100 reads a minute take 10 s."""
TIMEOUT = 0.5
"""The clients' attempt bound (real seconds): a slow or endless body is cut off after it, then retried."""
PAGE = 100
ADNUNTIUS_PAGE = 500
"""Adnuntius documents no page size limit; 500 keeps its sandbox (which filters the collection per page) off the CPU."""
ADNUNTIUS_LIMIT = (20, 60.0)
"""The Adnuntius sandbox's limit per token (requests, vendor seconds): the client does not know it and learns it from
429s, so a pull at full speed meets it a few times."""


@dataclass
class Vendor:
    """How to build one vendor's sandbox and client, what to pull, and how its ``Retry-After`` is read."""

    name: str
    sandbox: Callable[[], Sandbox]
    client: Callable[[Sandbox, str], AbstractAsyncContextManager[Any]]
    pull: Callable[[Any], Any]
    path: str
    """The list's path: faults are injected there only (never on a login)."""
    retry_after: str
    """One ``Retry-After`` as the client reads it: real seconds for clients on real time, vendor ones on the
    sandbox's clock (0.1 real seconds either way)."""
    page: int = PAGE


def appnexus_sandbox() -> Sandbox:
    app = AppNexusSandbox(speed=SPEED)
    app.seed_line_items(ENTITIES, advertisers=40)
    return app


def pulsepro_sandbox() -> Sandbox:
    return PulseProSandbox(speed=SPEED, inspections=ENTITIES)


def adnuntius_sandbox() -> Sandbox:
    app = AdnuntiusSandbox(speed=SPEED, rate_limit=ADNUNTIUS_LIMIT)
    app.seed("lineitems", ({"id": f"li_{n}", "name": f"Line item {n}", "order": {"id": "o"}} for n in range(ENTITIES)))
    return app


@asynccontextmanager
async def appnexus(app: Sandbox, url: str) -> AsyncIterator[Any]:
    async with AppNexus(
        username="api-user", password="secret", base_url=url, clock=ScaledClock(SPEED), timeout=TIMEOUT
    ) as an:
        yield an


@asynccontextmanager
async def pulsepro(app: Sandbox, url: str) -> AsyncIterator[Any]:
    clock = app.client_clock()
    async with PulsePro(
        api_key="test-key", base_url=f"{url}/api/v1", clock=clock, page_size=PAGE, timeout=TIMEOUT
    ) as pp:
        yield pp


@asynccontextmanager
async def adnuntius(app: Sandbox, url: str) -> AsyncIterator[Any]:
    async with Adnuntius(
        username="user@example.com",
        password="secret",
        context="network_1",
        base_url=url,
        page_size=ADNUNTIUS_PAGE,
        timeout=TIMEOUT,
    ) as adn:
        yield adn


VENDORS = [
    Vendor("appnexus", appnexus_sandbox, appnexus, lambda an: an.line_items.list(), "/line-item", "6"),
    Vendor("pulsepro", pulsepro_sandbox, pulsepro, lambda pp: pp.inspections.list(), "/api/v1/inspections", "6"),
    Vendor(
        "adnuntius",
        adnuntius_sandbox,
        adnuntius,
        lambda adn: adn.line_items.list(),
        "/api/v1/lineitems",
        "0.1",
        ADNUNTIUS_PAGE,
    ),
]


def fault_cycle(vendor: Vendor) -> list[Fault]:
    """One round of every transient fault kind, on the vendor's list path."""
    path, wait = vendor.path, vendor.retry_after
    return [
        Fault("status", path=path, status=503),
        Fault("status", path=path, status=503, headers={"Retry-After": wait}),
        Fault("status", path=path, status=502, body=b"<html>Bad Gateway</html>", headers={"content-type": "text/html"}),
        Fault("status", path=path, status=500),
        Fault("status", path=path, status=429, count=3, headers={"Retry-After": wait}),
        Fault("reset", path=path),
        Fault("truncate", path=path),
        Fault("slow", path=path, delay=TIMEOUT / 4),
        Fault("endless", path=path, body=b" ", delay=0.05),
    ]


@dataclass
class Run:
    yielded: int = 0
    unique: int = 0
    requests: int = 0
    refusals: int = 0
    """The sandbox's own rate refusals (a 429 it sent, not a fault)."""
    faults: int = 0
    violations: int = 0
    seconds: float = 0.0
    error: str = ""


async def pull(vendor: Vendor, faulty: bool) -> Run:
    app = vendor.sandbox()
    run = Run()
    injected: list[tuple[Fault, int]] = []
    kinds = itertools.cycle(fault_cycle(vendor))
    seen: set[Any] = set()
    with serve(app) as url:
        async with vendor.client(app, url) as client:
            started = time.perf_counter()
            try:
                async for entity in vendor.pull(client):
                    run.yielded += 1
                    seen.add(entity.id)
                    if faulty and run.yielded % FAULT_EVERY == 0 and run.yielded < ENTITIES - 5 * vendor.page:
                        template = next(kinds)
                        fault = Fault(**{**vars(template), "headers": dict(template.headers)})
                        injected.append((fault, fault.count))
                        app.inject(fault)
            except AdOpsError as exc:
                run.error = f"{type(exc).__name__}: {exc}"
            run.seconds = time.perf_counter() - started
        app.faults.clear()
    run.unique = len(seen)
    run.requests = app.count(path=vendor.path)
    run.refusals = app.responses_429 if isinstance(app, AdnuntiusSandbox) else 0
    run.faults = sum(before - fault.count for fault, before in injected)
    run.violations = len(app.violations)
    return run


async def main() -> int:
    print(f"faults: a pull of {ENTITIES:,} entities per vendor, fault-free then with a transient fault injected every")
    print(f"        {FAULT_EVERY:,} entities (sandboxes at speed {SPEED:g}, client attempt bound {TIMEOUT:g} s)")
    print(
        f"  {'vendor':<10} {'expected':>9} {'yielded':>9} {'unique':>9} {'faults':>6} {'extra req/fault':>15}  "
        f"{'elapsed vs fault-free':<26} violations"
    )
    failed = False
    for vendor in VENDORS:
        base = await pull(vendor, faulty=False)
        hurt = await pull(vendor, faulty=True)
        extra = (hurt.requests - hurt.refusals) - (base.requests - base.refusals)
        complete = hurt.faults and not (base.error or hurt.error)  # a pull that raised has no meaningful ratio
        per_fault = f"{extra / hurt.faults:.2f}" if complete else "-"
        elapsed = (
            f"{hurt.seconds / base.seconds:.2f}x ({base.seconds:.1f} s -> {hurt.seconds:.1f} s)" if complete else "-"
        )
        refusals = f"  (the vendor's own 429s: {base.refusals} / {hurt.refusals})" if base.refusals else ""
        print(
            f"  {vendor.name:<10} {ENTITIES:>9,} {hurt.yielded:>9,} {hurt.unique:>9,} {hurt.faults:>6} "
            f"{per_fault:>15}  {elapsed:<26} {base.violations + hurt.violations}{refusals}"
        )
        for label, run in (("fault-free", base), ("faulted", hurt)):
            exact = run.yielded == run.unique == ENTITIES
            if run.error or not exact or run.violations:
                failed = True
                problem = run.error or f"{run.yielded:,} yielded, {run.unique:,} unique, {run.violations} violations"
                print(f"    FAILED ({label}): {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
