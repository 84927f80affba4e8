"""Gate policies: each one vendor rule, written once.

A policy answers three questions for the :class:`~adops_async.gates.Gate` that holds it: when may a request of this
kind go (:meth:`Policy.ready_at`), what does admitting one cost (:meth:`Policy.admit`), and what does a response teach
us (:meth:`Policy.observe`). Concurrency caps are declared with :attr:`Policy.capacity`; the gate counts permits.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import httpx

from . import steps
from .errors import QuotaStoreUnavailable
from .headers import MAX_WAIT, HeaderWarnings, RateLimitState, parse_rate_limit, parse_retry_after
from .meters import Gcra, MemoryStore, SlidingLog
from .shared import RedisStore
from .steps import Step

__all__ = [
    "Cooldown",
    "ExistingLimiter",
    "Kind",
    "Limiter",
    "MaxInFlight",
    "Policy",
    "Priority",
    "ReadWriteQuota",
    "Serial",
    "TokenBucket",
    "Turn",
]

Store = MemoryStore | RedisStore
"""Where a policy keeps its state: this process (default) or Redis, shared by every process of the account."""


class Kind(str, enum.Enum):
    """What a request does, for budgets that count reads and writes apart."""

    READ = "read"
    """GET, HEAD and OPTIONS."""
    WRITE = "write"
    """Every other method."""

    @classmethod
    def of(cls, method: str) -> Kind:
        """GET, HEAD and OPTIONS read; everything else writes."""
        return cls.READ if method.upper() in {"GET", "HEAD", "OPTIONS"} else cls.WRITE


class Priority(enum.IntEnum):
    """Who goes first when a budget is scarce. Lower value, served earlier."""

    INTERACTIVE = 0
    """A person is waiting (a FastAPI handler)."""
    NORMAL = 1
    """The default for a plain ``await client...`` call."""
    BULK = 2
    """Background pulls, paginators and report downloads."""


@dataclass(frozen=True)
class Observation:
    """A response as a policy sees it."""

    status: int
    headers: httpx.Headers
    now: float
    later: int
    """How many requests this gate admitted after the one that got this response (they may not be counted yet)."""


@dataclass
class Turn:
    """One admission's part in a shared store: what its take wrote, and what its settle must release."""

    kind: Kind
    token: str
    """Random id of this admission (its sliding-log entry, its Serial lease)."""
    speed: float
    """Clock seconds per real second (the gate clock's), for the store's durations."""
    now: float
    """The gate clock when the take or settle was built."""
    seq: int = 0
    seen: Observation | None = None
    """The response's observation, once there is one."""


class Policy:
    """Base class of gate policies. The defaults admit everything at once and learn nothing.

    A policy built with a :class:`~adops_async.gates.RedisStore` is *shared*: the gate asks the store (one script per
    admission) instead of :meth:`ready_at`/:meth:`admit`, through :meth:`take_steps` and :meth:`settle_steps`.
    """

    capacity: int | None = None
    """At most this many requests in flight, or ``None`` for no cap."""
    shared: RedisStore | None = None
    """The store this policy's state lives in when it is shared across processes."""
    local: bool = True
    """``False`` while shared mode holds; ``True`` for local policies and for shared ones that fell back to local."""
    wakes: str | None = None
    """The step type whose refusals end when a holder publishes on :attr:`channel` (no polling)."""
    channel: str = ""
    """The Redis channel a holder publishes on when it frees a place (empty: none)."""

    def take_steps(self, turn: Turn) -> Sequence[Step]:
        """What a shared take checks and takes for this policy."""
        return ()

    def settle_steps(self, turn: Turn) -> Sequence[Step]:
        """What a shared settle writes after the response (or after a failed or cancelled request)."""
        return ()

    def lease_steps(self, turn: Turn) -> Sequence[Step]:
        """What a running request renews to keep its place (the request is stopped if it cannot)."""
        return ()

    def leave_steps(self, turn: Turn) -> Sequence[Step]:
        """A waiter gave up: give back its place at once rather than when it lapses."""
        return ()

    def enter_local(self, now: float) -> None:
        """The shared store is unreachable (``on_store_error="local"``): meter this process's share here, assuming
        the worst about what the other processes did and do."""
        return

    def resume_steps(self, turn: Turn, down_at: float) -> Sequence[Step]:
        """The store answers again after failing at ``down_at`` (clock time): what to write with the first take so
        the shared state counts what this process sent meanwhile, what the others may still send before they notice,
        and (steps marked ``"lost"``) what Redis forgot if it restarted empty."""
        return ()

    def resume(self) -> None:
        """Shared mode is back."""
        self.local = self.shared is None

    def ready_at(self, kind: Kind, now: float) -> float:
        """Clock time from which a request of ``kind`` may go, as far as this policy knows now; ``now`` when it may go
        at once."""
        return now

    def admit(self, kind: Kind, now: float) -> None:
        """A request of ``kind`` goes now: count it."""

    def release(self, kind: Kind, now: float) -> None:
        """The admitted request finished (its response arrived, or it failed or was cancelled)."""
        return

    def observe(self, seen: Observation) -> None:
        """Learn from a response (its status and rate headers); by default nothing."""

    def budgets(self, now: float) -> Mapping[str, int]:
        """Calls left now, per budget name, for :meth:`Gate.stats`."""
        return {}


class MaxInFlight(Policy):
    """At most ``n`` requests in flight at once (AppNexus allows 15 per user).

    With a :class:`~adops_async.gates.RedisStore` and a ``key`` the cap holds across every process using the key:
    each request holds a place (a sorted-set entry with a lease, renewed while it runs) and frees it when it ends.
    """

    def __init__(self, n: int, *, store: Store | None = None, key: str | None = None) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n = self.capacity = n
        """The cap: requests in flight at once."""
        self.shared = _redis_store(store, key, type(self).__name__)
        self.local = self.shared is None
        if self.shared is not None and type(self) is MaxInFlight:
            assert key is not None
            self._flying = self.shared.key(key, "flying")
            self.wakes, self.channel = "M", self.shared.key(key, "flying-freed")

    def _lease(self, turn: Turn) -> float:
        assert self.shared is not None
        return self.shared.lease * turn.speed

    def take_steps(self, turn: Turn) -> Sequence[Step]:
        return (steps.flying_take(self._flying, limit=self.n, lease=self._lease(turn), token=turn.token),)

    def settle_steps(self, turn: Turn) -> Sequence[Step]:
        return (steps.flying_free(self._flying, token=turn.token, channel=self.channel),)

    leave_steps = settle_steps

    def lease_steps(self, turn: Turn) -> Sequence[Step]:
        return (steps.flying_renew(self._flying, token=turn.token, lease=self._lease(turn)),)

    def enter_local(self, now: float) -> None:
        assert self.shared is not None
        self.local, self.capacity = True, max(1, self.n // self.shared.expected_processes)

    def resume(self) -> None:
        super().resume()
        self.capacity = self.n

    def __repr__(self) -> str:
        return f"MaxInFlight({self.n})"


class Serial(MaxInFlight):
    """One request in flight at a time, logins and polls included (Ooyala Pulse's rule).

    With a :class:`~adops_async.gates.RedisStore` the one slot is shared by every process of the credentials: a
    lease (``SET NX PX`` with a random token, renewed while the request runs, freed by compare-and-delete) handed out
    in ticket order, so processes take turns first come, first served. Guarantee: a request runs only while its
    process holds the lease, and is stopped (:class:`~adops_async.LeaseLost`) before a lease it could not renew
    runs out; a process that dies frees the slot when its lease ends. Limit: a server that keeps working on a
    request after the client gave up on it is beyond any client's reach, so keep ``lease`` above the slowest
    response.
    """

    STALE = 3.0
    """Real seconds after which a waiting process that stopped asking (it died) loses its place in the queue."""

    def __init__(self, *, store: Store | None = None, key: str | None = None) -> None:
        super().__init__(1, store=store, key=key)
        if self.shared is not None:
            assert key is not None
            self._keys = tuple(self.shared.key(key, part) for part in ("lease", "queue", "seen", "tickets"))
            self.wakes, self.channel = "S", self.shared.key(key, "freed")

    def enter_local(self, now: float) -> None:
        assert self.shared is not None
        if self.shared.expected_processes > 1:
            # One slot shared by several processes cannot be split: without the store nobody may go.
            raise QuotaStoreUnavailable("the shared store is down and a Serial slot cannot be split between processes")
        self.local = True

    def resume_steps(self, turn: Turn, down_at: float) -> Sequence[Step]:
        # A holder elsewhere may still be running on a lease Redis forgot: keep the slot closed for one lease.
        return (steps.serial_recovering(self._keys[0], lease_ms=self._lease_ms),)

    @property
    def _lease_ms(self) -> int:
        assert self.shared is not None
        return int(self.shared.lease * 1000)

    def take_steps(self, turn: Turn) -> Sequence[Step]:
        return (
            steps.serial_take(*self._keys, token=turn.token, lease_ms=self._lease_ms, stale=self.STALE * turn.speed),
        )

    def settle_steps(self, turn: Turn) -> Sequence[Step]:
        return (steps.serial_free(self._keys[0], token=turn.token, channel=self.channel),)

    def lease_steps(self, turn: Turn) -> Sequence[Step]:
        return (steps.serial_renew(self._keys[0], token=turn.token, lease_ms=self._lease_ms),)

    def leave_steps(self, turn: Turn) -> Sequence[Step]:
        # Leave the queue (and free the lease if the take got it after all).
        return (steps.serial_leave(*self._keys[:3], token=turn.token, channel=self.channel),)

    def __repr__(self) -> str:
        return "Serial()"


def _store_key(key: str | None, kind: str) -> str:
    # Without a key, a policy gets a budget of its own; a key names a budget shared through a store.
    return f"{key or uuid.uuid4().hex}:{kind}"


def _redis_store(store: Store | None, key: str | None, policy: str) -> RedisStore | None:
    if not isinstance(store, RedisStore):
        return None
    if not key:
        raise ValueError(f"{policy} with a RedisStore needs key= (the account it meters, e.g. the member id)")
    return store


class ReadWriteQuota(Policy):
    """``reads`` reads and ``writes`` writes in any rolling window of ``per`` seconds (AppNexus, per member).

    Enforced by a sliding log, which is exact: no window of ``per`` seconds ever holds more than the budget, as the
    vendor counts it, and each request goes at the first instant the rule allows. A request counts until ``per``
    seconds after its response, so network latency can never squeeze two windows' worth into one on the vendor's
    side; ``margin`` adds seconds on top. Gates that pass the same ``store`` and ``key`` share one budget (every
    client of one AppNexus member should); with a :class:`~adops_async.gates.RedisStore` that holds across processes
    and hosts (the log is a sorted set; an entry of a process that died counts until ``lease`` after it was admitted).
    """

    def __init__(
        self,
        reads: int = 100,
        writes: int = 60,
        per: float = 60.0,
        *,
        margin: float = 0.0,
        store: Store | None = None,
        key: str | None = None,
    ) -> None:
        self.reads, self.writes, self.per, self.margin = reads, writes, per, margin
        self.shared = _redis_store(store, key, type(self).__name__)
        self.local = self.shared is None
        limits = {Kind.READ: reads, Kind.WRITE: writes}
        if self.shared is not None:
            assert key is not None
            self._keys = {kind: self.shared.key(key, f"{kind.value}s") for kind in Kind}
            # While Redis is down ("local" mode) this process meters its share of the budget.
            limits = {kind: max(1, n // self.shared.expected_processes) for kind, n in limits.items()}
        self._meters = {kind: SlidingLog(limits[kind], per, margin) for kind in Kind}
        memory = store if isinstance(store, MemoryStore) else MemoryStore()
        self._logs = {kind: memory.log(_store_key(None if self.shared else key, kind.value)) for kind in Kind}
        self._local_since = float("-inf")

    def ready_at(self, kind: Kind, now: float) -> float:
        return self._meters[kind].ready_at(self._logs[kind], now) if self.local else now

    def admit(self, kind: Kind, now: float) -> None:
        if self.local:
            self._meters[kind].admit(self._logs[kind], now)

    def release(self, kind: Kind, now: float) -> None:
        if self.local:
            self._meters[kind].release(self._logs[kind], now)

    def enter_local(self, now: float) -> None:
        # Others' use of the current window is unknown: count it as full, so local calls start one window later.
        self.local, self._local_since = True, now
        for kind, log in self._logs.items():
            log.done.clear()
            log.done.extend([now] * self._meters[kind].limit)
            log.in_flight = 0

    def resume_steps(self, turn: Turn, down_at: float) -> Sequence[Step]:
        assert self.shared is not None
        window, lease = self.per + self.margin, self.shared.lease * turn.speed
        out: list[Step] = []
        for kind, log in self._logs.items():
            key, tag, full = self._keys[kind], f"{turn.token}:{kind.value}", self._limit(kind)
            # If Redis restarted empty, what every process sent before the outage is gone: count a full window.
            out.append(
                steps.log_count(
                    key, window=window, count=full, age=turn.now - down_at, token=f"{tag}:before", only_if_lost=True
                )
            )
            if not self.local:
                continue
            # What this process sent locally, at the age it was sent; what is still in flight, as in flight.
            sent = [turn.now - t for t in log.done if t > self._local_since]
            out.extend(
                steps.log_count(key, window=window, count=1, age=age, token=f"{tag}:{n}") for n, age in enumerate(sent)
            )
            out.append(steps.log_count(key, window=window, count=log.in_flight, age=-lease, token=f"{tag}:flying"))
            # The others may go on locally until their next probe: count their whole share as used now.
            others = (self.shared.expected_processes - 1) * self._meters[kind].limit
            out.append(steps.log_count(key, window=window, count=others, age=0, token=f"{tag}:others"))
        return out

    def _limit(self, kind: Kind) -> int:
        return self.reads if kind is Kind.READ else self.writes

    def take_steps(self, turn: Turn) -> Sequence[Step]:
        assert self.shared is not None
        lease, window = self.shared.lease * turn.speed, self.per + self.margin
        return (
            steps.log_take(
                self._keys[turn.kind], limit=self._limit(turn.kind), window=window, lease=lease, token=turn.token
            ),
        )

    def settle_steps(self, turn: Turn) -> Sequence[Step]:
        return (steps.log_release(self._keys[turn.kind], window=self.per + self.margin, token=turn.token),)

    def budgets(self, now: float) -> Mapping[str, int]:
        if not self.local:
            return {}
        return {f"{kind.value}s": self._meters[kind].left(self._logs[kind], now) for kind in Kind}

    def __repr__(self) -> str:
        return f"ReadWriteQuota(reads={self.reads}, writes={self.writes}, per={self.per})"


class TokenBucket(Policy):
    """A bucket of ``burst`` calls refilling ``rate`` per ``per`` seconds (PulsePro: 60 per 60 s, burst 60).

    Enforced by GCRA. The configured ``rate`` and ``burst`` are a ceiling; below it, each response's rate headers
    are followed:

    * ``RateLimit-Remaining: r`` lowers the calls available now to ``r`` (minus requests we sent after that one).
    * with ``reset="refill"`` (default), ``RateLimit-Reset: s`` means calls come back in ``s`` seconds: at most ``r``
      more go before then. This is exact for a server that refills everything at once when Reset reaches 0, and for
      one that refills continuously and says when the next call comes back.
    * with ``reset="full"``, Reset is when a continuously refilling bucket will be full again: the bucket keeps
      refilling meanwhile, so only Remaining is followed (holding until Reset would waste the refill).
    * ``Organization-RateLimit-Limit: 60;w=60;b=60`` (or ``RateLimit-Policy``) sets the rate and burst to the
      server's, capped by ours, until a later response announces another policy: a policy lowered to ``1;w=86400``
      goes back up when the normal one is announced again. A policy change starts the bucket afresh from that
      response's Remaining (else from what the old policy left).

    Bounds (see :mod:`adops_async.core.headers`): a header value that is not finite and non-negative, a policy whose
    limit or burst is below 1, and a Reset longer than ``max_reset`` or than the policy in force takes to refill
    (its window, or ``burst`` calls at its rate, rounded up to the second) is ignored and logged once per header.
    """

    def __init__(
        self,
        rate: float = 60,
        per: float = 60.0,
        burst: int = 60,
        *,
        reset: Literal["refill", "full"] = "refill",
        max_reset: float = MAX_WAIT,
        store: Store | None = None,
        key: str | None = None,
    ) -> None:
        if reset not in ("refill", "full"):
            raise ValueError('reset is "refill" or "full"')
        if not (math.isfinite(rate) and math.isfinite(per) and rate > 0 and per > 0 and burst >= 1):
            raise ValueError("rate and per must be finite and positive, burst at least 1")
        self.rate, self.per, self.burst = rate, per, burst
        self.ceiling = (rate, burst)
        """The configured rate and burst: announced policies are followed below them, never above."""
        self.reset = reset
        """How a ``RateLimit-Reset`` is read: ``"refill"`` (calls come back then) or ``"full"`` (the bucket is full
        again then)."""
        self.max_reset = max_reset
        """The longest ``RateLimit-Reset`` followed, in seconds; a longer one is ignored."""
        self._window = per
        """The window of the policy in force (an announced ``w``, else ``per``)."""
        self._warn = HeaderWarnings("TokenBucket")
        self._rebase_on: Observation | None = None
        """The response that changed the policy: its shared settle starts the shared bucket afresh."""
        self.shared = _redis_store(store, key, type(self).__name__)
        self.local = self.shared is None
        self._meter = Gcra(rate, per, burst)
        if self.shared is not None:
            assert key is not None
            self._key = self.shared.key(key, "bucket")
            share = self.shared.expected_processes
            self._fallback = Gcra(rate / share, per, max(1, burst // share))
        memory = store if isinstance(store, MemoryStore) else MemoryStore()
        self._state = memory.bucket(_store_key(None if self.shared else key, "bucket"))
        self._held_left = 0
        self._held_until = float("-inf")

    @property
    def _local_meter(self) -> Gcra:
        return self._fallback if self.shared is not None else self._meter

    def _holding(self, now: float) -> bool:
        return now < self._held_until

    def ready_at(self, kind: Kind, now: float) -> float:
        if not self.local:
            return now
        ready = self._local_meter.ready_at(self._state, now)
        if self._holding(now) and self._held_left <= 0:
            ready = max(ready, self._held_until)
        return ready

    def admit(self, kind: Kind, now: float) -> None:
        if not self.local:
            return
        self._local_meter.admit(self._state, now)
        if self._holding(now):
            self._held_left -= 1

    def enter_local(self, now: float) -> None:
        # The shared bucket may be empty: start this process's share empty too.
        self.local = True
        self._state.tat = now + self._fallback.tolerance + self._fallback.interval
        self._held_until = float("-inf")

    def resume_steps(self, turn: Turn, down_at: float) -> Sequence[Step]:
        assert self.shared is not None
        share, empty = self.shared.expected_processes, self._meter.tolerance + self._meter.interval
        if not self.local:  # no local calls were made; only a Redis that forgot the bucket needs covering
            return (steps.bucket_resume(self._key, empty=empty, debt=0.0, only_if_lost=True),)
        # The vendor's bucket can be empty, never below: start there, owing what the others may still spend locally
        # (their share's refill) until their next probe.
        debt = (share - 1) / share * self.shared.retry_every * turn.speed
        return (steps.bucket_resume(self._key, empty=empty, debt=debt),)

    def take_steps(self, turn: Turn) -> Sequence[Step]:
        return (steps.bucket_check(self._key, interval=self._meter.interval, tolerance=self._meter.tolerance),)

    def settle_steps(self, turn: Turn) -> Sequence[Step]:
        seen = turn.seen
        state = parse_rate_limit(seen.headers) if seen is not None else None  # observe() logged what it ignores
        if seen is None or state is None or state.remaining is None:
            return ()
        # The script counts the admissions of every process after this one (``seq``), not only this gate's.
        reset = self._hold_for(state, warn=False) or -1
        meter = self._meter
        lower = steps.bucket_lower(
            self._key,
            interval=meter.interval,
            tolerance=meter.tolerance,
            burst=meter.burst,
            remaining=state.remaining,
            reset=reset,
            seq=turn.seq,
            age=turn.now - seen.now,
        )
        if self._rebase_on is not seen:
            return (lower,)
        self._rebase_on = None
        # The policy changed: forget the old one's bucket and hold, then lower to this response's Remaining.
        return (steps.bucket_forget(self._key), lower)

    def _follow(self, state: RateLimitState, seen: Observation) -> bool:
        """Take the announced policy (capped by the configured one); ``True`` when it changed."""
        assert state.limit is not None
        window = state.window or self.per
        rate = min(self.ceiling[0], state.limit / window * self.per)
        burst = min(self.ceiling[1], state.burst or state.limit)
        self._window = window
        if (rate, burst) == (self.rate, self.burst):
            return False
        now = seen.now
        left = self._local_meter.left(self._state, now)
        if state.remaining is not None:
            left = max(0, state.remaining - seen.later)
        self.rate, self.burst = rate, burst
        self._meter = Gcra(rate, self.per, burst)
        if self.shared is not None:
            share = self.shared.expected_processes
            self._fallback = Gcra(rate / share, self.per, max(1, burst // share))
        # Start afresh under the new policy: with this response's Remaining, else with what the old one left.
        meter, left = self._local_meter, min(left, self._local_meter.burst)
        self._state.tat = now + meter.tolerance - (left - 1) * meter.interval
        self._held_until = float("-inf")
        return True

    def _hold_for(self, state: RateLimitState, *, warn: bool = True) -> float | None:
        """Seconds ``RateLimit-Reset`` holds the bucket at Remaining (``reset="refill"``), or ``None``."""
        if self.reset != "refill" or state.reset is None or state.reset <= 0:
            return None
        refill = math.ceil(max(self._window, self._meter.tolerance + self._meter.interval))
        bound = min(self.max_reset, refill)
        if state.reset <= bound:
            return state.reset
        if warn:
            self._warn("ratelimit-reset", f"{state.reset:g}", f"longer than {bound:g} s, the bucket's refill time")
        return None

    def observe(self, seen: Observation) -> None:
        state = parse_rate_limit(seen.headers, warn=self._warn)
        if state is None:
            return
        if state.limit is not None and self._follow(state, seen):
            self._rebase_on = seen
        hold = self._hold_for(state)
        if state.remaining is None or not self.local:
            return
        left = max(0, state.remaining - seen.later)
        self._local_meter.lower_to(self._state, seen.now, left)
        if hold is not None:
            until = seen.now + hold
            if self._holding(seen.now):
                self._held_left = min(self._held_left, left)
                self._held_until = max(self._held_until, until)
            else:
                self._held_left, self._held_until = left, until

    def budgets(self, now: float) -> Mapping[str, int]:
        if not self.local:
            return {}
        left = self._local_meter.left(self._state, now)
        if self._holding(now):
            left = min(left, max(0, self._held_left))
        return {"bucket": left}

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, per={self.per}, burst={self.burst})"


class Cooldown(Policy):
    """Closes the gate for every task of the client after a rate signal, until the vendor's wait has passed.

    Signals: 429 (wait ``Retry-After``, else ``default_wait``), 503 with ``Retry-After``, and whatever a vendor
    reports through :meth:`Gate.cool_down` (AppNexus' ``RATE_EXCEEDED`` bodies). A later signal can extend the pause,
    never shorten it. A ``Retry-After`` that is not finite, negative or longer than ``max_wait`` seconds (a day by
    default) is ignored and logged once (a 429 then waits ``default_wait``); a long one within it is honoured.
    """

    def __init__(
        self,
        default_wait: float = 1.0,
        *,
        max_wait: float = MAX_WAIT,
        store: Store | None = None,
        key: str | None = None,
    ) -> None:
        self.default_wait = default_wait
        """Seconds a 429 without ``Retry-After`` closes the gate for."""
        self.max_wait = max_wait
        """The longest ``Retry-After`` honoured, in seconds; a longer one is ignored."""
        self._warn = HeaderWarnings("Cooldown")
        self.until = float("-inf")
        """Clock time the gate stays closed until (``-inf``: open)."""
        self.shared = _redis_store(store, key, type(self).__name__)
        # The local pause stays in force in shared mode too: this process stops at once, before its next take.
        self.local = True
        if self.shared is not None:
            assert key is not None
            self._key = self.shared.key(key, "cooldown")
        self._published = float("-inf")

    def ready_at(self, kind: Kind, now: float) -> float:
        return max(now, self.until)

    def resume(self) -> None:
        self._published = float("-inf")  # a Redis that restarted has forgotten the pause

    def take_steps(self, turn: Turn) -> Sequence[Step]:
        # A pause this process learnt outside a slot (a vendor's own rate signal) travels with its next take.
        return (*self._publish(turn.now), steps.pause_check(self._key))

    def settle_steps(self, turn: Turn) -> Sequence[Step]:
        return self._publish(turn.now)

    def _publish(self, now: float) -> tuple[Step, ...]:
        if self.until <= max(self._published, now):
            return ()
        self._published = self.until
        return (steps.pause_extend(self._key, wait=self.until - now),)

    def extend(self, until: float) -> bool:
        """Pause until ``until`` unless already paused longer; ``True`` when the pause grew. A time that is not
        finite never closes the gate."""
        if not math.isfinite(until) or until <= self.until:
            return False
        self.until = until
        return True

    def observe(self, seen: Observation) -> None:
        if seen.status not in (429, 503):
            return
        wait = parse_retry_after(seen.headers, max_wait=self.max_wait, warn=self._warn)
        if wait is None:
            if seen.status == 503:
                return  # a 503 without a wait is one task's retry matter, not a reason to stop every task
            wait = self.default_wait
        self.extend(seen.now + wait)

    def __repr__(self) -> str:
        return f"Cooldown(default_wait={self.default_wait})"


@runtime_checkable
class Limiter(Protocol):
    """What :class:`Gate` needs of a limiter your service already has: ``aiolimiter.AsyncLimiter`` fits."""

    async def acquire(self, amount: float = 1) -> None:
        """Wait until ``amount`` units may be taken, and take them."""

    def has_capacity(self, amount: float = 1) -> bool:
        """Whether ``amount`` units could be taken now without waiting."""


class ExistingLimiter(Policy):
    """An ``aiolimiter.AsyncLimiter`` (asyncio only) that other code of the service also draws from, as one more
    rule of a gate: each request takes one unit, after the gate's own rules let it go.

    ``Gate(ReadWriteQuota(...), limiter)`` wraps a limiter in this for you. Use it when the service already meters a
    budget with aiolimiter (calls to a proxy, a partner's allowance) and these requests count against it too. Do not
    use it *instead of* the vendor's policy: a leaky bucket of N per window lets up to 2N through in one window,
    knows nothing of read and write budgets, rate headers or Retry-After, and cannot be shared between processes.
    """

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter
        """The limiter shared with the rest of the service."""

    async def acquire(self) -> None:
        """Take one unit of the limiter, waiting for it if need be."""
        await self.limiter.acquire()

    def __repr__(self) -> str:
        return f"ExistingLimiter({self.limiter!r})"
