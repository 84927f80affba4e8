"""``adops demo``: the four sandboxes on 127.0.0.1, one cross-vendor pull and one report per vendor, then a table.

Everything goes through the public API over real sockets; the last column is the sandboxes' own record of rule
violations, which must be zero.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

import anyio

from ..core.client import BaseClient
from ..core.policies import Priority
from ..core.priority import priority
from ..ops import AdOps
from ..sandbox import Sandbox
from ._status import Status
from ._vendors import VENDORS


class _Tally:
    def __init__(self, names: list[str]) -> None:
        self.entities = dict.fromkeys(names, 0)
        self.rows: dict[str, int | None] = dict.fromkeys(names)
        self.pull_done: dict[str, float] = {}
        self.report_done: dict[str, float] = {}
        self.errors: dict[str, str] = {}

    def line(self) -> str:
        parts = []
        for name, count in self.entities.items():
            rows = self.rows[name]
            report = "" if rows is None else f" +{rows:,} rows"
            parts.append(f"{name} {count:,}{report}")
        return "  " + " | ".join(parts)


async def demo(apps: Mapping[str, Sandbox], urls: Mapping[str, str], speed: float) -> int:
    names = list(VENDORS)
    tally = _Tally(names)
    started = time.perf_counter()
    print(f"adops demo: four sandboxes on 127.0.0.1, a vendor minute lasts {60 / speed:g} s", file=sys.stderr)
    async with AsyncExitStack() as stack:
        clients: dict[str, BaseClient] = {}
        for name in names:
            spec = VENDORS[name]
            client = spec.client(**spec.sandbox.settings(apps[name], urls[name]))
            clients[name] = await stack.enter_async_context(client)
        given: dict[str, Any] = dict(clients)  # Any: AdOps takes the vendors beside buffer= and observers=
        ops = AdOps(**given)
        await stack.enter_async_context(ops)
        status = Status()
        status.progress = tally.line
        for name, client in clients.items():
            status.watch(name, client)

        async def report(name: str) -> None:
            spec = VENDORS[name]
            assert spec.report is not None
            tally.rows[name] = 0
            try:
                job = await spec.report.run(clients[name], spec.sandbox.report_example)
                async for _ in job.rows():
                    tally.rows[name] = (tally.rows[name] or 0) + 1
            except Exception as exc:  # shown in the table; the demo goes on with the other vendors
                tally.errors[name] = f"report: {exc}"
            tally.report_done[name] = time.perf_counter() - started

        async with status.shown():
            with priority(Priority.BULK):
                async with anyio.create_task_group() as work:
                    for name in names:
                        if VENDORS[name].report is not None:
                            work.start_soon(report, name)
                    wanted = {name: VENDORS[name].sandbox.demo_pull for name in names}
                    async with ops.paginate(wanted, on_error="collect") as stream:
                        async for entity in stream:
                            tally.entities[entity.vendor] += 1
                            tally.pull_done[entity.vendor] = time.perf_counter() - started
                    for failure in stream.failures:
                        tally.errors[failure.source] = str(failure.error)
        print(tally.line(), file=sys.stderr)
        return _table(names, tally, apps, clients, time.perf_counter() - started)


def _table(
    names: list[str], tally: _Tally, apps: Mapping[str, Sandbox], clients: Mapping[str, BaseClient], total: float
) -> int:
    header = ("vendor", "entities", "report rows", "requests", "time s", "gate waits", "429s seen", "violations")
    rows = []
    violations = 0
    for name in names:
        stats = clients[name].gate.stats()
        done = max(tally.pull_done.get(name, 0.0), tally.report_done.get(name, 0.0))
        violations += len(apps[name].violations)
        report_rows = tally.rows[name]
        rows.append(
            (
                name,
                f"{tally.entities[name]:,}",
                "-" if report_rows is None else f"{report_rows:,}",
                f"{len(apps[name].records):,}",
                f"{done:.1f}",
                f"{stats.waits:,}",
                str(stats.responses_429),
                str(len(apps[name].violations)),
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [
            cell.rjust(width) if i else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=False))
        ]
        print("  ".join(cells))
    for name, error in tally.errors.items():
        print(f"{name}: {error}")
    print(f"total {total:.1f} s; rule violations recorded by the sandboxes: {violations}")
    return 0 if violations == 0 and not tally.errors else 1
