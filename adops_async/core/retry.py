"""When to try a request again, and how long to wait first.

The rule that matters most: a write that is not idempotent is never sent twice once it may have reached the server.
A connect failure means it did not (safe to retry anything); a read timeout or a reset connection means it may have
(retry only idempotent calls). A 429 means the server refused without acting (always safe). A 5xx means the server
(or a proxy in front of it) may have acted: idempotent calls are retried, a non-idempotent write only when the
vendor's own answer says nothing was done (:attr:`Failure.not_acted`).
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass, field

import httpx

__all__ = ["RETRY_STATUSES", "Failure", "RetryPolicy"]

RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
"""Statuses worth another try: rate refusals and server or proxy failures (a 500 is often one bad node)."""

# Errors raised before a single byte of the request left: the server cannot have acted.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the retry policy sees it."""

    retry_safe: bool
    """The call may be repeated even if the server acted on it (idempotent by HTTP or by the vendor's word)."""
    status: int | None = None
    """The HTTP status, or ``None`` when no response arrived."""
    retry_after: float | None = None
    """Seconds the vendor asked to wait (``Retry-After`` or its own field), when it said."""
    transport_error: Exception | None = None
    """The httpx error when no response arrived (refused, reset, timed out)."""
    rate_limited: bool = False
    """The vendor refused for rate reasons (a 429, or a vendor's own signal in a 200/405 body)."""
    not_acted: bool = False
    """The vendor's word that this response means nothing was done (a 429; PulsePro's 503)."""

    @property
    def reached_server(self) -> bool:
        """Whether the server may have acted on the request: neither the vendor's word that it did not, nor a failure
        before the request was sent."""
        return not (self.not_acted or isinstance(self.transport_error, _NOT_SENT))


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, a total deadline and exponential backoff with full jitter."""

    attempts: int = 8
    """Tries in all, the first included."""
    deadline: float = 300.0
    """Seconds from the first attempt after which no new attempt starts (gate waits included)."""
    backoff: float = 0.5
    """The first backoff ceiling, in seconds; the n-th retry waits ``uniform(0, min(max_backoff, backoff * 2**n))``."""
    max_backoff: float = 30.0
    """The largest backoff ceiling, in seconds."""
    statuses: Collection[int] = RETRY_STATUSES
    """Statuses worth another try (the vendor was overloaded or a proxy failed), for idempotent calls and for writes the
    vendor says it did not act on."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    """The source of jitter (seed it in tests)."""

    def delay(self, failure: Failure, *, attempt: int, elapsed: float) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up.

        ``attempt`` counts from 1; ``elapsed`` is the time since the first attempt started.
        """
        if attempt >= self.attempts:
            return None
        if failure.transport_error is None and not failure.rate_limited and failure.status not in self.statuses:
            return None
        if failure.reached_server and not failure.retry_safe:
            return None
        if failure.retry_after is not None:
            wait = failure.retry_after
        else:
            wait = self.rng.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))
        if elapsed + wait > self.deadline:
            return None
        return wait
