"""The sync sandboxes (deterministic delivery per vendor and day) served on 127.0.0.1, and what they should land."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from adops_async import AdOps
from adops_async.cli._sync import sync_sandbox_settings, sync_sandboxes
from adops_async.core.retry import RetryPolicy
from adops_async.sandbox import Sandbox, serve
from adops_async.sandbox._delivery import DeliveryFigures

SPEED = 200.0
ROWS = 6
VENDORS = ("appnexus", "ooyala", "adnuntius")
START = date(2024, 3, 1)


def day(n: int) -> date:
    return START + timedelta(days=n)


@dataclass
class Served:
    apps: dict[str, Sandbox]
    urls: dict[str, str]

    def figures(self, vendor: str) -> DeliveryFigures:
        figures: DeliveryFigures = getattr(self.apps[vendor], "delivery")  # noqa: B009
        return figures

    def violations(self) -> dict[str, list[Any]]:
        return {name: app.violations for name, app in self.apps.items() if app.violations}


@contextmanager
def served(rows: int = ROWS, **instead: Sandbox) -> Iterator[Served]:
    """The sync sandboxes on 127.0.0.1; ``instead``: a vendor's sandbox to serve in place of the usual one."""
    apps = {**sync_sandboxes(SPEED, rows=rows), **instead}
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(app)) for name, app in apps.items()}
        yield Served(apps, urls)


@asynccontextmanager
async def adops(sandboxes: Served, *vendors: str) -> AsyncIterator[AdOps]:
    """An AdOps on the sandboxes (retrying a download at once, so a fault costs no real time)."""
    settings: dict[str, Any] = {}
    for name in vendors or VENDORS:
        settings[name] = sync_sandbox_settings(name, sandboxes.apps[name], sandboxes.urls[name])
        settings[name]["retry"] = RetryPolicy(attempts=3, backoff=0.0, max_backoff=0.0)
    async with AsyncExitStack() as stack:
        yield await stack.enter_async_context(AdOps(**settings))


def expected_counts(sandboxes: Served, vendors: tuple[str, ...], first: int, last: int) -> dict[tuple[str, date], int]:
    """Rows per (vendor, day) the sandboxes serve for days ``first`` to ``last`` (inclusive)."""
    return {(v, day(n)): sandboxes.figures(v).count(day(n)) for v in vendors for n in range(first, last + 1)}


def expected_impressions(sandboxes: Served, vendor: str, n: int) -> int:
    return sum(line.impressions for line in sandboxes.figures(vendor).lines(day(n)))
