"""Gate policies: each one vendor rule, written once.

A policy answers three questions for the :class:`~adops_async.gates.Gate` that holds it: when may a request of this
kind go (:meth:`Policy.ready_at`), what does admitting one cost (:meth:`Policy.admit`), and what does a response teach
us (:meth:`Policy.observe`). Concurrency caps are declared with :attr:`Policy.capacity`; the gate counts permits.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from .headers import parse_rate_limit, parse_retry_after
from .meters import Gcra, MemoryStore, SlidingLog

__all__ = [
    "Cooldown",
    "Kind",
    "MaxInFlight",
    "Policy",
    "Priority",
    "ReadWriteQuota",
    "Serial",
    "TokenBucket",
]


class Kind(str, enum.Enum):
    """What a request does, for budgets that count reads and writes apart."""

    READ = "read"
    WRITE = "write"

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


class Policy:
    """Base class of gate policies. The defaults admit everything at once and learn nothing."""

    capacity: int | None = None
    """At most this many requests in flight, or ``None`` for no cap."""

    def ready_at(self, kind: Kind, now: float) -> float:
        return now

    def admit(self, kind: Kind, now: float) -> None:
        return None

    def release(self, kind: Kind, now: float) -> None:
        """The admitted request finished (its response arrived, or it failed or was cancelled)."""
        return

    def observe(self, seen: Observation) -> None:
        return None

    def budgets(self, now: float) -> Mapping[str, int]:
        """Calls left now, per budget name, for :meth:`Gate.stats`."""
        return {}


class MaxInFlight(Policy):
    """At most ``n`` requests in flight at once (AppNexus allows 15 per user)."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("n must be at least 1")
        self.capacity = n

    def __repr__(self) -> str:
        return f"MaxInFlight({self.capacity})"


class Serial(MaxInFlight):
    """One request in flight at a time, logins and polls included (Ooyala Pulse's rule)."""

    def __init__(self) -> None:
        super().__init__(1)

    def __repr__(self) -> str:
        return "Serial()"


def _store_key(key: str | None, kind: str) -> str:
    # Without a key, a policy gets a budget of its own; a key names a budget shared through a store.
    return f"{key or uuid.uuid4().hex}:{kind}"


class ReadWriteQuota(Policy):
    """``reads`` reads and ``writes`` writes in any rolling window of ``per`` seconds (AppNexus, per member).

    Enforced by a sliding log, which is exact: no window of ``per`` seconds ever holds more than the budget, as the
    vendor counts it, and each request goes at the first instant the rule allows. A request counts until ``per``
    seconds after its response, so network latency can never squeeze two windows' worth into one on the vendor's
    side; ``margin`` adds seconds on top. Gates that pass the same ``store`` and ``key`` share one budget (every
    client of one AppNexus member should).
    """

    def __init__(
        self,
        reads: int = 100,
        writes: int = 60,
        per: float = 60.0,
        *,
        margin: float = 0.0,
        store: MemoryStore | None = None,
        key: str | None = None,
    ) -> None:
        self.reads, self.writes, self.per = reads, writes, per
        self._meters = {Kind.READ: SlidingLog(reads, per, margin), Kind.WRITE: SlidingLog(writes, per, margin)}
        store = store or MemoryStore()
        self._logs = {kind: store.log(_store_key(key, kind.value)) for kind in Kind}

    def ready_at(self, kind: Kind, now: float) -> float:
        return self._meters[kind].ready_at(self._logs[kind], now)

    def admit(self, kind: Kind, now: float) -> None:
        self._meters[kind].admit(self._logs[kind], now)

    def release(self, kind: Kind, now: float) -> None:
        self._meters[kind].release(self._logs[kind], now)

    def budgets(self, now: float) -> Mapping[str, int]:
        return {f"{kind.value}s": self._meters[kind].left(self._logs[kind], now) for kind in Kind}

    def __repr__(self) -> str:
        return f"ReadWriteQuota(reads={self.reads}, writes={self.writes}, per={self.per})"


class TokenBucket(Policy):
    """A bucket of ``burst`` calls refilling ``rate`` per ``per`` seconds (PulsePro: 60 per 60 s, burst 60).

    Enforced by GCRA. Every response's rate headers can only make it stricter, never looser:

    * ``RateLimit-Remaining: r`` lowers the calls available now to ``r`` (minus requests we sent after that one).
    * with ``reset="refill"`` (default), ``RateLimit-Reset: s`` means calls come back in ``s`` seconds: at most ``r``
      more go before then. This is exact for a server that refills everything at once when Reset reaches 0, and for
      one that refills continuously and says when the next call comes back.
    * with ``reset="full"``, Reset is when a continuously refilling bucket will be full again: the bucket keeps
      refilling meanwhile, so only Remaining is followed (holding until Reset would waste the refill).
    * ``Organization-RateLimit-Limit: 60;w=60;b=60`` (or ``RateLimit-Policy``) switches to the server's rate and burst
      when they are lower than ours.
    """

    def __init__(
        self,
        rate: float = 60,
        per: float = 60.0,
        burst: int = 60,
        *,
        reset: Literal["refill", "full"] = "refill",
        store: MemoryStore | None = None,
        key: str | None = None,
    ) -> None:
        if reset not in ("refill", "full"):
            raise ValueError('reset is "refill" or "full"')
        self.rate, self.per, self.burst = rate, per, burst
        self.reset = reset
        self._meter = Gcra(rate, per, burst)
        self._state = (store or MemoryStore()).bucket(_store_key(key, "bucket"))
        self._held_left = 0
        self._held_until = float("-inf")

    def _holding(self, now: float) -> bool:
        return now < self._held_until

    def ready_at(self, kind: Kind, now: float) -> float:
        ready = self._meter.ready_at(self._state, now)
        if self._holding(now) and self._held_left <= 0:
            ready = max(ready, self._held_until)
        return ready

    def admit(self, kind: Kind, now: float) -> None:
        self._meter.admit(self._state, now)
        if self._holding(now):
            self._held_left -= 1

    def observe(self, seen: Observation) -> None:
        state = parse_rate_limit(seen.headers)
        if state is None:
            return
        if state.limit is not None:
            server_rate = state.limit / (state.window or self.per)
            server_burst = state.burst or state.limit
            if server_rate < self.rate / self.per or server_burst < self.burst:
                self.rate = min(self.rate, server_rate * self.per)
                self.burst = min(self.burst, server_burst)
                self._meter = Gcra(self.rate, self.per, self.burst)
        if state.remaining is None:
            return
        left = max(0, state.remaining - seen.later)
        self._meter.lower_to(self._state, seen.now, left)
        if self.reset == "refill" and state.reset is not None and state.reset > 0:
            until = seen.now + state.reset
            if self._holding(seen.now):
                self._held_left = min(self._held_left, left)
                self._held_until = max(self._held_until, until)
            else:
                self._held_left, self._held_until = left, until

    def budgets(self, now: float) -> Mapping[str, int]:
        left = self._meter.left(self._state, now)
        if self._holding(now):
            left = min(left, max(0, self._held_left))
        return {"bucket": left}

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate}, per={self.per}, burst={self.burst})"


class Cooldown(Policy):
    """Closes the gate for every task of the client after a rate signal, until the vendor's wait has passed.

    Signals: 429 (wait ``Retry-After``, else ``default_wait``), 503 with ``Retry-After``, and whatever a vendor
    reports through :meth:`Gate.cool_down` (AppNexus' ``RATE_EXCEEDED`` bodies). A later signal can extend the pause,
    never shorten it.
    """

    def __init__(self, default_wait: float = 1.0) -> None:
        self.default_wait = default_wait
        self.until = float("-inf")

    def ready_at(self, kind: Kind, now: float) -> float:
        return max(now, self.until)

    def extend(self, until: float) -> bool:
        """Pause until ``until`` unless already paused longer; ``True`` when the pause grew."""
        if until <= self.until:
            return False
        self.until = until
        return True

    def observe(self, seen: Observation) -> None:
        if seen.status not in (429, 503):
            return
        wait = parse_retry_after(seen.headers)
        if wait is None:
            if seen.status == 503:
                return  # a 503 without a wait is one task's retry matter, not a reason to stop every task
            wait = self.default_wait
        self.extend(seen.now + wait)

    def __repr__(self) -> str:
        return f"Cooldown(default_wait={self.default_wait})"
