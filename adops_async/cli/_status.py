"""What a command is doing, and what it waits for, on standard error.

On a terminal one line is redrawn in place; anywhere else (a pipe, a log file, CI) plain lines are printed, never a
``\\r``: one whenever a new wait has lasted :data:`SHOW_AFTER` seconds, and one every :data:`EVERY` seconds. A wait is
anything that holds a command up: a report the vendor is still producing, the gate cooling down after a 429, a
request queued for the vendor's quota, a retry's backoff. The gate's own state (:meth:`adops_async.Gate.stats`, its
``on_cooldown`` hook) and the pipeline's retry log record (logger ``adops_async.http``) say which.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TextIO

import anyio

from ..core.client import BaseClient
from ..core.gate import CooldownEvent

__all__ = ["EVERY", "SHOW_AFTER", "Status"]

SHOW_AFTER = 1.0
"""Seconds a wait lasts before it is shown."""
EVERY = 5.0
"""Seconds between plain lines when standard error is not a terminal."""
TICK = 0.25
GRACE = 0.5
"""A wait seen again this soon is the same wait: a walk held by the quota queues anew at every page."""

_RETRY_LOGGER = "adops_async.http"


@dataclass
class _Wait:
    text: str
    first: float
    last: float
    timed: bool
    """The text does not say how long is left: the line adds how long it has lasted."""


@dataclass
class _Retry:
    until: float
    error: str


class Status:
    """The status line of one command: ``async with Status(stderr).shown(): ...``.

    The command sets :attr:`progress` (a callable giving "1,200 line_items" and the like), :meth:`phase` for waits
    only it knows of (a report being produced), and :meth:`watch`\\ es its clients for the waits of their gates.
    """

    def __init__(self, stream: TextIO | None = None, *, live: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.live = live if live is not None else bool(isatty and isatty())
        self.progress: Callable[[], str] = lambda: ""
        self._phase = ""
        self._clients: dict[str, BaseClient] = {}
        self._cooldowns: dict[str, CooldownEvent] = {}
        self._retries: dict[str, _Retry] = {}
        self._waits: dict[str, _Wait] = {}
        self._printed_waits: tuple[str, ...] = ()
        self._printed_at = -float("inf")
        self._drawn = False

    def phase(self, text: str) -> None:
        """What the command waits for now (``""`` when it waits for nothing of its own)."""
        self._phase = text

    def watch(self, name: str, client: BaseClient) -> None:
        """Show the waits of ``client``'s gate under ``name``."""
        self._clients[name] = client
        gate = client.gate
        before = gate.on_cooldown

        def on_cooldown(event: CooldownEvent) -> None:
            self._cooldowns[name] = event
            if before is not None:
                before(event)

        gate.on_cooldown = on_cooldown

    @asynccontextmanager
    async def shown(self) -> AsyncIterator[Status]:
        """Keep the status on screen while the block runs; clear a live line at the end."""
        handler = _RetryListener(self)
        logger = logging.getLogger(_RETRY_LOGGER)
        level = logger.level
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # the retry record is INFO; put back on the way out
        logger.addHandler(handler)
        self._printed_at = time.monotonic()  # the first periodic line comes EVERY seconds in
        failed: Exception | None = None
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._run)
                try:
                    yield self
                except Exception as exc:  # re-raised below as itself, not wrapped in the task group's group
                    failed = exc
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)
            if self._drawn:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
        if failed is not None:
            raise failed

    def retrying(self, vendor: str, delay: float, error: str) -> None:
        """A request of ``vendor`` sleeps ``delay`` seconds before its next attempt."""
        name = next((n for n, c in self._clients.items() if c.vendor == vendor), vendor)
        self._retries[name] = _Retry(time.monotonic() + delay, error)

    def line(self, now: float | None = None) -> str:
        """The status as one line: progress, then each wait that has lasted :data:`SHOW_AFTER` seconds."""
        now = time.monotonic() if now is None else now
        self._observe(now)
        shown = [f"{w.text} for {now - w.first:.0f} s" if w.timed else w.text for w in self._shown(now)]
        return " | ".join(part for part in [self.progress(), *shown] if part)

    # -- internals -----------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._tick(time.monotonic())
            await anyio.sleep(TICK)

    def _tick(self, now: float) -> None:
        text = self.line(now)
        if self.live:
            width = shutil.get_terminal_size().columns - 1
            self.stream.write("\r" + text[:width] + "\x1b[K")
            self.stream.flush()
            self._drawn = True
            return
        waits = tuple(key for key, _ in self._shown_keys(now))
        new_wait = bool(waits) and waits != self._printed_waits
        if (new_wait and now - self._printed_at >= SHOW_AFTER) or now - self._printed_at >= EVERY:
            if text:
                self.stream.write(text + "\n")
                self.stream.flush()
            self._printed_at = now
            self._printed_waits = waits

    def _observe(self, now: float) -> None:
        current: dict[str, tuple[str, bool]] = {}
        if self._phase:
            current[f"phase:{self._phase}"] = (self._phase, True)
        for name, client in self._clients.items():
            found = self._client_wait(name, client, now)
            if found is not None:
                kind, text = found
                current[f"{name}:{kind}"] = (f"{name}: {text}", kind == "quota")
        for key, (text, timed) in current.items():
            wait = self._waits.get(key)
            if wait is None or now - wait.last > GRACE:
                self._waits[key] = _Wait(text, now, now, timed)
            else:
                wait.text, wait.last = text, now
        for key in [key for key, wait in self._waits.items() if key not in current and now - wait.last > GRACE]:
            del self._waits[key]

    def _shown_keys(self, now: float) -> list[tuple[str, _Wait]]:
        return [(key, wait) for key, wait in self._waits.items() if wait.last - wait.first >= SHOW_AFTER]

    def _shown(self, now: float) -> list[_Wait]:
        return [wait for _, wait in self._shown_keys(now)]

    def _client_wait(self, name: str, client: BaseClient, now: float) -> tuple[str, str] | None:
        """What ``client`` waits for now, as (kind, text), if anything."""
        gate = client.gate
        stats = gate.stats()
        speed = float(getattr(gate.clock, "speed", 1.0))
        if stats.cooldown_until is not None:
            left = (stats.cooldown_until - gate.clock.now()) / speed
            if left > 0:
                event = self._cooldowns.get(name)
                after = f"a {event.status}" if event is not None and event.status is not None else "a rate signal"
                return "cooldown", f"cooling down after {after}, {left:.0f} s left"
        retry = self._retries.get(name)
        if retry is not None and retry.until > now:
            return "retry", f"retrying in {retry.until - now:.0f} s after {_short(retry.error)}"
        if sum(stats.waiters.values()):
            spent = [budget for budget, left in stats.budgets.items() if left == 0]
            detail = f" ({', '.join(spent)} used up)" if spent else ""
            return "quota", f"waiting for the quota{detail}"
        return None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _RetryListener(logging.Handler):
    """Turns the pipeline's "retrying in N s after ERROR" record into a wait of the status line."""

    def __init__(self, status: Status) -> None:
        super().__init__(logging.INFO)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not (isinstance(record.msg, str) and record.msg.startswith("retrying")):
            return
        if not isinstance(args, tuple) or len(args) != 2:
            return
        delay, error = args
        vendor = getattr(error, "vendor", None) or ""
        if isinstance(delay, (int, float)):
            self.status.retrying(vendor, float(delay), str(getattr(error, "message", None) or error))
