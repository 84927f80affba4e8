"""The sync itself: which windows to pull, pulling and loading each, and checking what a destination holds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio

from .._merge import merge
from ..core.client import BaseClient
from ..core.errors import AdOpsError
from ..core.jobs import JobQuota
from ._batches import BATCH_ROWS, Batcher
from ._dest import Destination, open_destination
from ._model import Checksum, Span, Window, WindowState, days
from ._sources import SOURCES, Pull, Source

__all__ = ["Problem", "SyncResult", "WindowResult", "plan", "sync", "verify"]


@dataclass(frozen=True)
class WindowResult:
    """How one window of a run ended: ``complete`` (loaded, or already complete and left alone is never listed) or
    ``failed`` (every attempt failed; ``error`` is the last one's)."""

    window: Window
    status: str
    rows: int = 0
    attempts: int = 0
    seconds: float = 0.0
    error: str | None = None
    spans: int = 1
    """The reports the window was pulled as: more than one when it was split (see ``docs/sync.md``)."""


@dataclass
class SyncResult:
    """Every window a run pulled, in the order they finished."""

    windows: list[WindowResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every window pulled is complete."""
        return all(result.status == "complete" for result in self.windows)

    @property
    def failed(self) -> list[WindowResult]:
        return sorted((r for r in self.windows if r.status != "complete"), key=lambda r: r.window)

    def rows(self) -> dict[str, int]:
        """Rows loaded per vendor."""
        counts: dict[str, int] = {}
        for result in self.windows:
            counts[result.window.vendor] = counts.get(result.window.vendor, 0) + result.rows
        return counts


def plan(
    vendor: str,
    stored: Iterable[WindowState],
    *,
    start: date | None,
    end: date,
    lookback: int,
) -> list[Window]:
    """The day windows of ``vendor`` to pull, oldest first.

    Every day from ``start`` (default: the vendor's earliest stored window, else the lookback alone) to ``end``
    (inclusive) that has no complete window, and the last ``lookback`` days up to ``end`` whatever their state.
    """
    if lookback < 0:
        raise ValueError("lookback must be 0 or more days")
    complete = {s.start for s in stored if s.vendor == vendor and s.status == "complete"}
    known = [s.start for s in stored if s.vendor == vendor]
    first = start if start is not None else min(known, default=end - timedelta(days=max(lookback, 1) - 1))
    settle = end - timedelta(days=lookback - 1) if lookback else end + timedelta(days=1)
    return [
        Window(vendor, day, day + timedelta(days=1))
        for day in days(first, end + timedelta(days=1))
        if day not in complete or day >= settle
    ]


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


#: A window's report that does not finish in time or hits the vendor's row cap is asked again as two halves, down to
#: spans this short (a day: 12 h, 6 h, 3 h, 1.5 h).
SHORTEST_SPAN = timedelta(hours=1)


def _too_big(error: AdOpsError) -> bool:
    """Whether ``error`` says the report was too big for one run: it did not finish in time (``timeout``, from the
    report's polling) or it reached the vendor's row cap (``row-cap``: Ooyala's ``ReportTruncated``)."""
    return error.code in ("timeout", "row-cap")


async def _window(
    client: BaseClient,
    source: Source,
    window: Window,
    destination: Destination,
    options: Mapping[str, Any],
    attempts: int,
) -> WindowResult:
    """Pull and load ``window``, ``attempts`` times at most; a failure of the vendor's (an :class:`AdOpsError`)
    is recorded in the destination and returned, anything else raised.

    A report too big for one run (:func:`_too_big`) is no failed attempt: its span is split in two and the window
    pulled again, every span's rows going into the one load (so the window still commits whole or not at all).
    Where the vendor's report cannot be asked for less than a day, or the span is already the shortest, the window
    fails at once: the same report would be as big again.
    """
    started = time.monotonic()
    spans = [Span.of(window)]
    error: str | None = None
    attempt = 0
    while attempt < attempts:
        attempt += 1
        pull = Pull()
        batcher = Batcher(source, window, source.account(client))
        load = await anyio.to_thread.run_sync(destination.begin, window, source)
        span = spans[0]
        try:
            for span in spans:
                async with aclosing(source.pull(client, span.start, span.end, options, pull.report_ids)) as rows:
                    async for row in rows:
                        batcher.add(row)
                        if batcher.size >= BATCH_ROWS:
                            await anyio.to_thread.run_sync(load.add, *batcher.take())
            await anyio.to_thread.run_sync(load.add, *batcher.take())
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(load.abort)
            if not isinstance(exc, AdOpsError):
                raise
            error = str(exc)
            if not _too_big(exc):
                continue
            if not source.splits:
                error = f"{exc} (a day is the shortest window {window.vendor} reports are asked for)"
                break
            if span.end - span.start < 2 * SHORTEST_SPAN:
                error = f"{exc} (already split down to {span})"
                break
            at = spans.index(span)
            spans[at : at + 1] = span.halves()
            attempt -= 1
            continue
        checksum = batcher.checksum
        state = WindowState(
            vendor=window.vendor,
            start=window.start,
            end=window.end,
            status="complete",
            rows=checksum.rows,
            bytes=checksum.bytes,
            checksum=checksum.hexdigest(),
            completed_at=_now(),
            attempted_at=_now(),
            attempts=attempt,
            report_ids=",".join(pull.report_ids) or None,
        )
        with anyio.CancelScope(shield=True):  # a commit is never half done
            await anyio.to_thread.run_sync(load.commit, state)
        return WindowResult(window, "complete", checksum.rows, attempt, time.monotonic() - started, spans=len(spans))
    assert error is not None
    failed = WindowState(
        vendor=window.vendor,
        start=window.start,
        end=window.end,
        status="failed",
        attempted_at=_now(),
        attempts=attempt,
        error=error,
    )
    await anyio.to_thread.run_sync(destination.record_failure, failed)
    return WindowResult(window, "failed", 0, attempt, time.monotonic() - started, error, len(spans))


#: Windows at once of a vendor whose client has no report budget.
CONCURRENCY = 2


def _concurrency(vendor: str, client: BaseClient, given: int | Mapping[str, int] | None) -> int:
    """Windows of ``vendor`` pulled at once: as ``given`` (one number for every vendor, or per vendor), else as many
    as the client's report budget lets run (AppNexus: its ``report_slots``, 5 pending reports), else
    :data:`CONCURRENCY`. More than the budget is safe (a report waits for a place, never refused), not faster."""
    if isinstance(given, Mapping):
        given = given.get(vendor)
    if given is None:
        budget = getattr(client, "report_slots", None)
        given = budget.limit if isinstance(budget, JobQuota) else CONCURRENCY
    if given < 1:
        raise ValueError(f"concurrency of {vendor} must be at least 1")
    return given


async def sync(
    clients: Mapping[str, BaseClient],
    to: str | Path | Destination,
    *,
    start: date | None = None,
    end: date | None = None,
    lookback: int = 3,
    vendors: Iterable[str] | None = None,
    concurrency: int | Mapping[str, int] | None = None,
    attempts: int = 3,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[WindowResult], None] | None = None,
) -> SyncResult:
    """Bring ``to`` up to date with each vendor's delivery report; see :meth:`adops_async.AdOps.sync`."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    wanted = list(vendors) if vendors is not None else [v for v in clients if v in SOURCES]
    for vendor in wanted:
        if vendor not in SOURCES:
            raise AdOpsError(f"{vendor} has no delivery report to sync", vendor=vendor)
        if vendor not in clients:
            raise AdOpsError(f"{vendor} is not configured", vendor=vendor)
    if not wanted:
        raise AdOpsError("no configured vendor has a delivery report to sync")
    last = end if end is not None else datetime.now(timezone.utc).date() - timedelta(days=1)
    if start is not None and start > last:
        raise ValueError(f"start {start} is after end {last}")
    sources = {vendor: SOURCES[vendor] for vendor in wanted}
    destination = to if isinstance(to, Destination) else open_destination(to, sources)
    result = SyncResult()
    try:
        stored = await anyio.to_thread.run_sync(destination.windows)
        limits = {
            vendor: anyio.CapacityLimiter(_concurrency(vendor, clients[vendor], concurrency)) for vendor in wanted
        }

        def one(window: Window) -> Callable[[], AsyncIterator[WindowResult]]:
            async def pulled() -> AsyncIterator[WindowResult]:
                async with limits[window.vendor]:
                    yield await _window(
                        clients[window.vendor],
                        sources[window.vendor],
                        window,
                        destination,
                        (options or {}).get(window.vendor, {}),
                        attempts,
                    )

            return pulled

        windows = [w for v in wanted for w in plan(v, stored, start=start, end=last, lookback=lookback)]
        await anyio.to_thread.run_sync(destination.record_pending, windows)
        async with merge({str(w): one(w) for w in windows}) as finished:
            async for window_result in finished:
                result.windows.append(window_result)
                if progress is not None:
                    progress(window_result)
    finally:
        if not isinstance(to, Destination):
            await anyio.to_thread.run_sync(destination.close)
    return result


@dataclass(frozen=True)
class Problem:
    """Something ``verify`` found wrong with a stored window (``kind``: ``gap``, ``failed``, ``pending``, ``rows``,
    ``checksum`` or ``unrecorded``)."""

    vendor: str
    start: date
    end: date
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{Window(self.vendor, self.start, self.end)}: {self.kind}: {self.detail}"


def verify(to: str | Path | Destination) -> list[Problem]:
    """Re-check what ``to`` holds (blocking): every vendor's days from its first window to its last are complete,
    each complete window's ``delivery`` rows number what its state says, and its raw rows hash to its checksum;
    ``delivery`` rows of a day without a complete window are ``unrecorded``. An empty list means no gap."""
    if not isinstance(to, Destination) and not Path(to).exists():
        raise ValueError(f"{to}: nothing there to verify")
    destination = to if isinstance(to, Destination) else open_destination(to, SOURCES)
    problems: list[Problem] = []
    try:
        states = destination.windows()
        counts = destination.delivery_counts()
        by_vendor: dict[str, dict[date, WindowState]] = {}
        for state in states:
            by_vendor.setdefault(state.vendor, {})[state.start] = state
        covered: set[tuple[str, date]] = set()
        for vendor, stored in sorted(by_vendor.items()):
            first, last = min(stored), max(s.end for s in stored.values())
            for day in days(first, last):
                found = stored.get(day)
                if found is None:
                    if not any(s.start <= day < s.end for s in stored.values()):
                        problems.append(Problem(vendor, day, day + timedelta(days=1), "gap", "no window"))
                    continue
                state = found
                if state.status != "complete":
                    detail = state.error or "never pulled whole"
                    problems.append(Problem(vendor, state.start, state.end, state.status, detail))
                    continue
                covered.update((vendor, d) for d in days(state.start, state.end))
                problems.extend(_check(destination, state, counts))
        for (vendor, day), count in sorted(counts.items()):
            if (vendor, day) not in covered:
                problems.append(Problem(vendor, day, day + timedelta(days=1), "unrecorded", f"{count} rows"))
    finally:
        if not isinstance(to, Destination):
            destination.close()
    return sorted(problems, key=lambda p: (p.vendor, p.start, p.kind))


def _check(destination: Destination, state: WindowState, counts: Mapping[tuple[str, date], int]) -> list[Problem]:
    window = state.window
    stored = sum(counts.get((state.vendor, day), 0) for day in days(state.start, state.end))
    if stored != state.rows:
        return [Problem(state.vendor, state.start, state.end, "rows", f"{stored} delivery rows, {state.rows} pulled")]
    source = SOURCES.get(state.vendor)
    if source is None:
        return []
    checksum = Checksum()
    for row in destination.raw_rows(state.vendor, window, source.raw_columns):
        checksum.add(row)
    if checksum.rows != state.rows or checksum.hexdigest() != state.checksum:
        detail = f"{checksum.rows} raw rows hash to {checksum.hexdigest()[:12]}, pulled {state.rows}"
        return [Problem(state.vendor, state.start, state.end, "checksum", f"{detail} hashing to {state.checksum}")]
    return []
