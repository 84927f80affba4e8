"""``adops sync`` and ``adops verify``: delivery reports into DuckDB or Parquet, and a check of what landed."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from datetime import date
from typing import Any

from ..ops import AdOps
from ..sandbox import Sandbox, serve
from ._vendors import VENDORS, UsageError, load_config, settings, unknown

__all__ = ["SANDBOX_ROWS", "SYNC_VENDORS", "run_sync", "run_verify", "sync_sandbox_settings", "sync_sandboxes"]

#: The vendors with a delivery report (PulsePro has none).
SYNC_VENDORS = tuple(name for name, spec in VENDORS.items() if spec.delivery is not None)
#: The most delivery rows a day has in the sync sandboxes.
SANDBOX_ROWS = 20


def sync_sandboxes(speed: float, *, rows: int = SANDBOX_ROWS) -> dict[str, Sandbox]:
    """The sandboxes ``adops sync --sandbox`` pulls from: each serves deterministic delivery per (vendor, day)
    (``app.delivery``, a :class:`~adops_async.sandbox._delivery.DeliveryFigures`; ``app.delivery.revise(day)``
    changes a day's figures)."""
    built = {name: VENDORS[name].sandbox.delivery for name in SYNC_VENDORS}
    return {name: build(speed, rows) for name, build in built.items() if build is not None}


def sync_sandbox_settings(vendor: str, app: Sandbox, url: str) -> dict[str, Any]:
    """Client arguments for a sync sandbox: the vendor's ``delivery_settings``, else the CLI's (Ooyala's add its
    clock: its report polls wait in vendor seconds, so they shrink with the sandbox's speed)."""
    sandbox = VENDORS[vendor].sandbox
    return (sandbox.delivery_settings or sandbox.settings)(app, url)


def _day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{what}: expected YYYY-MM-DD, got {text!r}") from None


def _vendors(args: argparse.Namespace) -> list[str]:
    for name in args.vendor or ():
        if name not in SYNC_VENDORS:
            raise unknown("vendor with a delivery report", name, SYNC_VENDORS)
    return list(dict.fromkeys(args.vendor)) if args.vendor else list(SYNC_VENDORS)


def _settings(args: argparse.Namespace, names: list[str], stack: ExitStack) -> dict[str, dict[str, Any]]:
    if args.sandbox:
        apps = sync_sandboxes(args.speed)
        return {name: sync_sandbox_settings(name, apps[name], stack.enter_context(serve(apps[name]))) for name in names}
    config = load_config(args.config)
    if args.vendor:
        return {name: settings(VENDORS[name], config.get(name, {})) for name in names}
    found = {}
    for name in names:  # without --vendor: every vendor with credentials
        try:
            found[name] = settings(VENDORS[name], config.get(name, {}))
        except UsageError as exc:
            if "incomplete" in str(exc):
                raise
    if not found:
        raise UsageError("no vendor has credentials: see adops --help, or use --sandbox")
    return found


async def run_sync(args: argparse.Namespace) -> int:
    names = _vendors(args)
    start, end = _day(args.start, "--start"), _day(args.end, "--end")
    started = time.perf_counter()
    with ExitStack() as stack:
        arguments: dict[str, Any] = _settings(args, names, stack)

        def shown(result: Any) -> None:
            tries = "" if result.attempts <= 1 else f" after {result.attempts} attempts"
            if result.spans > 1:  # split: its report did not finish in time or hit the vendor's row cap
                tries += f" as {result.spans} reports"
            what = f"{result.rows:,} rows" if result.status == "complete" else f"FAILED: {result.error}"
            print(f"{result.window}: {what}{tries} ({result.seconds:.1f} s)", file=sys.stderr, flush=True)

        async with AdOps(**arguments) as ops:
            result = await ops.sync(
                args.to, start=start, end=end, lookback=args.lookback, vendors=list(arguments), progress=shown
            )
            waits = {name: client.gate.stats().waits for name, client in ops.clients.items()}
    header = ("vendor", "windows", "complete", "failed", "rows", "gate waits")
    lines = [header]
    for name in arguments:
        mine = [r for r in result.windows if r.window.vendor == name]
        done = sum(r.status == "complete" for r in mine)
        rows = sum(r.rows for r in mine)
        lines.append((name, str(len(mine)), str(done), str(len(mine) - done), f"{rows:,}", str(waits.get(name, 0))))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        )
    print(f"{time.perf_counter() - started:.1f} s into {args.to}")
    if result.ok:
        return 0
    print("failed windows:", file=sys.stderr)
    for failed in result.failed:
        print(f"  {failed.window}: {failed.error}", file=sys.stderr)
    return 1


def run_verify(args: argparse.Namespace) -> int:
    from ..sync import verify

    problems = verify(args.to)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {args.to}", file=sys.stderr)
        return 1
    print(f"{args.to}: every stored window is complete and checks out", file=sys.stderr)
    return 0
