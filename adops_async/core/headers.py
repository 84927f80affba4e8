"""Reading the rate headers vendors send: ``Retry-After`` and the IETF ``RateLimit`` fields."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = ["RateLimitState", "parse_rate_limit", "parse_retry_after"]


def parse_retry_after(headers: httpx.Headers, *, wall_clock: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait according to ``Retry-After`` (RFC 9110 10.2.3), or ``None`` when absent or unreadable.

    Both forms are accepted: delta-seconds (``120``) and an HTTP-date. A date is measured against the response's own
    ``Date`` header when present, so a client whose clock is off still waits the right time. When a response carries
    the header more than once, the longest wait wins: waiting too little costs a 429, too much only a moment.
    """
    waits = [
        w for w in (_one_retry_after(v, headers, wall_clock) for v in headers.get_list("retry-after")) if w is not None
    ]
    return max(waits) if waits else None


def _one_retry_after(value: str, headers: httpx.Headers, wall_clock: Callable[[], float]) -> float | None:
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = _http_date(value)
    if when is None:
        return None
    served = _http_date(headers.get("date", ""))
    return max(0.0, when - (served if served is not None else wall_clock()))


def _http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # RFC 9110 dates are GMT even when a server forgets to say so
        return email.utils.mktime_tz((*parsed.timetuple()[:9], 0))
    return parsed.timestamp()


@dataclass(frozen=True)
class RateLimitState:
    """What a response says about the caller's quota (IETF ``RateLimit`` header fields, draft style).

    Attributes:
        remaining: calls left now (``RateLimit-Remaining``).
        reset: seconds until the quota is restored (``RateLimit-Reset``).
        limit: the quota (``60`` of ``60;w=60;b=60``).
        window: the policy window in seconds (``w``).
        burst: the bucket size (``b``).
    """

    remaining: int | None = None
    reset: float | None = None
    limit: int | None = None
    window: float | None = None
    burst: int | None = None


_LIMIT_HEADERS = ("organization-ratelimit-limit", "ratelimit-policy", "ratelimit-limit", "x-ratelimit-limit")
_REMAINING_HEADERS = ("ratelimit-remaining", "x-ratelimit-remaining")
_RESET_HEADERS = ("ratelimit-reset", "x-ratelimit-reset")


def parse_rate_limit(headers: httpx.Headers) -> RateLimitState | None:
    """Read the rate headers of a response; ``None`` when it has none. Unreadable values are ignored, not guessed."""
    remaining = _first_number(headers, _REMAINING_HEADERS)
    reset = _first_number(headers, _RESET_HEADERS)
    limit: int | None = None
    window: float | None = None
    burst: int | None = None
    for name in _LIMIT_HEADERS:
        if name in headers:
            limit, window, burst = _parse_policy(headers[name])
            break
    if remaining is None and reset is None and limit is None:
        return None
    return RateLimitState(
        remaining=int(remaining) if remaining is not None else None,
        reset=reset,
        limit=limit,
        window=window,
        burst=burst,
    )


def _first_number(headers: httpx.Headers, names: tuple[str, ...]) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            number = float(value.split(",")[0].split(";")[0].strip())
        except ValueError:
            continue
        if number >= 0:
            return number
    return None


def _parse_policy(value: str) -> tuple[int | None, float | None, int | None]:
    """``60;w=60;b=60`` -> (60, 60.0, 60). Of several comma-separated policies, the first is read."""
    first = value.split(",")[0]
    parts = [p.strip() for p in first.split(";")]
    limit: int | None = None
    window: float | None = None
    burst: int | None = None
    with contextlib.suppress(ValueError):
        limit = int(parts[0])
    for part in parts[1:]:
        name, _, raw = part.partition("=")
        try:
            if name.strip() == "w":
                window = float(raw)
            elif name.strip() == "b":
                burst = int(raw)
        except ValueError:
            continue
    return limit, window, burst
