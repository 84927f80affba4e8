"""The strict token bucket of the PulsePro sandbox, one per API key, and the headers it sends.

PP-INTRO documents ``Organization-RateLimit-Limit: 60;w=60;b=60`` ("60 calls per 60 seconds ... b=60 is the
maximum that can accumulate"), ``RateLimit-Remaining`` and ``RateLimit-Reset`` ("the time in seconds for the next
refill of API calls. If the value is 50, it means that the rate limit will be refreshed to the maximum value of 60
after 50 seconds"). The text (copied from Zenoti's docs) fits two different servers, so the bucket can be either:

``refill="continuous"`` (the default): a true token bucket, refilling ``rate / window`` calls per second, capped at
    ``burst``. ``RateLimit-Remaining`` is the whole calls left. ``RateLimit-Reset`` then has two possible readings:

    * ``reset="next"`` (the default, our decision): seconds until the *next* call is added, rounded up. It is the
      only reading under which "at most Remaining calls before Reset" is exact *and* tight for a continuous bucket:
      no call is added before Reset, and one is added at Reset.
    * ``reset="full"``: seconds until the bucket is *full* again ("refreshed to the maximum value of 60 after 50
      seconds"). True too, but a client that treats it as "nothing is added before Reset" waits far too long.

``refill="window"``: the other reading of the text. ``burst`` calls per fixed window of ``window`` seconds that
    starts with the key's first request; everything is refilled at once when Reset reaches 0, and
    ``RateLimit-Reset`` is the seconds left in the window, rounded up.

``RateLimit-Reset`` is whole seconds, rounded up, as the documented samples are (``decimals=3`` sends
milliseconds, for clients that can use them). A 429 carries ``Retry-After``: the
seconds until one call is available again (rounded up).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Literal

__all__ = ["Bucket", "Decision", "Refill", "ResetMeaning"]

Refill = Literal["continuous", "window"]
ResetMeaning = Literal["next", "full"]


@dataclass(frozen=True)
class Decision:
    """The bucket's verdict on one request, with the header values to send."""

    allowed: bool
    remaining: int
    reset: float
    retry_after: int | None = None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Bucket:
    """One API key's bucket. Thread-safe: the server thread takes calls while a test drains it."""

    def __init__(
        self,
        rate: float = 60,
        window: float = 60.0,
        burst: int = 60,
        *,
        refill: Refill = "continuous",
        reset: ResetMeaning = "next",
        decimals: int = 0,
    ) -> None:
        if rate <= 0 or window <= 0 or burst < 1:
            raise ValueError("rate and window must be positive, burst at least 1")
        if refill not in ("continuous", "window") or reset not in ("next", "full"):
            raise ValueError(f"unknown bucket reading: refill={refill!r} reset={reset!r}")
        self.rate, self.window, self.burst = rate, window, burst
        self.refill: Refill = refill
        self.reset_meaning: ResetMeaning = reset
        self.decimals = decimals
        self._per_second = rate / window
        self._tokens = float(burst)
        self._updated: float | None = None
        self._window_start: float | None = None
        self._lock = threading.Lock()

    @property
    def policy(self) -> str:
        """The ``Organization-RateLimit-Limit`` value: ``60;w=60;b=60``."""
        return f"{_number(self.rate)};w={_number(self.window)};b={self.burst}"

    def _catch_up(self, now: float) -> None:
        if self.refill == "continuous":
            if self._updated is not None:
                self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self._per_second)
            self._updated = now
            return
        if self._window_start is None:
            self._window_start = now
        elif now >= self._window_start + self.window:
            passed = math.floor((now - self._window_start) / self.window)
            self._window_start += passed * self.window
            self._tokens = float(self.burst)

    def _up(self, seconds: float) -> float:
        """Round up to whole seconds (as the documented samples are), or to ``decimals`` places."""
        scale: float = 10.0**self.decimals
        return math.ceil(seconds * scale - 1e-9) / scale

    def _reset(self, now: float) -> float:
        if self.refill == "window":
            assert self._window_start is not None
            return self._up(self._window_start + self.window - now)
        if self._tokens >= self.burst:
            return 0
        if self.reset_meaning == "full":
            return self._up((self.burst - self._tokens) / self._per_second)
        return self._up((math.floor(self._tokens) + 1 - self._tokens) / self._per_second)

    def _retry_after(self, now: float) -> int:
        """Whole seconds (RFC 9110 delta-seconds), never 0."""
        if self.refill == "window":
            return max(1, math.ceil(self._reset(now) - 1e-9))
        return max(1, math.ceil((1.0 - self._tokens) / self._per_second - 1e-9))

    def take(self, now: float) -> Decision:
        """Spend one call if there is one."""
        with self._lock:
            self._catch_up(now)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return Decision(True, math.floor(self._tokens + 1e-9), self._reset(now))
            return Decision(False, 0, self._reset(now), self._retry_after(now))

    def peek(self, now: float) -> Decision:
        """The state now, spending nothing."""
        with self._lock:
            self._catch_up(now)
            return Decision(self._tokens >= 1.0, math.floor(self._tokens + 1e-9), self._reset(now))

    def drain(self, now: float, calls: int | None = None) -> int:
        """Spend ``calls`` calls (all when ``None``) as another client of the same key would; return how many."""
        with self._lock:
            self._catch_up(now)
            spent = math.floor(self._tokens + 1e-9) if calls is None else min(calls, math.floor(self._tokens + 1e-9))
            self._tokens -= spent
            return spent

    def headers(self, decision: Decision) -> dict[str, str]:
        headers = {
            "Organization-RateLimit-Limit": self.policy,
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": _number(decision.reset),
        }
        if decision.retry_after is not None:
            headers["Retry-After"] = str(decision.retry_after)
        return headers
