"""Handing events to a client's observers without ever failing or delaying a request.

A plain callable is called at once, in the task that made the event: it must be quick (the built-in ones are). One
that raises is logged once, then its failures are only counted (:attr:`Observers.failures`).

An ``async`` callable (or any callable returning an awaitable) is never awaited by the request. Its awaitable goes
into a bounded buffer drained, one at a time and each within :attr:`Observers.timeout` seconds, by one task the
client owns. The task is a *system task* (``loop.create_task`` on asyncio, ``trio.lowlevel.spawn_system_task`` on
trio), started at the first async event, so a client needs no task group of its caller, and it outlives none of
its event loop; :meth:`Observers.aclose` (called by the client's ``aclose``) lets it finish what is buffered, within
:attr:`Observers.timeout`, and stops it. A buffer that is full drops the newest event and counts it
(:attr:`Observers.dropped`): a slow subscriber loses events, requests never wait for it.

An observer with a ``bind(client)`` method is told each client it subscribes to (the Prometheus one reads the
client's gate for its gauges). One with an ``event_types`` attribute (a tuple of :class:`Event` classes) is given
only events of those classes; an event no subscriber takes is not even built (the pipeline looks its route up in
:attr:`Observers.routes` first), so observing costs only what the subscribers use.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio

from ._events import Event

__all__ = ["Observer", "Observers"]

logger = logging.getLogger("adops_async.observe")

Observer = Callable[[Event], None] | Callable[[Event], Awaitable[None]]
"""A subscriber: called with each :class:`Event`; may be ``async``."""


class Observers:
    """A client's subscribers, and the buffer its async ones are drained from.

    Args:
        observers: the subscribers, in calling order.
        buffer: async events held at most before new ones are dropped.
        timeout: seconds one async subscriber may take for one event before it is abandoned.
    """

    def __init__(self, observers: Iterable[Observer] = (), *, buffer: int = 1024, timeout: float = 5.0) -> None:
        self._observers: tuple[Observer, ...] = tuple(observers)
        self.routes = _Routes(self._observers, self._failed)
        """Per event class, the subscribers that take it, in calling order (looked up by the pipeline before it
        builds an event: an empty route means nobody wants it)."""
        self.buffer = buffer
        """Async events held at most before new ones are dropped."""
        self.timeout = timeout
        """Seconds one async subscriber may take for one event before it is abandoned."""
        self.dropped = 0
        """Async events dropped because the buffer was full."""
        self.failures: dict[str, int] = {}
        """Per subscriber (its repr): times it raised or ran out of time."""
        self._pending: deque[_Bounded] = deque()
        self._wake: anyio.Event | None = None
        self._drainer: Any = None
        self._idle: anyio.Event | None = None
        self._closed = False
        self.on_add: Callable[[Observer], None] | None = None
        """Called with each observer :meth:`add` subscribes (the client binds it and starts hearing its gate)."""

    @property
    def observers(self) -> tuple[Observer, ...]:
        """The subscribers, in calling order (:meth:`add` and :meth:`remove` change them)."""
        return self._observers

    def __bool__(self) -> bool:
        return bool(self._observers)

    def __len__(self) -> int:
        return len(self._observers)

    def add(self, observer: Observer) -> None:
        """Subscribe one more callable."""
        self._observers = (*self._observers, observer)
        self.routes = _Routes(self._observers, self._failed)
        if self.on_add is not None:
            self.on_add(observer)

    def remove(self, observer: Observer) -> None:
        """Unsubscribe ``observer`` (:class:`ValueError` when it is not subscribed)."""
        observers = list(self._observers)
        observers.remove(observer)
        self._observers = tuple(observers)
        self.routes = _Routes(self._observers, self._failed)

    def wants(self, event_type: type[Event]) -> bool:
        """Whether a subscriber takes events of ``event_type`` (else the pipeline need not build them)."""
        return bool(self.routes[event_type])

    def emit(self, event: Event, route: tuple[Observer, ...] | None = None) -> None:
        """Give ``event`` to every subscriber that takes its type (``route``: :attr:`routes` of its type, when the
        caller looked it up already); never raises, never waits."""
        for observer in self.routes[type(event)] if route is None else route:
            try:
                result = observer(event)
            except Exception:
                self._failed(observer, "raised")
                continue
            if result is not None and inspect.isawaitable(result):
                self._enqueue(observer, result)

    def _failed(self, observer: Observer, how: str) -> None:
        name = repr(observer)
        count = self.failures.get(name, 0)
        self.failures[name] = count + 1
        if count == 0:
            logger.warning("observer %s %s; its further failures are counted, not logged", name, how, exc_info=True)

    def _enqueue(self, observer: Observer, awaitable: Awaitable[Any]) -> None:
        if self._closed or len(self._pending) >= self.buffer:
            self.dropped += 1
            _discard(awaitable)
            return
        self._pending.append(_Bounded(observer, awaitable))
        if self._drainer is None:
            self._start()
            return
        if self._idle is not None and self._idle.is_set():
            self._idle = anyio.Event()
        if self._wake is not None:
            self._wake.set()

    def _start(self) -> None:
        self._wake, self._idle = anyio.Event(), anyio.Event()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            import trio

            trio.lowlevel.spawn_system_task(self._drain)
            self._drainer = True
        else:
            self._drainer = loop.create_task(self._drain())  # held here: the loop keeps only a weak reference

    async def _drain(self) -> None:
        while True:
            while self._pending:
                item = self._pending.popleft()
                with anyio.move_on_after(self.timeout) as scope:
                    try:
                        await item.awaitable
                    except Exception:
                        self._failed(item.observer, "raised")
                if scope.cancelled_caught:
                    self._failed(item.observer, f"took longer than {self.timeout:g} s")
            assert self._idle is not None
            self._idle.set()
            if self._closed:
                return
            self._wake = anyio.Event()
            if not self._pending:
                await self._wake.wait()

    async def flush(self) -> None:
        """Wait until every buffered async event has been handled (each within :attr:`timeout`)."""
        if self._drainer is None or self._idle is None:
            return
        if self._pending and self._wake is not None:
            self._wake.set()
        with anyio.move_on_after(self.timeout * (len(self._pending) + 1)):
            await self._idle.wait()

    async def aclose(self) -> None:
        """Handle what is buffered, then stop the drain task; later async events are dropped."""
        await self.flush()
        self._closed = True
        if self._wake is not None:
            self._wake.set()
        for item in self._pending:  # still there after the flush's time: dropped too
            self.dropped += 1
            _discard(item.awaitable)
        self._pending.clear()


class _Routes(dict[type[Event], tuple[Observer, ...]]):
    """Per event class, the subscribers (of a fixed tuple) that take it: each class is routed at its first event,
    then looked up like any dict (a changed subscriber list gets new routes, see :meth:`Observers.add`)."""

    __slots__ = ("failed", "observers")

    def __init__(self, observers: tuple[Observer, ...], failed: Callable[[Observer, str], None]) -> None:
        super().__init__()
        self.observers = observers
        self.failed = failed

    def __missing__(self, event_type: type[Event]) -> tuple[Observer, ...]:
        route = self[event_type] = tuple(o for o in self.observers if _takes(o, event_type, self.failed))
        return route


def _takes(observer: Observer, event_type: type[Event], failed: Callable[[Observer, str], None]) -> bool:
    """Whether ``observer`` takes ``event_type``: one of its ``event_types`` (a tuple, or any iterable, of event
    classes), or any event when it has none. One whose ``event_types`` cannot be read is given every event (a
    subscriber loses nothing to its own mistake) and logged once, as a subscriber that raised is."""
    try:
        event_types = getattr(observer, "event_types", None)
        return event_types is None or issubclass(event_type, tuple(event_types))
    except Exception:
        failed(observer, "has event_types that are not event classes, so it is given every event")
        return True


class _Bounded:
    __slots__ = ("awaitable", "observer")

    def __init__(self, observer: Observer, awaitable: Awaitable[Any]) -> None:
        self.observer, self.awaitable = observer, awaitable


def _discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:  # a coroutine never awaited would warn
        close()
