"""The two meters behind every rate rule, and the store that keeps their state.

Vendors state two different rules, and one meter cannot serve both (docs/design.md, "Gates and limits"):

* "N per window" (AppNexus: 100 reads per minute) -> :class:`SlidingLog`. It admits when fewer than N admissions lie
  in the last window, so no window ever holds more than N, and each request goes at the earliest instant the rule
  allows. A token bucket of N refilling N per window would let nearly 2N into one window.
* "token bucket" (PulsePro: ``60;w=60;b=60``) -> :class:`Gcra`, the generic cell rate algorithm: the whole bucket is a
  single number, the theoretical arrival time (TAT) of the next request.

Both are plain arithmetic over a state object that a :class:`MemoryStore` hands out by key, so several gates (or
clients of the same account) share a budget by sharing a store and a key.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["Gcra", "GcraState", "MemoryStore", "SlidingLog", "WindowLog"]


@dataclass
class WindowLog:
    """The state of one "N per window" budget: when recent requests finished, and how many are still in flight."""

    done: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class SlidingLog:
    """At most ``limit`` requests in any ``window`` seconds, as the vendor counts them.

    A request counts from the moment it is admitted, and keeps counting until ``window`` seconds after its response
    arrived (when the slot is released). The vendor saw it somewhere in between, so whatever the network latency, no
    window on the vendor's side holds more than ``limit``: a request is only admitted ``window`` seconds after the
    vendor can last have counted the one it replaces. The cost is one round trip per window (under 1 % of a minute).
    ``margin`` adds seconds on top, for vendors whose windows are coarser than their clocks.
    """

    def __init__(self, limit: int, window: float, margin: float = 0.0) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0 or margin < 0:
            raise ValueError("window must be positive and margin not negative")
        self.limit = limit
        self.window = window
        self.margin = margin

    def _expire(self, log: WindowLog, now: float) -> None:
        horizon = now - self.window - self.margin
        while log.done and log.done[0] <= horizon:
            log.done.popleft()

    def ready_at(self, log: WindowLog, now: float) -> float:
        """The earliest instant a new request fits the rule (``<= now``: now; ``inf``: when one in flight ends)."""
        self._expire(log, now)
        used = len(log.done) + log.in_flight
        if used < self.limit:
            return now
        oldest_to_expire = used - self.limit
        if oldest_to_expire < len(log.done):
            return log.done[oldest_to_expire] + self.window + self.margin
        return float("inf")

    def admit(self, log: WindowLog, now: float) -> None:
        log.in_flight += 1

    def release(self, log: WindowLog, now: float) -> None:
        log.in_flight -= 1
        if not log.done or log.done[-1] <= now:
            log.done.append(now)  # the usual case: releases come in clock order, and a deque is slow in the middle
        else:
            bisect.insort(log.done, now)

    def left(self, log: WindowLog, now: float) -> int:
        self._expire(log, now)
        return max(0, self.limit - len(log.done) - log.in_flight)


@dataclass
class GcraState:
    """A token bucket as one number: when the bucket would be empty again if no one called (the TAT)."""

    tat: float = float("-inf")


class Gcra:
    """A token bucket refilling ``rate`` calls per ``per`` seconds, holding at most ``burst``."""

    def __init__(self, rate: float, per: float, burst: int) -> None:
        if rate <= 0 or per <= 0 or burst < 1:
            raise ValueError("rate and per must be positive, burst at least 1")
        self.interval = per / rate
        self.burst = burst
        self.tolerance = (burst - 1) * self.interval

    def ready_at(self, state: GcraState, now: float) -> float:
        return max(now, state.tat - self.tolerance)

    def admit(self, state: GcraState, now: float) -> None:
        state.tat = max(state.tat, now) + self.interval

    def left(self, state: GcraState, now: float) -> int:
        """Calls the bucket allows right now."""
        tat = max(state.tat, now)
        # floor, not int(): an overdrawn bucket (TAT beyond now + tolerance) has nothing left, not one call.
        return max(0, min(self.burst, math.floor((now + self.tolerance - tat) / self.interval + 1e-9) + 1))

    def lower_to(self, state: GcraState, now: float, remaining: int) -> None:
        """Make at most ``remaining`` calls available now; never raises what the bucket allows."""
        if remaining >= self.left(state, now):
            return
        # With TAT = now + tolerance - (remaining - 1) * interval, exactly `remaining` calls fit at `now`.
        state.tat = max(state.tat, now + self.tolerance - (remaining - 1) * self.interval)


@dataclass
class MemoryStore:
    """Meter state kept in this process, by key. Share one store (and key) to share one budget."""

    logs: dict[str, WindowLog] = field(default_factory=dict)
    """Sliding-window logs (read/write quotas), by key."""
    buckets: dict[str, GcraState] = field(default_factory=dict)
    """Token-bucket states, by key."""

    def log(self, key: str) -> WindowLog:
        """The window log under ``key`` (a new one on first use)."""
        return self.logs.setdefault(key, WindowLog())

    def bucket(self, key: str) -> GcraState:
        """The token-bucket state under ``key`` (a new one on first use)."""
        return self.buckets.setdefault(key, GcraState())
