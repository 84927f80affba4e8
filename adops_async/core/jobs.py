"""Job slots: at most N long-running jobs (reports) per account, each held across the several requests of its life.

A gate slot lasts one request. A vendor that caps how many *jobs* run at once (Ooyala's Custom Reporting: two
running reports per account) needs a place held from the job's submission until it is seen finished, failed or
cancelled: ``slot = await slots.take()`` before the submit, ``await slot.release()`` once the job is over. Waiting
for a job slot holds no gate slot, so other calls of the client go on meanwhile.

In one process, waiters are served in arrival order. With a :class:`~adops_async.RedisStore` the count is shared by
every process of the account: each slot is a member of a sorted set scored by the time it lapses (``hold`` seconds
after it was taken or last renewed), so a process that dies frees its slots when they lapse; waiters re-ask every
``poll`` seconds (or sooner, when the first slot lapses), in no order across processes. Like the store itself, that
mode runs on asyncio only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .clock import AnyioClock, Clock
from .errors import QuotaStoreUnavailable
from .shared import RedisStore

__all__ = ["JobSlot", "JobSlots"]

logger = logging.getLogger("adops_async.jobs")

# take: admit when fewer than ARGV[3] members remain once lapsed ones are gone; else the wait until the first lapses.
_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local op = ARGV[2]
if op == 'take' then
  if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[5])
    return {1, '0'}
  end
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tostring(tonumber(first[2]) - now)}
elseif op == 'renew' then
  return {redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[4]), ARGV[5]), '0'}
end
return {redis.call('ZREM', KEYS[1], ARGV[5]), '0'}
"""


class JobSlot:
    """One held job slot. :meth:`release` is idempotent; :meth:`renew` pushes a shared slot's lapse back."""

    def __init__(self, slots: JobSlots, token: str) -> None:
        self._slots = slots
        self.token = token
        self.released = False

    def __repr__(self) -> str:
        return f"<JobSlot {'released' if self.released else 'held'}>"

    async def renew(self) -> None:
        """Keep a shared slot for another ``hold`` seconds (a no-op in one process)."""
        if not self.released:
            await self._slots._renew(self)

    async def release(self) -> None:
        """Give the slot back (once; later calls do nothing), even when the caller is being cancelled."""
        if self.released:
            return
        self.released = True
        with anyio.CancelScope(shield=True):
            await self._slots._release(self)


class JobSlots:
    """At most ``limit`` jobs held at once per account.

    Args:
        limit: the vendor's cap on jobs running at once.
        store: a :class:`~adops_async.RedisStore` to share the count with every process of the account.
        key: names the account in the store (never a secret: pass an :func:`~adops_async.core.shared.identity`).
        hold: seconds a shared slot lasts without a renewal (a dead process's slots free themselves after it).
        poll: seconds between two asks of a waiter (shared mode), or between two calls of ``on_wait``.
        clock: where time comes from.
    """

    def __init__(
        self,
        limit: int,
        *,
        store: RedisStore | None = None,
        key: str = "jobs",
        hold: float = 7200.0,
        poll: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        if limit < 1 or hold <= 0 or poll <= 0:
            raise ValueError("limit must be at least 1; hold and poll positive")
        self.limit = limit
        self.store = store
        self.key = key
        self.hold = hold
        self.poll = poll
        self.clock: Clock = clock or AnyioClock()
        self.held = 0
        """Slots this process holds now."""
        self.most_held = 0
        """The most slots this process held at once."""
        self._waiters: deque[anyio.Event] = deque()
        self._tokens = 0
        self._script: Any = store.redis.register_script(_SCRIPT) if store is not None else None

    def __repr__(self) -> str:
        where = "shared" if self.store is not None else "local"
        return f"JobSlots({self.limit}, {where}, held={self.held})"

    async def take(self, *, on_wait: Callable[[], Awaitable[object]] | None = None) -> JobSlot:
        """Wait for a slot and hold it. ``on_wait`` is called (by the first waiter only) before each wait: a
        vendor client passes a check of its own running jobs, so a slot held by a finished job nobody polls frees.
        """
        if self.store is not None:
            slot = await self._take_shared(on_wait)
        else:
            slot = await self._take_local(on_wait)
        self.held += 1
        self.most_held = max(self.most_held, self.held)
        return slot

    async def _take_local(self, on_wait: Callable[[], Awaitable[object]] | None) -> JobSlot:
        if self.held < self.limit and not self._waiters:
            return self._new_slot()
        turn = anyio.Event()
        self._waiters.append(turn)
        try:
            while True:
                if self._waiters[0] is turn and self.held < self.limit:
                    return self._new_slot()
                if on_wait is not None and self._waiters[0] is turn:
                    await on_wait()
                    if self.held < self.limit:
                        continue
                await self.clock.wait(turn, self.clock.now() + self.poll if on_wait is not None else None)
                turn = self._renewed(turn)
        finally:
            self._waiters.remove(turn)
            self._wake_first()

    def _renewed(self, turn: anyio.Event) -> anyio.Event:
        """A fresh event in ``turn``'s place in the queue (an anyio event cannot be cleared)."""
        if not turn.is_set():
            return turn
        fresh = anyio.Event()
        self._waiters[self._waiters.index(turn)] = fresh
        return fresh

    def _wake_first(self) -> None:
        if self._waiters:
            self._waiters[0].set()

    def _new_slot(self) -> JobSlot:
        self._tokens += 1
        return JobSlot(self, f"{id(self):x}-{self._tokens}")

    async def _take_shared(self, on_wait: Callable[[], Awaitable[object]] | None) -> JobSlot:
        assert self.store is not None
        slot = JobSlot(self, self.store.token())
        while True:
            granted, wait = await self._run("take", slot.token)
            if granted:
                return slot
            if on_wait is not None:
                await on_wait()
            await self.clock.sleep_until(self.clock.now() + min(self.poll, max(float(wait), 0.001)))

    async def _renew(self, slot: JobSlot) -> None:
        if self.store is not None:
            renewed, _ = await self._run("renew", slot.token)
            if not renewed:
                logger.warning("a shared job slot had lapsed before its renewal; it is taken again on the next ask")

    async def _release(self, slot: JobSlot) -> None:
        self.held -= 1
        if self.store is None:
            self._wake_first()
            return
        try:
            await self._run("release", slot.token)
        except QuotaStoreUnavailable:
            logger.warning("could not give back a shared job slot; it lapses after %g s", self.hold)

    async def _run(self, op: str, token: str) -> tuple[int, str]:
        """One call of the script; any Redis failure is :class:`QuotaStoreUnavailable`."""
        from redis.exceptions import RedisError

        assert self.store is not None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("JobSlots with a RedisStore runs on asyncio only (redis-py's asyncio client)") from None
        now = "" if self.store.time is None else repr(self.store.time())
        self.store.calls += 1
        try:
            with anyio.fail_after(self.store.timeout):
                result = await self._script(
                    keys=[self.store.key("jobs", self.key)], args=[now, op, self.limit, self.hold, token]
                )
        except (RedisError, OSError, TimeoutError) as exc:
            raise QuotaStoreUnavailable(f"the shared job slots did not answer ({type(exc).__name__})") from None
        granted, wait = result
        return int(granted), wait.decode() if isinstance(wait, bytes) else str(wait)
