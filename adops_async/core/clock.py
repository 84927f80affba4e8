"""One notion of time for retry, auth expiry and gates.

Everything in the library that waits or measures time asks a :class:`Clock`, never ``time`` or ``anyio.sleep`` directly,
so that tests (ours and our users') can run hours of vendor quota in virtual time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel

__all__ = ["AnyioClock", "Clock", "ScaledClock", "VirtualClock"]


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock that can also wait."""

    def now(self) -> float:
        """Current time in seconds (monotonic, arbitrary origin)."""

    async def sleep_until(self, deadline: float) -> None:
        """Return once :meth:`now` has reached ``deadline``."""

    async def wait(self, event: anyio.Event, deadline: float | None) -> None:
        """Return when ``event`` is set or ``deadline`` (if any) has passed, whichever comes first.

        The gate asks this only of waits with a deadline: a wait that only a wake-up can end needs no clock."""


class AnyioClock:
    """The event loop's clock, through anyio (trio's ``MockClock`` makes it virtual too)."""

    def now(self) -> float:
        """The event loop's time, in seconds."""
        # On asyncio, anyio's current_time() is the running loop's time() after a backend lookup per call; the gate
        # reads the clock several times per hand-off, so ask the loop directly, and take anyio's way elsewhere.
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:
            return anyio.current_time()

    async def sleep_until(self, deadline: float) -> None:
        """Return once the event loop's time has reached ``deadline``."""
        await anyio.sleep_until(deadline)

    async def wait(self, event: anyio.Event, deadline: float | None) -> None:
        """Return when ``event`` is set or ``deadline`` (if any) has passed, whichever comes first."""
        if deadline is None:
            await event.wait()
            return
        with anyio.move_on_after(deadline - anyio.current_time()):
            await event.wait()

    def __repr__(self) -> str:
        return "AnyioClock()"


class ScaledClock:
    """The event loop's clock running ``speed`` times faster: vendor time for a client of a compressed sandbox.

    A sandbox at ``speed=60`` lives a vendor minute per real second and speaks in vendor seconds (``Retry-After: 1``,
    ``RateLimit-Reset: 50``, ``Organization-RateLimit-Limit: 60;w=60``). A client given
    ``ScaledClock(60)`` (``sandbox.client_clock()``) measures, waits and meters in the same vendor seconds, so it keeps
    the vendor's own numbers (``per=60``) and reads every header as the vendor means it.
    """

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        """Vendor seconds per real second."""

    def now(self) -> float:
        """The event loop's time times ``speed``: vendor seconds."""
        return anyio.current_time() * self.speed

    async def sleep_until(self, deadline: float) -> None:
        """Return once vendor time has reached ``deadline`` (``deadline / speed`` in loop time)."""
        await anyio.sleep_until(deadline / self.speed)

    async def wait(self, event: anyio.Event, deadline: float | None) -> None:
        """Return when ``event`` is set or vendor time has reached ``deadline`` (if any)."""
        if deadline is None:
            await event.wait()
            return
        with anyio.move_on_after(max(0.0, deadline - self.now()) / self.speed):
            await event.wait()

    def __repr__(self) -> str:
        return f"ScaledClock(speed={self.speed!r})"


class VirtualClock:
    """Virtual time that jumps to the next timer whenever every task is blocked ("autojump").

    Works on asyncio and trio alike. Use it as an async context manager that runs the jumper::

        async with VirtualClock().running() as clock:
            gate = Gate(ReadWriteQuota(reads=100, writes=60, per=60), clock=clock)
            ...  # an hour of quota passes in milliseconds

    Only waits that go through this clock are virtual: real sockets still take real time (the jumper does not wait
    for them, so use it for code whose only waits are clock waits).
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._timers: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()
        self._timer_added: anyio.Event | None = None

    def now(self) -> float:
        """Virtual time, in seconds: where the last jump left it."""
        return self._now

    def _add_timer(self, deadline: float, event: anyio.Event) -> None:
        heapq.heappush(self._timers, (deadline, next(self._seq), event))
        if self._timer_added is not None:
            self._timer_added.set()

    async def sleep_until(self, deadline: float) -> None:
        """Return once virtual time has jumped to ``deadline`` (at once if it is already past)."""
        if deadline <= self._now:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        self._add_timer(deadline, event)
        await event.wait()

    async def wait(self, event: anyio.Event, deadline: float | None) -> None:
        """Return when ``event`` is set or virtual time has jumped to ``deadline`` (if any)."""
        if deadline is not None:
            if deadline <= self._now:
                await anyio.lowlevel.checkpoint()
                return
            self._add_timer(deadline, event)
        await event.wait()

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` by hand, waking every timer that falls due on the way."""
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            self._fire_next()
            await _all_tasks_blocked()
        self._now = max(self._now, target)

    def _fire_next(self) -> None:
        deadline = self._timers[0][0]
        self._now = max(self._now, deadline)
        while self._timers and self._timers[0][0] <= self._now:
            heapq.heappop(self._timers)[2].set()

    async def _jump_forever(self) -> None:
        while True:
            await _all_tasks_blocked()
            if not self._timers:
                self._timer_added = anyio.Event()
                await self._timer_added.wait()
                continue
            self._fire_next()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[VirtualClock]:
        """Run the autojumper for the duration of the block."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._jump_forever)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r})"


async def _all_tasks_blocked() -> None:
    """Wait until every other task waits on something (a cheap version of anyio's, which polls every 0.1 s)."""
    if _running_on_trio():
        import trio.testing

        await trio.testing.wait_all_tasks_blocked()
        return

    this_task = asyncio.current_task()
    while True:
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task is this_task:
                continue
            waiter = getattr(task, "_fut_waiter", None)
            if waiter is None or waiter.done():
                break
        else:
            return


def _running_on_trio() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
