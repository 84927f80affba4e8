"""Job slots: "at most N jobs of one account at once", for vendor rules that count jobs, not requests.

A report is one request that creates it, then polls and a download, often minutes apart. Some vendors cap the jobs
themselves: AppNexus refuses a user's report when 5 of the reports that user submitted in the last 15 minutes are
still pending or processing (docs/vendors/appnexus.md). A request gate cannot keep such a rule, since no request is
in flight while a job runs; :class:`JobSlots` does. A caller takes a slot *before* the request that creates the job,
and the slot is held across every request of the job until the vendor no longer counts it:

    slots = JobSlots(5, window=900)              # AppNexus: 5 pending reports, counted over 15 minutes
    slot = await slots.acquire(clock)            # waits while 5 are held (never refused)
    reply = await client.request("POST", ...)    # create the job
    await slot.started()                         # the vendor has it: with a window, it counts window more at most
    ...                                          # poll
    await slot.finished()                        # the vendor said it ended: the slot frees now

Two rules, by ``mode``:

* ``"running"`` (default): a job counts from its slot's acquisition until :meth:`JobSlot.finished`, or, when
  ``window`` is given, until ``window`` seconds after :meth:`JobSlot.started` at the latest (AppNexus: jobs older
  than 15 minutes are not counted; Ooyala's "at most 2 running" has no window).
* ``"started"``: a job counts for ``window`` seconds after it started, whatever becomes of it ("N started per window").

A slot counts from *before* the create request is sent until ``window`` after its answer arrived, so the vendor, which
saw the request somewhere in between, never counts more than ``limit``. A slot whose job was never created (the
vendor refused the request) is :meth:`JobSlot.finished` at once; one whose create request may or may not have reached
the vendor (a timeout, a reset) is :meth:`JobSlot.started`: it then counts for the whole window. Without a window, a
slot counts until it is finished, so a caller that loses a job must finish its slot.

With a :class:`~adops_async.core.shared.RedisStore` and a ``key`` the slots are shared by every process and host using
the key (a sorted set of slot expiries, taken and freed by small scripts; a release publishes, so waiters elsewhere do
not poll). A shared rule needs a ``window``: a slot of a process that died must end by itself. Redis' asyncio client
runs on asyncio only, so shared slots do too.
"""

from __future__ import annotations

import logging
import math
import secrets
import weakref
from typing import TYPE_CHECKING, Any, Literal

import anyio

from .clock import AnyioClock, Clock
from .errors import GateWaitTooLong, QuotaStoreUnavailable
from .shared import RedisStore

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

__all__ = ["JobSlot", "JobSlots"]

logger = logging.getLogger("adops_async.jobs")

# One waiter per store and channel in a process asks Redis and listens for releases (a store holds one pub/sub
# connection per channel, which one task at a time may read); the others queue on this lock, in order.
_TURNS: weakref.WeakKeyDictionary[RedisStore, dict[str, anyio.Lock]] = weakref.WeakKeyDictionary()

# KEYS[1] the slots (sorted set: token -> expiry, clock seconds), ARGV: now ("" = server TIME), speed, op, token,
# limit, hold, channel. "take": admit if fewer than limit unexpired slots, else answer the wait until the earliest
# expiry. "start": move an existing slot's expiry to now + hold. "free": drop it and publish on the channel.
_SCRIPT = """
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


class JobSlot:
    """One job's place in a :class:`JobSlots` rule, from before its create request until the vendor stops counting it.

    Await :meth:`started` once the vendor answered the create request (or may have received it), :meth:`finished`
    when the vendor says the job ended or that it never existed. Both are idempotent and safe in cleanup code: a
    shared slot's update is shielded from cancellation, bounded by the store's timeout, and if Redis does not take it
    the slot simply ends at its expiry.
    """

    def __init__(self, slots: JobSlots, token: str, clock: Clock) -> None:
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
        return f"<JobSlot {state}>"


class JobSlots:
    """At most ``limit`` jobs of one account counted at once; :meth:`acquire` waits for a place, never refuses.

    Args:
        limit: the vendor's cap (AppNexus: 5 pending reports per user; Ooyala Custom Reporting: 2 running).
        window: seconds after its start that a job stops counting whatever happens (the vendor's horizon or its job
            timeout); ``None``: a job counts until finished (local slots only).
        mode: ``"running"`` (counted until finished, or ``window`` after start) or ``"started"`` (counted ``window``
            after start; needs ``window``).
        store, key: share the slots through a :class:`~adops_async.core.shared.RedisStore` under ``key`` (the
            account the vendor counts, e.g. the user); needs ``window``.

    Share one :class:`JobSlots` between the clients of one account in a process, or one ``store`` and ``key`` between
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
            self._script: AsyncScript = store.redis.register_script(_SCRIPT)
        self.waits = 0
        """Acquisitions that had to wait for a place."""
        self.peak = 0
        """Most local slots held at once."""

    def __repr__(self) -> str:
        window = "" if self.window is None else f", window={self.window:g}"
        return f"JobSlots({self.limit}{window}, mode={self.mode!r}{', shared' if self.store else ''})"

    def held(self, now: float) -> int:
        """Local slots counted at ``now`` (shared slots are counted in Redis)."""
        self._expire(now)
        return len(self._expiry)

    async def acquire(self, clock: Clock | None = None, *, deadline: float | None = None) -> JobSlot:
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
                return JobSlot(self, token, clock)
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

    async def _start(self, slot: JobSlot) -> None:
        if self.window is None:
            return
        assert slot.started_at is not None
        if self.store is None:
            if slot.token in self._expiry:
                self._expiry[slot.token] = slot.started_at + self.window
            return
        await self._update(slot, "start", self.window)

    async def _free(self, slot: JobSlot) -> None:
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

    async def _acquire_shared(self, clock: Clock, deadline: float | None) -> JobSlot:
        assert self.store is not None
        speed = _speed(clock)
        token = secrets.token_hex(8)
        waited = False
        with anyio.CancelScope() as scope:
            if deadline is not None:
                scope.deadline = anyio.current_time() + max(0.0, deadline - clock.now()) / speed
            try:
                turn = _TURNS.setdefault(self.store, {}).setdefault(self._channel, anyio.Lock())
                waited = turn.locked()
                async with turn:
                    await self.store.wait_freed(self._channel, 0.0)  # subscribe before the first take
                    while True:
                        admitted, wait = await self._run(clock, "take", token, self._hold(clock))
                        if admitted:
                            self.waits += waited
                            return JobSlot(self, token, clock)
                        waited = True
                        now = clock.now()
                        if deadline is not None and now + wait > deadline:
                            # Another process may finish its job first: wait for a release until the deadline.
                            wait = deadline - now
                        await self.store.wait_freed(self._channel, max(wait, 0.0) / speed)
            except BaseException:
                # A take may have landed as the wait was stopped: give it back (a no-op when it did not).
                await self._update(JobSlot(self, token, clock), "free", 0.0)
                raise
        raise GateWaitTooLong(f"all {self.limit} shared job slots stayed held until the deadline", retry_after=None)

    async def _update(self, slot: JobSlot, op: str, hold: float) -> None:
        # Runs in cleanup paths, cancelled ones too; a failure only leaves the slot to end at its expiry.
        with anyio.CancelScope(shield=True):
            try:
                await self._run(slot.clock, op, slot.token, hold)
            except QuotaStoreUnavailable:
                logger.warning("job slot %s was not sent to the shared store; it ends at its expiry", op)


def _speed(clock: Any) -> float:
    return float(getattr(clock, "speed", 1.0))
