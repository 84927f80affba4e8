"""Job quotas: at most ``limit`` long-running jobs (reports) of one account counted at once, each held across the
several requests of its life.

A gate slot lasts one request. A report is a create request, then polls and a download, often minutes apart, and
some vendors cap the jobs themselves: Ooyala's Custom Reporting runs at most two reports per account (it queues more),
AppNexus refuses a user's report while 5 of the reports that user submitted in the last 15 minutes are pending
(docs/vendors/ooyala.md, docs/vendors/appnexus.md). No request is in flight while a job runs, so a gate cannot keep
such a rule; a :class:`JobQuota` does. A caller takes a ticket *before* the create request and holds it until the
vendor no longer counts the job::

    quota = JobQuota(5, window=900)              # AppNexus: 5 pending reports, counted over 15 minutes
    ticket = await quota.acquire(clock)          # waits while 5 are counted (never refused)
    reply = await client.request("POST", ...)    # create the job
    await ticket.started()                       # the vendor has it: with a window, it counts window more at most
    ...                                          # poll (await ticket.renew() for a quota with a hold)
    await ticket.finished()                      # the vendor said it ended: the ticket frees now

Two rules, by ``mode``:

* ``"running"`` (default): a job counts from its ticket's acquisition until :meth:`JobTicket.finished`, or, when
  ``window`` is given, until ``window`` seconds after :meth:`JobTicket.started` at the latest (AppNexus: jobs older
  than 15 minutes are not counted; Ooyala's "at most 2 running" has no window).
* ``"started"``: a job counts for ``window`` seconds after it started, whatever becomes of it ("N started per window").

A ticket counts from *before* the create request is sent until ``window`` after its answer arrived, so the vendor,
which saw the request somewhere in between, never counts more than ``limit``. A ticket whose job was never created
(the vendor refused the request) is finished at once; one whose create request may or may not have reached the vendor
(a timeout, a reset) is started: it then counts for the whole window. Without a window, a ticket counts until it is
finished, so a caller that loses a job must finish its ticket.

In one process, waiters are served in arrival order; the first may be given an ``on_wait`` check, called every
``poll`` seconds while it waits (Ooyala asks its own running reports, so a finished one nobody polls frees).

With a :class:`~adops_async.core.shared.RedisStore` and a ``key`` the count is shared by every process and host using
the key: a sorted set of ticket lapse times, taken, renewed and freed by one small script; a free publishes, so
waiters elsewhere wake without polling (one waiter per process asks, the others queue behind it in order). A shared
ticket must end by itself when its process dies: it lapses ``window`` after it started, or ``hold`` seconds after it
was taken or last renewed, whichever comes first, so a shared quota needs one of them. Redis' asyncio client runs on
asyncio only, so shared quotas do too.
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

__all__ = ["JobQuota", "JobTicket"]

logger = logging.getLogger("adops_async.jobs")

OnWait = Callable[[], Awaitable[object]]

# One waiter per store and channel in a process asks Redis and listens for frees (a store holds one pub/sub connection
# per channel, which one task at a time may read); the others queue on this lock, in order.
_TURNS: weakref.WeakKeyDictionary[RedisStore, dict[str, anyio.Lock]] = weakref.WeakKeyDictionary()

# KEYS[1] the tickets (sorted set: token -> lapse time, clock seconds). ARGV: now ("" = server TIME), speed, op,
# token, limit, seconds, channel. Lapsed tickets go first. "take": admit if fewer than limit remain (lapsing `seconds`
# from now), else answer the wait until the earliest lapse. "renew": move a live ticket's lapse to now + seconds.
# "free": drop it and publish on the channel.
_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
    local t = redis.call("TIME")
    now = (tonumber(t[1]) + tonumber(t[2]) / 1e6) * tonumber(ARGV[2])
end
local key, op, token, seconds = KEYS[1], ARGV[3], ARGV[4], tonumber(ARGV[6])
local function add()
    redis.call("ZADD", key, now + seconds, token)
    local ms = math.ceil(seconds / tonumber(ARGV[2]) * 1000) + 1000
    if redis.call("PTTL", key) < ms then
        redis.call("PEXPIRE", key, ms)
    end
    return {1, "0"}
end
redis.call("ZREMRANGEBYSCORE", key, "-inf", now)
if op == "take" then
    if redis.call("ZCARD", key) < tonumber(ARGV[5]) then
        return add()
    end
    local first = redis.call("ZRANGE", key, 0, 0, "WITHSCORES")
    return {0, string.format("%.6f", tonumber(first[2]) - now)}
elseif op == "renew" then
    if redis.call("ZSCORE", key, token) then
        return add()
    end
    return {0, "0"}
end
if redis.call("ZREM", key, token) == 1 then
    redis.call("PUBLISH", ARGV[7], token)
end
return {1, "0"}
"""


class JobTicket:
    """One job's place in a :class:`JobQuota`, from before its create request until the vendor stops counting it.

    Await :meth:`started` once the vendor answered the create request (or may have received it), :meth:`renew` while
    the job is seen running (a quota with a ``hold``), :meth:`finished` when the vendor says the job ended or that it
    never existed. All are idempotent and safe in cleanup code: a shared ticket's update is shielded from
    cancellation, bounded by the store's timeout, and if Redis does not take it the ticket simply lapses.
    """

    def __init__(self, quota: JobQuota, token: str, clock: Clock) -> None:
        self.quota = quota
        """The quota the ticket counts in."""
        self.token = token
        """The ticket's unique id in the quota (and in the shared store)."""
        self.clock = clock
        """The quota's time source."""
        self.started_at: float | None = None
        """Clock time the vendor had the job by (the create request's answer), once known."""
        self.done = False
        """Whether :meth:`finished` freed the ticket."""

    def __repr__(self) -> str:
        state = "finished" if self.done else "started" if self.started_at is not None else "creating"
        return f"<JobTicket {state}>"

    async def started(self) -> None:
        """The vendor has the job (it answered the create request, or may have received it)."""
        if self.done or self.started_at is not None:
            return
        self.started_at = self.clock.now()
        await self.quota._started(self)

    async def renew(self) -> None:
        """The job is still running: a shared ticket lapses ``hold`` seconds from now (never past its window)."""
        if not self.done:
            await self.quota._renew(self)

    async def finished(self) -> None:
        """The job ended (done, failed or cancelled), or was never created: in ``"running"`` mode the ticket frees
        now; in ``"started"`` mode only a ticket whose job never started frees early."""
        if self.done or (self.quota.mode == "started" and self.started_at is not None):
            return
        self.done = True
        await self.quota._finished(self)


class JobQuota:
    """At most ``limit`` jobs of one account counted at once; :meth:`acquire` waits for a place, never refuses.

    Args:
        limit: the vendor's cap (AppNexus: 5 pending reports per user; Ooyala Custom Reporting: 2 running).
        window: clock seconds after its start that a job stops counting whatever happens (the vendor's horizon or
            its job timeout); ``None``: a job counts until finished.
        mode: ``"running"`` (counted until finished, or ``window`` after start) or ``"started"`` (counted ``window``
            after start; needs ``window``).
        hold: shared tickets only: clock seconds a ticket lasts after it was taken or last renewed, so the tickets of
            a process that died lapse (Ooyala: two hours).
        store: share the count through a :class:`~adops_async.RedisStore` (needs ``key``, and ``window`` or ``hold``).
        key: the account the vendor counts, in the store (never a secret: pass an
            :func:`~adops_async.core.shared.identity`).
        poll: clock seconds between two calls of an :meth:`acquire` ``on_wait`` check.

    Share one :class:`JobQuota` between the clients of one account in a process, or one ``store`` and ``key`` between
    processes.
    """

    def __init__(
        self,
        limit: int,
        *,
        window: float | None = None,
        mode: Literal["running", "started"] = "running",
        hold: float | None = None,
        store: RedisStore | None = None,
        key: str | None = None,
        poll: float = 1.0,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        for name, value in (("window", window), ("hold", hold), ("poll", poll)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be finite and positive")
        if mode not in ("running", "started"):
            raise ValueError('mode is "running" or "started"')
        if mode == "started" and window is None:
            raise ValueError('mode="started" counts jobs for a window: give window=')
        if store is not None and (not key or (window is None and hold is None)):
            raise ValueError("a shared quota needs key= (the account) and window= or hold= (so a dead process's ends)")
        self.limit = limit
        """The vendor's cap: jobs counted at once."""
        self.window = window
        """Clock seconds after its start that a job stops counting, or ``None``: until finished."""
        self.mode = mode
        """``"running"``: counted until finished (or ``window``); ``"started"``: for ``window`` after start."""
        self.hold = hold
        """Shared tickets only: clock seconds a ticket lasts after it was taken or last renewed."""
        self.store = store
        """The Redis store the count is shared through, or ``None`` (this process only)."""
        self.poll = poll
        """Clock seconds between two calls of an :meth:`acquire` ``on_wait`` check."""
        self.waits = 0
        """Acquisitions that had to wait for a place."""
        self.peak = 0
        """Most tickets this process held at once."""
        self._expiry: dict[str, float] = {}
        """This process's tickets: token -> clock time it stops counting (``inf``: until finished)."""
        self._queue: deque[anyio.Event] = deque()
        """Local waiters in arrival order; the first one's event is set when a place may have opened."""
        if store is not None:
            assert key is not None
            self._key = store.key(key, "jobs")
            self._channel = store.key(key, "jobs-freed")
            self._script: AsyncScript = store.redis.register_script(_SCRIPT)

    def __repr__(self) -> str:
        window = "" if self.window is None else f", window={self.window:g}"
        return f"JobQuota({self.limit}{window}, mode={self.mode!r}{', shared' if self.store else ''})"

    def held(self, now: float) -> int:
        """This process's tickets counted at clock time ``now`` (a shared quota also counts other processes' in
        Redis)."""
        self._expire(now)
        return len(self._expiry)

    async def acquire(
        self, clock: Clock | None = None, *, deadline: float | None = None, on_wait: OnWait | None = None
    ) -> JobTicket:
        """Wait for a place and take it (in arrival order within a process).

        ``deadline`` (clock time): never wait past it; raise :class:`~adops_async.GateWaitTooLong` instead (at once
        when the earliest lapse is already later and no ticket may finish before it). Nothing is taken then.
        ``on_wait``: called by the first waiter before each wait, at least every ``poll`` seconds: a vendor client
        passes a check of its own running jobs, so a ticket held by a finished job nobody polls frees.
        """
        clock = clock or AnyioClock()
        if self.store is None:
            return await self._acquire_local(clock, deadline, on_wait)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "a JobQuota with a RedisStore runs on asyncio only (redis-py's asyncio client)"
            ) from None
        return await self._acquire_shared(clock, deadline, on_wait)

    def _admit(self, clock: Clock, token: str, waited: bool) -> JobTicket:
        # Before it started a job counts until finished or started: the create request is under way.
        self._expiry[token] = math.inf
        self.peak = max(self.peak, len(self._expiry))
        self.waits += waited
        return JobTicket(self, token, clock)

    async def _acquire_local(self, clock: Clock, deadline: float | None, on_wait: OnWait | None) -> JobTicket:
        turn = anyio.Event()
        self._queue.append(turn)
        waited = False
        try:
            while True:
                now = clock.now()
                self._expire(now)
                full = len(self._expiry) >= self.limit
                first = self._queue[0] is turn
                if first and not full:
                    return self._admit(clock, secrets.token_hex(8), waited)
                opens = min(self._expiry.values()) if full else now
                self._check_deadline(now, opens, deadline)
                wake = deadline
                if first:
                    if on_wait is not None:
                        await on_wait()  # a ticket it finishes sets our event: the wait below returns at once
                        wake = _soonest(wake, clock.now() + self.poll)
                    wake = _soonest(wake, opens)
                waited = True
                await clock.wait(turn, wake)
                turn = self._renewed(turn)
        finally:
            self._queue.remove(turn)
            self._wake_first()

    def _renewed(self, turn: anyio.Event) -> anyio.Event:
        """A fresh event in ``turn``'s place in the queue (an anyio event cannot be cleared; a clock may set the one
        it was given when the deadline passes)."""
        if not turn.is_set():
            return turn
        fresh = anyio.Event()
        self._queue[self._queue.index(turn)] = fresh
        return fresh

    def _wake_first(self) -> None:
        if self._queue:
            self._queue[0].set()

    def _check_deadline(self, now: float, opens: float, deadline: float | None) -> None:
        if deadline is None:
            return
        # A ticket that may be finished at any moment can open before its lapse: then only the deadline ends the wait.
        may_free_early = self.mode == "running" or math.inf in self._expiry.values()
        retry_after = opens - now if opens < math.inf else None
        if now >= deadline or (opens > deadline and not may_free_early):
            opening = f"in {retry_after:.3g} s" if retry_after is not None else "when a job finishes"
            raise GateWaitTooLong(
                f"all {self.limit} job slots are held; one frees {opening}, after the deadline", retry_after=retry_after
            )

    def _expire(self, now: float) -> None:
        for token in [t for t, until in self._expiry.items() if until <= now]:
            del self._expiry[token]

    async def _started(self, ticket: JobTicket) -> None:
        assert ticket.started_at is not None
        if self.window is not None and ticket.token in self._expiry:
            self._expiry[ticket.token] = ticket.started_at + self.window
            self._wake_first()  # the first waiter's wake-up time may now be known
        if self.store is not None:
            await self._update(ticket, "renew")

    async def _renew(self, ticket: JobTicket) -> None:
        if self.store is not None and self.hold is not None:
            await self._update(ticket, "renew")

    async def _finished(self, ticket: JobTicket) -> None:
        if self._expiry.pop(ticket.token, None) is not None:
            self._wake_first()
        if self.store is not None:
            await self._update(ticket, "free")

    # -- shared ---------------------------------------------------------------------------------------------------

    def _lapse(self, clock: Clock, started_at: float | None) -> float:
        """Clock seconds from now a shared ticket counts: ``hold``, and at most until ``window`` after its start (or,
        not started yet, the window plus the store's lease for the create request still under way)."""
        assert self.store is not None
        limits = [] if self.hold is None else [self.hold]
        if self.window is not None:
            if started_at is None:
                limits.append(self.window + self.store.lease * _speed(clock))
            else:
                limits.append(started_at + self.window - clock.now())
        return max(min(limits), 0.0)

    async def _acquire_shared(self, clock: Clock, deadline: float | None, on_wait: OnWait | None) -> JobTicket:
        assert self.store is not None
        speed = _speed(clock)
        token = secrets.token_hex(8)
        with anyio.CancelScope() as scope:
            if deadline is not None:
                scope.deadline = anyio.current_time() + max(0.0, deadline - clock.now()) / speed
            try:
                turn = _TURNS.setdefault(self.store, {}).setdefault(self._channel, anyio.Lock())
                waited = turn.locked()
                async with turn:
                    await self.store.wait_freed(self._channel, 0.0)  # subscribe before the first take
                    while True:
                        admitted, wait = await self._run(clock, "take", token, self._lapse(clock, None))
                        if admitted:
                            return self._admit(clock, token, waited)
                        waited = True
                        if on_wait is not None:
                            await on_wait()
                            wait = min(wait, self.poll)
                        # A free anywhere wakes us; a lapse does not publish, so wait no longer than the first one.
                        await self.store.wait_freed(self._channel, max(wait, 0.001) / speed)
            except BaseException:
                # A take may have landed as the wait was stopped: give it back (a no-op when it did not).
                await self._update(JobTicket(self, token, clock), "free")
                raise
        raise GateWaitTooLong(f"all {self.limit} shared job slots stayed held until the deadline", retry_after=None)

    async def _run(self, clock: Clock, op: str, token: str, seconds: float = 0.0) -> tuple[bool, float]:
        from redis.exceptions import RedisError

        assert self.store is not None
        now = "" if self.store.time is None else repr(self.store.time())
        args: list[str | int] = [now, repr(_speed(clock)), op, token, self.limit, repr(seconds), self._channel]
        self.store.calls += 1
        try:
            with anyio.fail_after(self.store.timeout):
                done, wait = await self._script(keys=[self._key], args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            raise QuotaStoreUnavailable(f"the shared job quota did not answer ({type(exc).__name__})") from None
        return done == 1, float(wait)

    async def _update(self, ticket: JobTicket, op: str) -> None:
        # Runs in cleanup paths, cancelled ones too; a failure only leaves the ticket to lapse by itself.
        with anyio.CancelScope(shield=True):
            try:
                seconds = self._lapse(ticket.clock, ticket.started_at) if op == "renew" else 0.0
                done, _ = await self._run(ticket.clock, op, ticket.token, seconds)
            except QuotaStoreUnavailable:
                logger.warning("a job ticket's %s did not reach the shared store; it lapses by itself", op)
                return
        if not done:
            logger.warning("a shared job ticket had lapsed before its renewal: the vendor may count one more job")


def _soonest(*times: float | None) -> float | None:
    finite = [t for t in times if t is not None and t < math.inf]
    return min(finite) if finite else None


def _speed(clock: Any) -> float:
    return float(getattr(clock, "speed", 1.0))
