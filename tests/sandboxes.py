"""Test-side variants of the built-in sandboxes, for properties a sandbox only shows if the test waits for them, and
the settings a client of a compressed sandbox needs."""

from __future__ import annotations

from typing import Any

from adops_async import RetryPolicy, ScaledClock
from adops_async.sandbox.appnexus import AppNexusSandbox

__all__ = ["FillsTheCap", "real_time_retry"]


def real_time_retry(clock: Any) -> RetryPolicy:
    """The default retry policy with its deadline in real seconds, as a client on real time has it, for a client on
    ``clock`` (a :class:`ScaledClock`, else the policy is the default one).

    On a sandbox's clock the deadline (300 s, gate waits included) is vendor seconds: 1.25 real s at speed 240. The
    machine's latency does not compress with the clock, so a test whose calls queue long, or stream a large body,
    keeps the five real minutes a call had before clients took the sandbox's clock.
    """
    speed = clock.speed if isinstance(clock, ScaledClock) else 1.0
    return RetryPolicy(deadline=RetryPolicy().deadline * speed)


class FillsTheCap(AppNexusSandbox):
    """An AppNexus sandbox that keeps each request ``hold`` real seconds inside the server until the concurrency cap
    has once been full (``peak_in_flight == max_concurrent``), then ``latency`` as usual.

    Whether clients fill the 15 places between them then shows in ``peak_in_flight`` on any machine: the first
    requests wait for the rest to arrive (a loaded machine only delays the arrivals, which the hold outlasts), and
    once the cap has been reached the run goes at full speed. A client that caps itself lower never fills it: its
    peak stays below, at the cost of the hold on every request.
    """

    def __init__(self, *, hold: float = 0.5, **options: Any) -> None:
        self.hold = hold
        super().__init__(**options)

    @property  # type: ignore[override]
    def latency(self) -> float:
        return self._latency if self.peak_in_flight >= self.max_concurrent else self.hold

    @latency.setter
    def latency(self, value: float) -> None:
        self._latency = value
