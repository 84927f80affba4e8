"""The log subscriber: one readable line per thing worth knowing, with the event's fields attached for JSON logs."""

from __future__ import annotations

import dataclasses
import logging
from operator import attrgetter
from typing import Any, Literal

from ._events import (
    FIELDS_IN_DICT,
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
_FIELDS: dict[type[Event], tuple[tuple[str, ...], attrgetter[Any]]] = {}
"""Per event class: its field names, and a getter of their values in that order."""


class LogObserver:
    """Logs events on ``logger`` (default ``adops_async.events``): at ``info``, call ends, retries, rate signals,
    cooldowns, lost leases and store mode changes; at ``debug``, every event. Each record carries the event's
    fields as ``record.adops`` (a dict) and its type as ``record.event``. ``logger`` may be a
    :class:`logging.LoggerAdapter`: its ``process`` shapes the message and its extras join the event's."""

    def __init__(
        self,
        level: Literal["info", "debug"] = "info",
        *,
        logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    ) -> None:
        if level not in ("info", "debug"):
            raise ValueError('level is "info" or "debug"')
        self._level: Literal["info", "debug"] = level
        self.event_types: tuple[type[Event], ...] = _INFO if level == "info" else (Event,)
        """The events this observer logs at its level (the others are not even built for it)."""
        self.logger = logger or logging.getLogger("adops_async.events")
        self._levels: dict[type[Event], int] = {}
        """Per event class: the level its lines are logged at, 0 for none (worked out at its first event)."""
        underlying = self.logger.logger if isinstance(self.logger, logging.LoggerAdapter) else self.logger
        if underlying.level == logging.NOTSET or underlying.level > _level(level):
            underlying.setLevel(_level(level))

    @classmethod
    def from_environment(cls, level: Literal["info", "debug"]) -> LogObserver:
        """The observer ``ADOPS_LOG`` asks for: when logging is not configured at all, its lines go to standard
        error (Python's last-resort handler would show warnings only)."""
        logger = logging.getLogger("adops_async.events")
        if not logger.hasHandlers():
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            logger.addHandler(handler)
        return cls(level, logger=logger)

    @property
    def level(self) -> Literal["info", "debug"]:
        """``"info"`` or ``"debug"``, as given."""
        return self._level

    def __call__(self, event: Event) -> None:
        kind = type(event)
        level = self._levels.get(kind)
        if level is None:
            level = self._levels[kind] = _level_of(kind, self._level)
        if not level or not self.logger.isEnabledFor(level):
            return
        if kind in FIELDS_IN_DICT:
            fields = event.__dict__.copy()
        else:  # a subclass of an event made elsewhere: read its fields one by one
            getter = _FIELDS.get(kind)
            if getter is None:
                names = tuple(f.name for f in dataclasses.fields(event))
                getter = _FIELDS[kind] = (names, attrgetter(*names))
            fields = dict(zip(getter[0], getter[1](event), strict=True))
        logger, line = self.logger, _Line(event)
        if not isinstance(logger, logging.Logger):  # an adapter: its own extras, and the event's
            message, options = logger.process("%s", {})
            options["extra"] = {**(options.get("extra") or {}), "adops": fields, "event": kind.__name__}
            logger.logger.log(level, message, line, **options)
            return
        # What ``logger.log`` does, but the record names this method as its source instead of walking the stack to
        # find it (``findCaller`` takes longer than the rest), its text is made only if a handler formats the record
        # (``record.getMessage()`` is ``str(line)``: the message is the line object itself, with no arguments to
        # interpolate), and the two extra attributes go straight into the record.
        record = logger.makeRecord(logger.name, level, __file__, _LINE, line, (), None, "__call__")
        attributes = record.__dict__
        attributes["adops"], attributes["event"] = fields, kind.__name__
        logger.handle(record)

    def __repr__(self) -> str:
        return f"observe.logging({self.level!r})"


_LINE = LogObserver.__call__.__code__.co_firstlineno
"""The line the log records name as their source."""


class _Line:
    """An event's :func:`describe` line, made when the log record is formatted."""

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event

    def __str__(self) -> str:
        return describe(self.event)


def _level(name: str) -> int:
    return logging.DEBUG if name == "debug" else logging.INFO


def _level_of(kind: type[Event], observer_level: str) -> int:
    """The level ``kind``'s lines are logged at by an observer at ``observer_level``; 0: not logged."""
    if issubclass(kind, _WARNING):
        return logging.WARNING
    if issubclass(kind, _INFO):
        return logging.INFO
    return logging.DEBUG if observer_level == "debug" else 0


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
