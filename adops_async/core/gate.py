"""The gate: every request of a client waits here until each of the vendor's rules lets it go.

Fairness rule: waiters are served first by priority, then in arrival order (FIFO). So that bulk work is never starved,
after ``max_overtakes`` admissions in a row that went ahead of an older waiter of the same kind, the oldest waiter of
that kind goes next: background pulls keep at least one slot in ``max_overtakes + 1`` while a handler waits at most
one slot for its turn.

Cancellation rule: a waiter takes its budget only in the instant it leaves the queue, in its own task, with no
checkpoint in between; a task cancelled while waiting therefore takes nothing, and a task cancelled while holding a
slot gives its permit back when the ``async with`` block unwinds, unless the slot was marked with
:meth:`Slot.hold_until` (a request that may still be running on the vendor's server keeps its place until then).

Deadline rule: a slot asked for with a ``deadline`` never waits past it. When the gate can already tell that it will
not open in time (a cooldown the vendor asked for, a budget that refills later), :class:`GateWaitTooLong` is raised at
once, with the predicted wait as ``retry_after``; otherwise at the deadline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import itertools
import logging
import math
import operator
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
import httpx

from ..observe._events import BudgetSynced, CooldownEnded, CooldownStarted, Event, QuotaStoreMode
from .admission import LeaseGuard, SharedAdmission
from .clock import AnyioClock, Clock
from .errors import GateWaitTooLong, QuotaStoreUnavailable
from .headers import parse_rate_limit
from .policies import Cooldown, ExistingLimiter, Kind, Limiter, Observation, Policy, Priority, TokenBucket, Turn
from .shared import RedisStore

__all__ = ["CooldownEvent", "Gate", "GateStats", "Slot"]

logger = logging.getLogger("adops_async.gate")


@dataclass(frozen=True)
class CooldownEvent:
    """A rate signal closed the gate: nobody goes before :attr:`until` (clock time), :attr:`wait` seconds from now."""

    until: float
    """Clock time before which nobody goes."""
    wait: float
    """Seconds from now to :attr:`until`."""
    status: int | None
    """The status of the response that signalled, or ``None`` (a signal in a success body)."""
    reason: str
    """What the vendor said, for logs."""


@dataclass(frozen=True)
class GateStats:
    """A snapshot of a gate, for dashboards and tests (a new one per :meth:`Gate.stats` call, like anyio's
    statistics: holding it never sees the gate change)."""

    in_flight: int
    """Requests holding a slot now."""
    capacity: int | None
    """The most slots the gate's policies allow at once, or ``None`` for no cap."""
    budgets: dict[str, int]
    """Calls left now per budget (``reads``, ``writes``, ``bucket``)."""
    waiters: dict[Priority, int]
    """Requests queued now, per priority."""
    cooldown_until: float | None
    """Clock time before which the gate stays closed, or ``None``."""
    acquisitions: int = 0
    """Slots handed out since the gate was made."""
    waits: int = 0
    """Acquisitions that had to queue."""
    wait_time: float = 0.0
    """Seconds spent queueing, summed over acquisitions."""
    responses_429: int = 0
    """429 responses seen."""
    responses_503: int = 0
    """503 responses seen."""
    cooldowns: int = 0
    """Times a rate signal closed or extended the pause."""
    store: str | None = None
    """``None`` (state in this process), ``"shared"`` (in Redis) or ``"local"`` (Redis down: metering a share)."""


@dataclass
class _Counters:
    """What a gate counts over its life, for :class:`GateStats`."""

    acquisitions: int = 0
    waits: int = 0
    wait_time: float = 0.0
    responses_429: int = 0
    responses_503: int = 0
    cooldowns: int = 0


class _Waiter:
    """A request queued at the gate. Its task waits to be woken (:meth:`wake`) when what it was told changes."""

    __slots__ = ("admissible", "deadline", "event", "future", "kind", "priority", "queued", "seq", "since", "taking")

    def __init__(self, kind: Kind, priority: Priority, seq: int, since: float) -> None:
        self.kind = kind
        self.priority = priority
        self.seq = seq
        self.since = since
        self.event: anyio.Event | None = None
        """What a wait with a time limit waits on (through the clock, which sets it at the limit); made on the first
        such wait, and kept while it was not set."""
        self.future: asyncio.Future[None] | None = None
        """What an asyncio task waits on when only a wake-up can end its wait (no clock timer needed)."""
        self.admissible = False
        self.deadline: float | None = None
        self.queued = True
        self.taking = False
        """Asking the shared store: keeps its place at the head and one permit until the answer."""

    def wake(self) -> None:
        """Make the waiting task look again (a task that is not waiting looks before it waits)."""
        future = self.future
        if future is not None:
            self.future = None
            if not future.done():  # a cancelled task's future is done: its task leaves anyway
                future.set_result(None)
        elif self.event is not None:
            self.event.set()

    async def wait(self, clock: Clock, until: float | None) -> None:
        """Wait until woken, or until clock time ``until`` (if any) has passed."""
        if until is None:
            try:
                self.future = future = asyncio.get_running_loop().create_future()
            except RuntimeError:  # not asyncio: an event, which needs no clock either
                pass
            else:
                try:
                    await future
                finally:
                    self.future = None
                return
        event = self.event
        if event is None or event.is_set():  # an unset event (one never set) serves again
            self.event = event = _new_event()
        if until is None:
            await event.wait()
        else:
            await clock.wait(event, until)


class Gate:
    """Composes policies into one place to wait: ``async with gate.slot(Kind.READ): ...``.

    Args:
        policies: the vendor's rules, e.g. ``ReadWriteQuota(100, 60, per=60), MaxInFlight(15), Cooldown()``; an
            ``aiolimiter.AsyncLimiter`` the service already uses may be added (see :class:`ExistingLimiter`).
        clock: where time comes from (virtual in tests).
        max_overtakes: the anti-starvation bound described in the module docs.
        on_cooldown: called (synchronously) each time a rate signal closes or extends the pause.

    Attributes:
        listeners: called (synchronously) with the gate's events (:mod:`adops_async.observe`): cooldowns started
            and ended, budgets synced from rate headers, the shared store's mode. Clients with observers add one.
    """

    def __init__(
        self,
        *policies: Policy | Limiter,
        clock: Clock | None = None,
        max_overtakes: int = 10,
        on_cooldown: Callable[[CooldownEvent], None] | None = None,
    ) -> None:
        self.policies: tuple[Policy, ...] = tuple(
            p if isinstance(p, Policy) else ExistingLimiter(p) if isinstance(p, Limiter) else _not_a_policy(p)
            for p in policies
        )
        """The vendor's rules, in the order given (an ``aiolimiter`` limiter wrapped in :class:`ExistingLimiter`)."""
        self.clock: Clock = clock or AnyioClock()
        """Where time comes from."""
        self._max_overtakes = max_overtakes
        self.on_cooldown = on_cooldown
        """Called (synchronously) each time a rate signal closes or extends the pause."""
        self.listeners: list[Callable[[Event], None]] = []
        self._paused: CooldownStarted | None = None
        """The last cooldown announced to listeners, until the first admission after it."""
        self._capacity = self._current_capacity()
        self._cooldowns = [p for p in self.policies if isinstance(p, Cooldown)]
        self._limiters = [p for p in self.policies if isinstance(p, ExistingLimiter)]
        self._reads_headers = any(isinstance(p, TokenBucket) for p in self.policies)
        # Only the policies that override a step are asked it: a hand-off calls none of Serial's no-op defaults.
        self._timed = tuple(p for p in self.policies if _overrides(p, "ready_at"))
        self._counting = tuple(p for p in self.policies if _overrides(p, "admit"))
        self._releasing = tuple(p for p in self.policies if _overrides(p, "release"))
        self._observing = tuple(p for p in self.policies if _overrides(p, "observe"))
        self._in_flight = 0
        self._queues: dict[tuple[Kind, Priority], deque[_Waiter]] = {
            (kind, prio): deque() for kind in Kind for prio in Priority
        }
        self._by_kind = {kind: tuple(self._queues[kind, prio] for prio in sorted(Priority)) for kind in Kind}
        """Each kind's queues, most urgent priority first."""
        self._waiting = 0
        self._heads: list[_Waiter] = []
        """Each kind's first waiter, in serving order; recomputed only when :attr:`_stale`."""
        self._stale = False
        """Whether a head may have changed since :attr:`_heads` was computed (a head left, a waiter arrived that
        may go first, an overtake bound was reached or cleared)."""
        self._overtakes = dict.fromkeys(Kind, 0)
        self._seq = itertools.count()
        self._admitted = 0
        self._counts = _Counters()
        shared = [p for p in self.policies if p.shared is not None]
        stores = {id(p.shared): p.shared for p in shared}
        if len(stores) > 1:
            raise ValueError("the shared policies of one gate must use the same RedisStore")
        self.store: RedisStore | None = next(iter(stores.values()), None)
        """The shared store of this gate's policies, if any (asyncio only: redis-py's client is)."""
        self.shared: SharedAdmission | None = (
            SharedAdmission(self.store, shared, self.clock, self._mode_changed) if self.store is not None else None
        )
        """How admission asks the shared store, when the gate has one."""
        self._clocked = bool(self._timed) or self.shared is not None
        """Whether a waiter's turn may hang on the time (a policy's ``ready_at``, the shared store's)."""
        self._awaits = self.shared is not None or bool(self._limiters)
        """Whether admission awaits (the shared store, a limiter shared with other code): never on the fast path."""
        self._held: list[tuple[float, int, Slot]] = []
        """Slots whose caller left while the vendor may still be working on their request: (until, index, slot)."""

    @property
    def max_overtakes(self) -> int:
        """Admissions in a row that may go ahead of an older waiter of the same kind before that waiter goes next."""
        return self._max_overtakes

    @max_overtakes.setter
    def max_overtakes(self, value: int) -> None:
        self._max_overtakes, self._stale = value, True

    @property
    def waiting(self) -> int:
        """Requests queued at this gate now."""
        return self._waiting

    def slot(self, kind: Kind, priority: Priority = Priority.NORMAL, *, deadline: float | None = None) -> Slot:
        """Wait for a turn: ``async with gate.slot(Kind.READ) as slot: ...; slot.observe(response)``.

        ``deadline`` (clock time): never wait past it; raise :class:`GateWaitTooLong` instead, at once when the gate
        can tell it will not open in time.
        """
        return Slot(self, kind, priority, deadline)

    def cool_down(
        self, wait: float, *, since: float | None = None, status: int | None = None, reason: str = "vendor signal"
    ) -> None:
        """Close the gate for every task for ``wait`` seconds from ``since`` (default: now), for a vendor's own rate
        signal. Never shortens a pause."""
        if not self._cooldowns:
            return
        now = self.clock.now()
        if any(c.extend((now if since is None else since) + wait) for c in self._cooldowns):
            self._cooled(now, status, reason)

    def stats(self) -> GateStats:
        """A snapshot of the gate now: slots in use, budgets, queues, cooldown and counters."""
        now = self.clock.now()
        self._reap(now)
        budgets: dict[str, int] = {}
        for policy in self.policies:
            budgets.update(policy.budgets(now))
        waiters = dict.fromkeys(Priority, 0)
        for (_, prio), queue in self._queues.items():
            waiters[prio] += sum(1 for w in queue if w.queued)
        until = max((c.until for c in self._cooldowns), default=float("-inf"))
        return GateStats(
            in_flight=self._in_flight,
            capacity=self._capacity,
            budgets=budgets,
            waiters=waiters,
            cooldown_until=until if until > now else None,
            store=None if self.shared is None else "local" if self.shared.local else "shared",
            **dataclasses.asdict(self._counts),
        )

    def __repr__(self) -> str:
        return f"Gate({', '.join(map(repr, self.policies))})"

    # -- admission ---------------------------------------------------------------------------------------------

    def _ready_at(self, kind: Kind, now: float) -> float:
        ready = self.shared.ready_at(kind, now) if self.shared is not None else now
        for policy in self._timed:
            at = policy.ready_at(kind, now)
            if at > ready:
                ready = at
        return ready

    def _current_capacity(self) -> int | None:
        return min((p.capacity for p in self.policies if p.capacity is not None), default=None)

    def _mode_changed(self) -> None:
        self._capacity = self._current_capacity()
        if self.listeners and self.shared is not None:
            self._emit(QuotaStoreMode(mode="local" if self.shared.local else "shared", at=self.clock.now()))

    def _has_permit(self, now: float) -> bool:
        if self._held:
            self._reap(now)
        return self._capacity is None or self._in_flight < self._capacity

    def _refuse_if_late(self, slot: Slot, since: float, now: float) -> None:
        """Raise :class:`GateWaitTooLong` when ``slot`` (which has a deadline) cannot be admitted before it."""
        assert slot.deadline is not None
        ready = self._ready_at(slot.kind, now)
        retry_after = ready - now if now < ready < math.inf else None
        if now >= slot.deadline:
            raise GateWaitTooLong(
                f"waited {now - since:.3g} s at the gate and reached the call's deadline", retry_after=retry_after
            )
        # An infinite wait ends when a request in flight ends, which may be any moment: only a known one refuses.
        if slot.deadline < ready < math.inf:
            late = f"after the call's deadline ({slot.deadline - now:.3g} s from now)"
            raise GateWaitTooLong(f"the gate opens in {ready - now:.3g} s, {late}", retry_after=retry_after)

    def _blocker(self, kind: Kind, now: float) -> str:
        """What holds a request of ``kind`` back now, for :class:`~adops_async.observe.GateWaited`."""
        if self._waiting:
            return "queue"
        if not self._has_permit(now):
            return "capacity"
        ready, name = now, "shared" if self.shared is not None else "limiter"
        for policy in self.policies:
            at = policy.ready_at(kind, now)
            if at > ready:
                ready, name = at, type(policy).__name__
        return name

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    # -- the interface of Slot ---------------------------------------------------------------------------------

    async def acquire(self, slot: Slot) -> None:
        """Wait for ``slot``'s turn and admit it (what ``async with slot`` does first)."""
        now = self.clock.now()
        awaits = self._awaits
        if not awaits and not self._waiting and self._has_permit(now) and self._ready_at(slot.kind, now) <= now:
            self._admit(slot, now)
            return
        if slot.deadline is not None:
            self._refuse_if_late(slot, now, now)
        slot.blocked = "queue" if self._waiting else self._blocker(slot.kind, now)
        slot.queued_at = now
        waiter = _Waiter(slot.kind, slot.priority, next(self._seq), now)
        self._enqueue(waiter)
        try:
            while True:
                self._dispatch(now)
                if waiter.admissible and (not awaits or await self._clear(waiter, slot)):
                    break
                if waiter.admissible:
                    now = self.clock.now()
                    continue
                if slot.deadline is not None:
                    self._refuse_if_late(slot, waiter.since, now)
                wake = waiter.deadline
                if slot.deadline is not None:
                    wake = slot.deadline if wake is None else min(wake, slot.deadline)
                await waiter.wait(self.clock, wake)
                now = self.clock.now()
        except BaseException as exc:
            waiter.taking = False
            self._dequeue(waiter)
            self._dispatch(self.clock.now())
            if self.shared is not None and not isinstance(exc, QuotaStoreUnavailable):
                await self.shared.leave(slot)  # a store that did not answer has no place to give back
            raise
        self._dequeue(waiter)
        if awaits:  # the store or a limiter awaited since the waiter was judged
            now = self.clock.now()
        self._count_overtake(waiter)
        self._counts.waits += 1
        self._counts.wait_time += now - waiter.since
        self._admit(slot, now)
        self._dispatch(now)

    async def _clear(self, waiter: _Waiter, slot: Slot) -> bool:
        """The steps of admission that await, in the head waiter's own task: a limiter the gate shares with other
        code of the service, then the shared store. ``False``: judge the waiter again. While they run, the waiter
        keeps its place at the head and one permit."""
        waiter.taking = True
        try:
            if self._limiters and not slot.limited:
                for policy in self._limiters:
                    await policy.acquire()
                slot.limited = True
                return False  # the local rules may have changed while the limiter made us wait
            return self.shared is None or not self.shared.asks() or await self.shared.take(slot)
        finally:
            waiter.taking = False

    def _admit(self, slot: Slot, now: float) -> None:
        self._in_flight += 1
        for policy in self._counting:
            if slot.turn is None or policy.shared is None:  # a turn taken from the store is counted there
                policy.admit(slot.kind, now)
        self._admitted += 1
        slot.index = self._admitted
        slot.holding = True
        self._counts.acquisitions += 1
        if self._paused is not None and now >= self._paused.until:
            paused, self._paused = self._paused, None
            self._emit(CooldownEnded(**_origin(slot), duration=now - paused.at, reason=paused.reason, at=now))

    def release(self, slot: Slot) -> None:
        """Give ``slot``'s place back (its request ended)."""
        if not slot.holding:
            return
        if self._releasing or self._held or (self._waiting and self._clocked):
            now = self.clock.now()
            self._free(slot, now)
            self._dispatch(now)
            return
        # Nothing here reads the time: no policy meters the release, no hold can end, and a waiter's turn (if one
        # waits) hangs on permits alone.
        slot.holding = False
        self._in_flight -= 1
        if self._waiting:
            self._dispatch(-math.inf)

    def _free(self, slot: Slot, now: float) -> None:
        slot.holding = False
        self._in_flight -= 1
        for policy in self._releasing:
            if slot.turn is None or policy.shared is None:
                policy.release(slot.kind, now)

    def hold(self, slot: Slot, until: float) -> None:
        """Keep ``slot``'s place until ``until`` (clock time) although its caller left: its request may still be
        running on the vendor's server. Released once that time has passed."""
        if slot.holding:
            heapq.heappush(self._held, (until, slot.index, slot))
            self._dispatch(self.clock.now())

    def _reap(self, now: float) -> None:
        while self._held and self._held[0][0] <= now:
            until, _, slot = heapq.heappop(self._held)
            self._free(slot, until)

    def _enqueue(self, waiter: _Waiter) -> None:
        self._queues[waiter.kind, waiter.priority].append(waiter)
        self._waiting += 1
        if self._stale:
            return
        for head in self._heads:
            if head.kind is waiter.kind:
                # Behind a head of the same or a more urgent priority, or while the oldest goes next (the newcomer
                # is the youngest), it cannot be first: the heads stand.
                if waiter.priority < head.priority and self._overtakes[waiter.kind] < self._max_overtakes:
                    self._stale = True
                return
        self._stale = True  # the first of its kind

    def _dequeue(self, waiter: _Waiter) -> None:
        if waiter.queued:
            waiter.queued = False
            self._waiting -= 1
            if waiter in self._heads:
                self._stale = True
            # Keep every queue's front a waiter that still waits; one that left further back goes when it is reached.
            queue = self._queues[waiter.kind, waiter.priority]
            while queue and not queue[0].queued:
                queue.popleft()

    def _count_overtake(self, waiter: _Waiter) -> None:
        kind = waiter.kind
        older = False
        for queue in self._by_kind[kind]:
            if queue and queue[0].seq < waiter.seq:
                older = True
                break
        before = self._overtakes[kind]
        after = self._overtakes[kind] = before + 1 if older else 0
        if (after >= self._max_overtakes) is not (before >= self._max_overtakes):
            self._stale = True  # the oldest goes next, or no longer has to

    def _find_heads(self) -> None:
        previous = self._heads
        heads: list[_Waiter] = []
        for kind, queues in self._by_kind.items():
            if self._overtakes[kind] >= self._max_overtakes:  # the oldest front of any priority
                oldest: _Waiter | None = None
                for queue in queues:
                    if queue and (oldest is None or queue[0].seq < oldest.seq):
                        oldest = queue[0]
                if oldest is not None:
                    heads.append(oldest)
                continue
            for queue in queues:  # the front of the most urgent priority (each queue is in arrival order)
                if queue:
                    heads.append(queue[0])
                    break
        if len(heads) > 1:
            heads.sort(key=_serving_order)
        self._heads = heads
        self._stale = False
        for waiter in previous:
            if waiter not in heads:
                waiter.admissible, waiter.deadline = False, None

    def _dispatch(self, now: float) -> None:
        """Tell each kind's first waiter whether it may go now, or until when it must wait. Never awaits."""
        if self._held:
            self._reap(now)
        if self._stale:
            self._find_heads()
        if not self._heads:
            return
        free = math.inf if self._capacity is None else self._capacity - self._in_flight
        timed = self._clocked
        deadline: float | None
        for waiter in self._heads:
            if waiter.taking:
                free -= 1
                continue
            if free <= 0:  # a release wakes it, or the end of the earliest hold
                admissible, deadline = False, self._held[0][0] if self._held else None
            else:
                ready = self._ready_at(waiter.kind, now) if timed else now
                if ready <= now:
                    free -= 1
                    admissible, deadline = True, None
                else:  # an infinite wait ends with a release, which dispatches again (a held slot's: its hold's end)
                    admissible, deadline = False, ready if ready != math.inf else None
                    if self._held and (deadline is None or self._held[0][0] < deadline):
                        deadline = self._held[0][0]
            if waiter.admissible is not admissible or waiter.deadline != deadline:
                waiter.admissible, waiter.deadline = admissible, deadline
                waiter.wake()

    # -- learning from responses -------------------------------------------------------------------------------

    def observe(self, slot: Slot, status: int, headers: httpx.Headers, *, at: float | None = None) -> None:
        """Feed ``slot``'s response to the policies (rate headers, 429/503 with Retry-After); ``at``: the clock time
        it arrived (default: now)."""
        now = self.clock.now() if at is None else at
        if status == 429:
            self._counts.responses_429 += 1
        elif status == 503:
            self._counts.responses_503 += 1
        before = list(map(_until, self._cooldowns))
        seen = Observation(status, headers, now, self._admitted - slot.index)
        if slot.turn is not None:
            slot.turn.seen = seen
        for policy in self._observing:
            policy.observe(seen)
        for cooldown, until in zip(self._cooldowns, before, strict=True):
            if cooldown.until > until:
                self._cooled(now, status, f"HTTP {status}", _origin(slot))
                break
        if self.listeners and self._reads_headers:
            state = parse_rate_limit(headers)
            if state is not None and (state.remaining is not None or state.limit is not None):
                self._emit(
                    BudgetSynced(
                        **_origin(slot),
                        status=status,
                        remaining=state.remaining,
                        limit=state.limit,
                        reset=state.reset,
                        at=now,
                    )
                )

    def _cooled(self, now: float, status: int | None, reason: str, origin: dict[str, Any] | None = None) -> None:
        until = max(c.until for c in self._cooldowns)
        self._counts.cooldowns += 1
        # Every waiter looks again: one whose deadline falls inside the pause gives up now, not at its deadline.
        for queue in self._queues.values():
            for waiter in queue:
                if waiter.queued and not waiter.taking:
                    waiter.wake()
        event = CooldownEvent(until=until, wait=until - now, status=status, reason=reason)
        logger.info("gate closed for %.3f s (%s)", event.wait, reason)
        if self.on_cooldown is not None:
            self.on_cooldown(event)
        if self.listeners:
            self._paused = CooldownStarted(
                **(origin or {}), status=status, wait=event.wait, until=until, reason=reason, at=now
            )
            self._emit(self._paused)


def _origin(slot: Slot) -> dict[str, Any]:
    """The fields ``slot``'s call puts in the gate's events (none when no client said)."""
    return slot.origin() if slot.origin is not None else {}


class _AsyncioEvent:
    """The class of anyio's events on asyncio, once one was made."""

    made: type[anyio.Event] | None = None


def _new_event() -> anyio.Event:
    """``anyio.Event()``, made without asking sniffio which library runs when an asyncio loop does: every queued
    request makes one, and the lookup costs more than the event."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.Event()
    if _AsyncioEvent.made is None:
        event = anyio.Event()
        _AsyncioEvent.made = type(event)
        return event
    return _AsyncioEvent.made()


_until = operator.attrgetter("until")
"""A cooldown's end (read in C: every response is observed)."""


def _serving_order(waiter: _Waiter) -> tuple[int, int]:
    return waiter.priority, waiter.seq


def _overrides(policy: Policy, step: str) -> bool:
    """Whether ``policy`` does something in ``step`` (``ready_at``, ``admit``, ``release``, ``observe``) beyond the
    default."""
    return getattr(getattr(policy, step), "__func__", None) is not getattr(Policy, step)


def _not_a_policy(value: object) -> Policy:
    raise TypeError(f"a gate takes policies (or an aiolimiter.AsyncLimiter), not {value!r}")


class Slot:
    """One admission through a :class:`Gate`; an async context manager. Report the response with :meth:`observe`."""

    __slots__ = (
        "_hold",
        "_lease",
        "blocked",
        "deadline",
        "gate",
        "holding",
        "index",
        "kind",
        "lease_from",
        "limited",
        "origin",
        "priority",
        "queued_at",
        "turn",
    )

    def __init__(self, gate: Gate, kind: Kind, priority: Priority, deadline: float | None = None) -> None:
        self.gate = gate
        """The gate the slot is taken from."""
        self.kind = kind
        """Read or write: which budgets the request spends."""
        self.priority = priority
        """Where the request queues."""
        self.deadline = deadline
        """Clock time after which the request stops waiting (:class:`~adops_async.GateWaitTooLong`), or ``None``."""
        self._hold: float | None = None
        self.index = 0
        """The gate's admission count when this slot was admitted (0 before), which orders held slots."""
        self.holding = False
        """Whether the slot is held (admitted and not yet released)."""
        self.turn: Turn | None = None
        """What the shared store granted this request (its token and time), or ``None`` when nothing was taken from a
        store."""
        self.lease_from = 0.0
        """Event-loop time the shared store granted the slot, from which its lease is renewed."""
        self.limited = False
        """Whether the service's own limiters (:class:`ExistingLimiter`) already let this slot through."""
        self._lease: LeaseGuard | None = None
        self.origin: Callable[[], dict[str, Any]] | None = None
        """Gives the fields of the call this slot is for (vendor, method, path, attempt, call), carried into the
        gate's events; called only when the gate makes one."""
        self.blocked = ""
        """What held the slot back when it started waiting (empty: it did not wait)."""
        self.queued_at = 0.0
        """Clock time the slot started waiting (when :attr:`blocked` says it did)."""

    async def __aenter__(self) -> Slot:
        await self.gate.acquire(self)
        shared = self.gate.shared
        self._lease = shared.lease_guard(self) if shared is not None else None
        if self._lease is not None:
            try:
                await self._lease.__aenter__()
            except BaseException:
                self._lease = None
                await self._close()
                raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if self.turn is None:  # nothing was taken from a shared store: no lease to stop, nothing to settle
            self._leave_gate()
            return False
        lease, self._lease = self._lease, None
        try:
            if lease is not None:
                return lease.exit(exc_type, exc, tb)
            return False
        finally:
            if lease is not None:
                await lease.stop()
            if self._hold is None:
                await self._close()
            else:  # the shared places (lease, in-flight entry) lapse on their own, no earlier than the request ends
                self._leave_gate()
                self.turn = None

    def _leave_gate(self) -> None:
        if self._hold is None:
            self.gate.release(self)
        else:
            self.gate.hold(self, self._hold)

    def hold_until(self, until: float) -> None:
        """Keep this slot's place until ``until`` (clock time) after the block exits: the request was sent and its
        caller left (cancelled) before the answer, so the vendor may still be working on it."""
        self._hold = until

    async def _close(self) -> None:
        shared = self.gate.shared
        if shared is not None:
            shared.settle(self)
        self.gate.release(self)
        self.turn = None
        if shared is not None:  # after the release: a waiter it woke may carry the settle with its take
            await shared.send_settles()

    def observe(self, status: int, headers: httpx.Headers, *, at: float | None = None) -> None:
        """Feed the response to the gate's policies (rate headers, 429/503 with Retry-After); ``at``: the clock time
        it arrived (default: now)."""
        self.gate.observe(self, status, headers, at=at)
