"""The log subscriber: one readable line per thing worth knowing, with the event's fields attached for JSON logs."""

from __future__ import annotations

import dataclasses
import logging
from typing import Literal

from ._events import (
    CallEnded,
    CooldownEnded,
    CooldownStarted,
    Event,
    GateWaited,
    LeaseLost,
    QuotaStoreMode,
    RateSignal,
    RetryScheduled,
)

__all__ = ["LogObserver"]

# Worth a line at info level: how calls end and everything that changes how the gate lets them go.
_INFO = (CallEnded, RetryScheduled, RateSignal, CooldownStarted, CooldownEnded, LeaseLost, QuotaStoreMode)
_WARNING = (LeaseLost,)
_FIELDS: dict[type[Event], tuple[str, ...]] = {}


class LogObserver:
    """Logs events on ``logger`` (default ``adops_async.events``): at ``info``, call ends, retries, rate signals,
    cooldowns, lost leases and store mode changes; at ``debug``, every event. Each record carries the event's
    fields as ``record.adops`` (a dict) and its type as ``record.event``."""

    def __init__(self, level: Literal["info", "debug"] = "info", *, logger: logging.Logger | None = None) -> None:
        if level not in ("info", "debug"):
            raise ValueError('level is "info" or "debug"')
        self.level = level
        self.logger = logger or logging.getLogger("adops_async.events")
        if self.logger.level == logging.NOTSET or self.logger.level > _level(level):
            self.logger.setLevel(_level(level))

    @classmethod
    def from_environment(cls, level: Literal["info", "debug"]) -> LogObserver:
        """The observer ``ADOPS_LOG`` asks for: when logging is not configured at all, its lines go to standard
        error (Python's last-resort handler would show warnings only)."""
        observer = cls(level)
        if not observer.logger.hasHandlers():
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            observer.logger.addHandler(handler)
        return observer

    def __call__(self, event: Event) -> None:
        at_info = isinstance(event, _INFO)
        if not at_info and self.level != "debug":
            return
        level = logging.WARNING if isinstance(event, _WARNING) else logging.INFO if at_info else logging.DEBUG
        if not self.logger.isEnabledFor(level):
            return
        names = _FIELDS.get(type(event))
        if names is None:
            names = _FIELDS[type(event)] = tuple(f.name for f in dataclasses.fields(event))
        fields = {name: getattr(event, name) for name in names}
        self.logger.log(level, describe(event), extra={"adops": fields, "event": type(event).__name__})

    def __repr__(self) -> str:
        return f"observe.logging({self.level!r})"


def _level(name: str) -> int:
    return logging.DEBUG if name == "debug" else logging.INFO


def describe(event: Event) -> str:
    """One line: what happened, to which call, then its numbers (``GET /line-item/{id} 200 attempts=1 ...``)."""
    head = " ".join(str(part) for part in (event.vendor, event.method, event.path) if part)
    if isinstance(event, CallEnded):
        outcome = event.error or "ok"
        text = f"{head} {event.status or ''} {outcome} attempts={event.attempts} gate_wait={event.gate_wait:.3f}s"
        text += f" elapsed={event.elapsed:.3f}s"
    elif isinstance(event, RetryScheduled):
        text = f"{head} retry in {event.delay:.3f}s after {event.reason} {event.status or ''} attempt={event.attempt}"
    elif isinstance(event, GateWaited):
        text = f"{head} waited {event.wait:.3f}s at the gate ({event.blocked_by or 'queue'}, {event.priority})"
    elif isinstance(event, CooldownStarted):
        text = f"{head} gate closed for {event.wait:.3f}s ({event.reason})"
    elif isinstance(event, CooldownEnded):
        text = f"{head} gate open again after {event.duration:.3f}s ({event.reason})"
    elif isinstance(event, RateSignal):
        after = f" retry_after={event.retry_after:g}s" if event.retry_after is not None else ""
        text = f"{head} rate signal {event.status or ''}{after}"
    elif isinstance(event, QuotaStoreMode):
        text = f"{head} quota store mode: {event.mode}"
    else:
        text = f"{head} {type(event).__name__}"
        if event.status is not None:
            text += f" {event.status}"
    if event.request_id:
        text += f" request_id={event.request_id}"
    return " ".join(text.split())
