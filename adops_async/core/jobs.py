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

Job quotas: :class:`JobQuota` counts jobs the way a vendor that looks back over a window does: a job counts from
before its create request until the vendor says it ended, or until ``window`` seconds after it started, whichever
comes first (or, in ``"started"`` mode, for the whole window whatever becomes of it). Unlike :class:`JobSlots`, a
shared ticket needs no renewal: it ends by itself at its window.

A report is one request that creates it, then polls and a download, often minutes apart. Some vendors cap the jobs
themselves: AppNexus refuses a user's report when 5 of the reports that user submitted in the last 15 minutes are
still pending or processing (docs/vendors/appnexus.md). A request gate cannot keep such a rule, since no request is
in flight while a job runs; :class:`JobQuota` does. A caller takes a ticket *before* the request that creates the job,
and it is held across every request of the job until the vendor no longer counts it:

    quota = JobQuota(5, window=900)              # AppNexus: 5 pending reports, counted over 15 minutes
    ticket = await quota.acquire(clock)          # waits while 5 are held (never refused)
    reply = await client.request("POST", ...)    # create the job
    await ticket.started()                       # the vendor has it: with a window, it counts window more at most
    ...                                          # poll
    await ticket.finished()                      # the vendor said it ended: the ticket frees now

Two rules, by ``mode``:

* ``"running"`` (default): a job counts from its slot's acquisition until :meth:`JobTicket.finished`, or, when
  ``window`` is given, until ``window`` seconds after :meth:`JobTicket.started` at the latest (AppNexus: jobs older
  than 15 minutes are not counted; Ooyala's "at most 2 running" has no window).
* ``"started"``: a job counts for ``window`` seconds after it started, whatever becomes of it ("N started per window").

A slot counts from *before* the create request is sent until ``window`` after its answer arrived, so the vendor, which
saw the request somewhere in between, never counts more than ``limit``. A slot whose job was never created (the
vendor refused the request) is :meth:`JobTicket.finished` at once; one whose create request may or may not have reached
the vendor (a timeout, a reset) is :meth:`JobTicket.started`: it then counts for the whole window. Without a window, a
slot counts until it is finished, so a caller that loses a job must finish its slot.

With a :class:`~adops_async.core.shared.RedisStore` and a ``key`` the slots are shared by every process and host using
the key (a sorted set of slot expiries, taken and freed by small scripts; a release publishes, so waiters elsewhere do
not poll). A shared rule needs a ``window``: a slot of a process that died must end by itself. Redis' asyncio client
runs on asyncio only, so shared slots do too.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

import anyio

from .clock import AnyioClock, Clock
from .errors import GateWaitTooLong, QuotaStoreUnavailable
from .shared import RedisStore

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

__all__ = ["JobQuota", "JobSlot", "JobSlots", "JobTicket"]

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


# One JobQuota waiter per store and channel in a process asks Redis and listens for releases (a store holds one
# pub/sub connection per channel, which one task at a time may read); the others queue on this lock, in order.
_QUOTA_TURNS: weakref.WeakKeyDictionary[RedisStore, dict[str, anyio.Lock]] = weakref.WeakKeyDictionary()


# KEYS[1] the tickets (sorted set: token -> expiry, clock seconds), ARGV: now ("" = server TIME), speed, op, token,
# limit, hold, channel. "take": admit if fewer than limit unexpired slots, else answer the wait until the earliest
# expiry. "start": move an existing slot's expiry to now + hold. "free": drop it and publish on the channel.
_QUOTA_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
    local t = redis.call("TIME")
    now = (tonumber(t[1]) + tonumber(t[2]) / 1e6) * tonumber(ARGV[2])
end
local key, op, token = KEYS[1], ARGV[3], ARGV[4]
local function keep(hold)
    local ms = math.ceil(hold / tonumber(ARGV[2]) * 1000) + 1000
    if redis.call("PTTL", key) < ms then
        redis.call("PEXPIRE", key, ms)
    end
end
if op == "take" then
    local limit, hold = tonumber(ARGV[5]), tonumber(ARGV[6])
    redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
    if redis.call("ZCARD", key) < limit then
        redis.call("ZADD", key, now + hold, token)
        keep(hold)
        return {1, "0"}
    end
    local first = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
    return {0, string.format("%.6f", tonumber(first[2]) - now)}
elseif op == "start" then
    local hold = tonumber(ARGV[6])
    if redis.call("ZADD", key, "XX", "CH", now + hold, token) == 1 then
        keep(hold)
    end
    return {1, "0"}
end
if redis.call("ZREM", key, token) == 1 then
    redis.call("PUBLISH", ARGV[7], token)
end
return {1, "0"}
"""


class JobTicket:
    """One job's place in a :class:`JobQuota` rule, from before its create request until the vendor stops counting it.

    Await :meth:`started` once the vendor answered the create request (or may have received it), :meth:`finished`
    when the vendor says the job ended or that it never existed. Both are idempotent and safe in cleanup code: a
    shared slot's update is shielded from cancellation, bounded by the store's timeout, and if Redis does not take it
    the slot simply ends at its expiry.
    """

    def __init__(self, slots: JobQuota, token: str, clock: Clock) -> None:
        self.slots = slots
        self.token = token
        self.clock = clock
        self.started_at: float | None = None
        """Clock time the vendor had the job by (the create request's answer), once known."""
        self.done = False

    async def started(self) -> None:
        """The vendor has the job (it answered the create request, or may have received it)."""
        if self.done or self.started_at is not None:
            return
        self.started_at = self.clock.now()
        await self.slots._start(self)

    async def finished(self) -> None:
        """The job ended (done or failed), or was never created: in ``"running"`` mode the slot frees now; in
        ``"started"`` mode only a slot whose job never started frees early."""
        if self.done:
            return
        if self.slots.mode == "started" and self.started_at is not None:
            return
        self.done = True
        await self.slots._free(self)

    def __repr__(self) -> str:
        state = "finished" if self.done else "started" if self.started_at is not None else "creating"
        return f"<JobTicket {state}>"


class JobQuota:
    """At most ``limit`` jobs of one account counted at once; :meth:`acquire` waits for a place, never refuses.

    Args:
        limit: the vendor's cap (AppNexus: 5 pending reports per user; Ooyala Custom Reporting: 2 running).
        window: seconds after its start that a job stops counting whatever happens (the vendor's horizon or its job
            timeout); ``None``: a job counts until finished (local slots only).
        mode: ``"running"`` (counted until finished, or ``window`` after start) or ``"started"`` (counted ``window``
            after start; needs ``window``).
        store, key: share the slots through a :class:`~adops_async.core.shared.RedisStore` under ``key`` (the
            account the vendor counts, e.g. the user); needs ``window``.

    Share one :class:`JobQuota` between the clients of one account in a process, or one ``store`` and ``key`` between
    processes.
    """

    def __init__(
        self,
        limit: int,
        *,
        window: float | None = None,
        mode: Literal["running", "started"] = "running",
        store: RedisStore | None = None,
        key: str | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window is not None and not (math.isfinite(window) and window > 0):
            raise ValueError("window must be finite and positive")
        if mode not in ("running", "started"):
            raise ValueError('mode is "running" or "started"')
        if mode == "started" and window is None:
            raise ValueError('mode="started" counts jobs for a window: give window=')
        if store is not None and (not key or window is None):
            raise ValueError("shared job slots need key= (the account) and window= (so a dead process's slot ends)")
        self.limit = limit
        self.window = window
        self.mode = mode
        self.store = store
        self._expiry: dict[str, float] = {}
        """Local slots: token -> clock time it stops counting (``inf``: until finished)."""
        self._freed = anyio.Event()
        if store is not None:
            assert key is not None
            self._key = store.key(key, "jobs")
            self._channel = store.key(key, "jobs-freed")
            self._script: AsyncScript = store.redis.register_script(_QUOTA_SCRIPT)
        self.waits = 0
        """Acquisitions that had to wait for a place."""
        self.peak = 0
        """Most local slots held at once."""

    def __repr__(self) -> str:
        window = "" if self.window is None else f", window={self.window:g}"
        return f"JobQuota({self.limit}{window}, mode={self.mode!r}{', shared' if self.store else ''})"

    def held(self, now: float) -> int:
        """Local slots counted at ``now`` (shared slots are counted in Redis)."""
        self._expire(now)
        return len(self._expiry)

    async def acquire(self, clock: Clock | None = None, *, deadline: float | None = None) -> JobTicket:
        """Wait for a place and take it (FIFO within a process).

        ``deadline`` (clock time): never wait past it; raise :class:`~adops_async.GateWaitTooLong` instead (at once
        when the earliest expiry is already later and no slot is held without one). Nothing is taken then.
        """
        clock = clock or AnyioClock()
        if self.store is not None:
            return await self._acquire_shared(clock, deadline)
        waited = False
        while True:
            now = clock.now()
            self._expire(now)
            if len(self._expiry) < self.limit:
                token = secrets.token_hex(8)
                # Before it started a job counts until finished or started: the create request is under way.
                self._expiry[token] = math.inf
                self.peak = max(self.peak, len(self._expiry))
                self.waits += waited
                return JobTicket(self, token, clock)
            waited = True
            opens = min(self._expiry.values())
            self._check_deadline(now, opens, deadline)
            wake = opens if deadline is None else min(opens, deadline)
            if self._freed.is_set():  # a clock may set the event it was given when the deadline passes
                self._freed = anyio.Event()
            await clock.wait(self._freed, None if math.isinf(wake) else wake)

    def _check_deadline(self, now: float, opens: float, deadline: float | None) -> None:
        if deadline is None:
            return
        retry_after = opens - now if opens < math.inf else None
        if now >= deadline or (opens > deadline and not self._may_free_early()):
            opening = f"in {retry_after:.3g} s" if retry_after is not None else "when a job finishes"
            raise GateWaitTooLong(
                f"all {self.limit} job slots are held; one frees {opening}, after the deadline", retry_after=retry_after
            )

    def _may_free_early(self) -> bool:
        # A slot that may be finished at any moment can open before its expiry: then only the deadline ends the wait.
        return self.mode == "running" or math.inf in self._expiry.values()

    def _expire(self, now: float) -> None:
        for token in [t for t, until in self._expiry.items() if until <= now]:
            del self._expiry[token]

    def _wake(self) -> None:
        self._freed.set()
        self._freed = anyio.Event()

    async def _start(self, slot: JobTicket) -> None:
        if self.window is None:
            return
        assert slot.started_at is not None
        if self.store is None:
            if slot.token in self._expiry:
                self._expiry[slot.token] = slot.started_at + self.window
            return
        await self._update(slot, "start", self.window)

    async def _free(self, slot: JobTicket) -> None:
        if self.store is None:
            if self._expiry.pop(slot.token, None) is not None:
                self._wake()
            return
        await self._update(slot, "free", 0.0)

    # -- shared ---------------------------------------------------------------------------------------------------

    def _hold(self, clock: Clock) -> float:
        """Clock seconds a shared slot taken now counts if its process dies before it starts: the window, plus the
        store's lease for the create request still under way."""
        assert self.store is not None
        assert self.window is not None
        return self.window + self.store.lease * _speed(clock)

    async def _run(self, clock: Clock, op: str, token: str, hold: float = 0.0) -> tuple[bool, float]:
        from redis.exceptions import RedisError

        assert self.store is not None
        now = "" if self.store.time is None else repr(self.store.time())
        args: list[str | int] = [now, repr(_speed(clock)), op, token, self.limit, repr(hold), self._channel]
        self.store.calls += 1
        try:
            with anyio.fail_after(self.store.timeout):
                admitted, wait = await self._script(keys=[self._key], args=args)
        except (RedisError, OSError, TimeoutError):
            raise QuotaStoreUnavailable("the shared job-slot store did not answer") from None
        return admitted == 1, float(wait)

    async def _acquire_shared(self, clock: Clock, deadline: float | None) -> JobTicket:
        assert self.store is not None
        speed = _speed(clock)
        token = secrets.token_hex(8)
        waited = False
        with anyio.CancelScope() as scope:
            if deadline is not None:
                scope.deadline = anyio.current_time() + max(0.0, deadline - clock.now()) / speed
            try:
                turn = _QUOTA_TURNS.setdefault(self.store, {}).setdefault(self._channel, anyio.Lock())
                waited = turn.locked()
                async with turn:
                    await self.store.wait_freed(self._channel, 0.0)  # subscribe before the first take
                    while True:
                        admitted, wait = await self._run(clock, "take", token, self._hold(clock))
                        if admitted:
                            self.waits += waited
                            return JobTicket(self, token, clock)
                        waited = True
                        now = clock.now()
                        if deadline is not None and now + wait > deadline:
                            # Another process may finish its job first: wait for a release until the deadline.
                            wait = deadline - now
                        await self.store.wait_freed(self._channel, max(wait, 0.0) / speed)
            except BaseException:
                # A take may have landed as the wait was stopped: give it back (a no-op when it did not).
                await self._update(JobTicket(self, token, clock), "free", 0.0)
                raise
        raise GateWaitTooLong(f"all {self.limit} shared job slots stayed held until the deadline", retry_after=None)

    async def _update(self, slot: JobTicket, op: str, hold: float) -> None:
        # Runs in cleanup paths, cancelled ones too; a failure only leaves the slot to end at its expiry.
        with anyio.CancelScope(shield=True):
            try:
                await self._run(slot.clock, op, slot.token, hold)
            except QuotaStoreUnavailable:
                logger.warning("job slot %s was not sent to the shared store; it ends at its expiry", op)


def _speed(clock: Any) -> float:
    return float(getattr(clock, "speed", 1.0))
