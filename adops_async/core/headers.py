"""Reading the rate headers vendors send: ``Retry-After`` and the IETF ``RateLimit`` fields.

A rate header is an instruction to stop sending, so a broken one must not be able to stall a client: every value read
here is checked to be finite, non-negative and within :data:`MAX_WAIT` (waits, windows) or :data:`MAX_COUNT` (counts)
before it is used. A value outside those bounds (``inf``, ``nan``, ``-5``, ``1e308``, a date next week, a limit of 0)
is not a vendor's real instruction but a broken server or proxy: it is ignored, as if the header were absent, and
reported through ``warn`` (policies log each header once, see :class:`HeaderWarnings`). A long wait within the bounds
(``Retry-After: 3600``) is a real instruction and is honoured.
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = [
    "MAX_COUNT",
    "MAX_WAIT",
    "HeaderWarnings",
    "RateLimitState",
    "Warn",
    "parse_rate_limit",
    "parse_retry_after",
    "sane_wait",
]

logger = logging.getLogger("adops_async.headers")

MAX_WAIT = 86_400.0
"""The longest wait or window, in seconds, a rate header may announce (a day). Policies take their own bound
(``Cooldown(max_wait=...)``, ``TokenBucket(max_reset=...)``); this is the default."""
MAX_COUNT = 1_000_000_000
"""The largest call count (``RateLimit-Remaining``, a policy's limit or burst) taken as meant."""

Warn = Callable[[str, str, str], None]
"""Told about an ignored header: ``warn(header name, value, why)``."""


class HeaderWarnings:
    """Logs an ignored rate header at WARNING, once per owner (a policy) and header name.

    Only the header's name, the start of its value and the reason are logged: rate headers carry no credentials.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._logged: set[str] = set()

    def __call__(self, header: str, value: str, why: str) -> None:
        if header in self._logged:
            return
        self._logged.add(header)
        logger.warning("%s ignores %s: %r (%s); later ones are ignored silently", self.owner, header, value[:40], why)


def sane_wait(seconds: float, *, max_wait: float = MAX_WAIT) -> str | None:
    """Why ``seconds`` is not a usable wait (not finite, negative, longer than ``max_wait``), or ``None`` if it is."""
    return _out_of_bounds(seconds, max_wait, " s")


def _out_of_bounds(number: float, bound: float, unit: str) -> str | None:
    if not math.isfinite(number):
        return "not a finite number"
    if number < 0:
        return "negative"
    if number > bound:
        return f"above {bound:g}{unit}"
    return None


def parse_retry_after(
    headers: httpx.Headers,
    *,
    wall_clock: Callable[[], float] = time.time,
    max_wait: float = MAX_WAIT,
    warn: Warn | None = None,
) -> float | None:
    """Seconds to wait according to ``Retry-After`` (RFC 9110 10.2.3), or ``None`` when absent or unusable.

    Both forms are accepted: delta-seconds (``120``) and an HTTP-date. A date is measured against the response's own
    ``Date`` header when present, so a client whose clock is off still waits the right time; a date in the past means
    "now". When a response carries the header more than once, the longest wait wins: waiting too little costs a 429,
    too much only a moment. A value that is not finite, is negative or asks for more than ``max_wait`` seconds is
    ignored (and passed to ``warn``).
    """
    waits = [
        w
        for w in (_one_retry_after(v, headers, wall_clock, max_wait, warn) for v in headers.get_list("retry-after"))
        if w is not None
    ]
    return max(waits) if waits else None


def _one_retry_after(
    value: str, headers: httpx.Headers, wall_clock: Callable[[], float], max_wait: float, warn: Warn | None
) -> float | None:
    value = value.strip()
    try:
        wait = float(value)
    except ValueError:
        when = _http_date(value)
        if when is None:
            _ignored(warn, "retry-after", value, "neither seconds nor an HTTP-date")
            return None
        served = _http_date(headers.get("date", ""))
        wait = max(0.0, when - (served if served is not None else wall_clock()))
    why = sane_wait(wait, max_wait=max_wait)
    if why is None:
        return wait
    _ignored(warn, "retry-after", value, why)
    return None


def _ignored(warn: Warn | None, header: str, value: str, why: str) -> None:
    if warn is not None:
        warn(header, value, why)


def _http_date(value: str) -> float | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # RFC 9110 dates are GMT even when a server forgets to say so
        return email.utils.mktime_tz((*parsed.timetuple()[:9], 0))
    return parsed.timestamp()


@dataclass(frozen=True)
class RateLimitState:
    """What a response says about the caller's quota (IETF ``RateLimit`` header fields, draft style).

    Every value is within the module's bounds, or ``None``.

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


def parse_rate_limit(headers: httpx.Headers, *, warn: Warn | None = None) -> RateLimitState | None:
    """Read the rate headers of a response; ``None`` when it has none. Unusable values are ignored, not guessed:
    a count that is not a whole number from 0 to :data:`MAX_COUNT`, a reset beyond :data:`MAX_WAIT`, a policy whose
    limit or burst is below 1 or whose window is not above 0 (the whole policy is ignored then)."""
    remaining = _first_number(headers, _REMAINING_HEADERS, MAX_COUNT, " calls", warn)
    reset = _first_number(headers, _RESET_HEADERS, MAX_WAIT, " s", warn)
    limit: int | None = None
    window: float | None = None
    burst: int | None = None
    for name in _LIMIT_HEADERS:
        if name in headers:
            limit, window, burst = _parse_policy(name, headers[name], warn)
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


def _first_number(
    headers: httpx.Headers, names: tuple[str, ...], bound: float, unit: str, warn: Warn | None
) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            number = float(value.split(",")[0].split(";")[0].strip())
        except ValueError:
            _ignored(warn, name, value, "not a number")
            continue
        why = _out_of_bounds(number, bound, unit)
        if why is None:
            return number
        _ignored(warn, name, value, why)
    return None


def _parse_policy(name: str, value: str, warn: Warn | None) -> tuple[int | None, float | None, int | None]:
    """``60;w=60;b=60`` -> (60, 60.0, 60). Of several comma-separated policies, the first is read; one with an
    unusable part is ignored as a whole (``(None, None, None)``)."""
    parts = [p.strip() for p in value.split(",")[0].split(";")]
    try:
        limit = _count(parts[0])
        window: float | None = None
        burst: int | None = None
        for part in parts[1:]:
            key, _, raw = part.partition("=")
            if key.strip() == "w":
                window = float(raw)
                if not (math.isfinite(window) and 0 < window <= MAX_WAIT):
                    raise ValueError(f"window not above 0 and within {MAX_WAIT:g} s")
            elif key.strip() == "b":
                burst = _count(raw)
    except ValueError as exc:
        _ignored(warn, name, value, str(exc) or "not a policy")
        return None, None, None
    return limit, window, burst


def _count(raw: str) -> int:
    number = float(raw.strip())
    if not (math.isfinite(number) and number.is_integer() and 1 <= number <= MAX_COUNT):
        raise ValueError(f"a limit or burst must be a whole number from 1 to {MAX_COUNT}")
    return int(number)
