"""The Prometheus subscriber: counters and histograms from the event stream, gauges from each client's gate.

Every metric is named ``adops_*`` and labelled with ``vendor``. Gauges are read from :meth:`Gate.stats` in the
event loop (never in the scrape thread, the gate is not thread-safe): on every cooldown, retry, rate signal and gate
wait, and when a call ends at most every :attr:`MetricsObserver.refresh` seconds.
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from ._events import (
    CallEnded,
    CooldownEnded,
    CooldownStarted,
    Event,
    GateWaited,
    RateSignal,
    ResponseReceived,
    RetryScheduled,
)

if TYPE_CHECKING:
    from ..core.client import BaseClient
    from ..core.gate import Gate

__all__ = ["MetricsObserver"]

_NEVER = float("-inf")
_WAIT_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, float("inf"))


class MetricsObserver:
    """Metrics for calls and gates (``adops_async.observe.prometheus()`` makes one).

    Counters: ``adops_requests_total`` (vendor, method, path, status: every response), ``adops_retries_total``
    (vendor, reason), ``adops_rate_signals_total`` (vendor, status), ``adops_gate_waits_total`` (vendor,
    blocked_by: a request held back rather than sent against the vendor's rule), ``adops_calls_total`` (vendor,
    outcome: ``ok`` or the error class). Histograms: ``adops_gate_wait_seconds`` (vendor, kind),
    ``adops_request_duration_seconds`` (vendor, method, path). Gauges, per gate (``gate``: the vendor, then ``#2``,
    ``#3`` for more clients of one vendor): ``adops_gate_budget`` (vendor, gate, budget), ``adops_gate_waiters``,
    ``adops_gate_in_flight``, ``adops_gate_cooldown_seconds`` (time left).
    """

    refresh = 1.0
    """Seconds between two readings of a gate's gauges (cooldowns are read at once)."""
    event_types = (ResponseReceived, GateWaited, CallEnded, RetryScheduled, RateSignal, CooldownStarted, CooldownEnded)
    """The events metrics are made from (the others are not built for this observer)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else REGISTRY
        self.requests = Counter(
            "adops_requests", "Responses received", ["vendor", "method", "path", "status"], registry=registry
        )
        self.calls = Counter("adops_calls", "Calls ended", ["vendor", "outcome"], registry=registry)
        self.retries = Counter("adops_retries", "Retries scheduled", ["vendor", "reason"], registry=registry)
        self.rate_signals = Counter(
            "adops_rate_signals", "Rate limit signals from the vendor", ["vendor", "status"], registry=registry
        )
        self.gate_waits = Counter(
            "adops_gate_waits",
            "Requests held at the gate instead of breaking a rule",
            ["vendor", "blocked_by"],
            registry=registry,
        )
        self.gate_wait = Histogram(
            "adops_gate_wait_seconds",
            "Time waited at the gate",
            ["vendor", "kind"],
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.latency = Histogram(
            "adops_request_duration_seconds",
            "From sending to the decoded body",
            ["vendor", "method", "path"],
            registry=registry,
        )
        self.budget = Gauge("adops_gate_budget", "Calls left now", ["vendor", "gate", "budget"], registry=registry)
        self.waiters = Gauge("adops_gate_waiters", "Requests queued", ["vendor", "gate"], registry=registry)
        self.in_flight = Gauge("adops_gate_in_flight", "Requests in flight", ["vendor", "gate"], registry=registry)
        self.cooldown = Gauge(
            "adops_gate_cooldown_seconds", "Seconds until the gate reopens", ["vendor", "gate"], registry=registry
        )
        self._gates: dict[str, list[tuple[str, weakref.ref[Gate]]]] = {}
        self._read_at: dict[str, float] = {}
        """Per vendor: when its gates' gauges were last read."""
        self._children: dict[tuple[str, str | None, str | None, int | None], tuple[Any, Any]] = {}
        """The labelled series of each response kind, looked up once."""
        self._calls: dict[tuple[str, str | None], Any] = {}
        """The labelled series of each call outcome, looked up once."""
        self._series: dict[tuple[Any, ...], Any] = {}
        """The labelled series of the other counters and histograms, by (metric, *labels), looked up once
        (``labels()`` takes a lock and checks every label each time)."""

    def bind(self, client: BaseClient) -> None:
        """Read ``client``'s gate for the gauges (called by the client when this observer subscribes)."""
        gates = self._gates.setdefault(client.vendor, [])
        if any(ref() is client.gate for _, ref in gates):
            return
        name = client.vendor if not gates else f"{client.vendor}#{len(gates) + 1}"
        gates.append((name, weakref.ref(client.gate)))

    def __call__(self, event: Event) -> None:
        vendor = event.vendor
        if isinstance(event, ResponseReceived):
            key = (vendor, event.method, event.path, event.status)
            children = self._children.get(key)
            if children is None:
                method, path = event.method or "", event.path or ""
                children = self._children[key] = (
                    self.requests.labels(vendor, method, path, str(event.status)),
                    self.latency.labels(vendor, method, path),
                )
            children[0].inc()
            children[1].observe(event.elapsed)
            return
        if isinstance(event, CallEnded):
            outcome = (vendor, event.error)
            calls = self._calls.get(outcome)
            if calls is None:
                calls = self._calls[outcome] = self.calls.labels(vendor, event.error or "ok")
            calls.inc()
            # Gauges: read at most every `refresh` seconds when a call ends (at once on the events below).
            if time.monotonic() - self._read_at.get(vendor, _NEVER) < self.refresh:
                return
        elif isinstance(event, GateWaited):
            self._series_of(self.gate_waits, vendor, event.blocked_by or "queue").inc()
            self._series_of(self.gate_wait, vendor, event.kind).observe(event.wait)
        elif isinstance(event, RetryScheduled):
            self._series_of(self.retries, vendor, event.reason).inc()
        elif isinstance(event, RateSignal):
            self._series_of(self.rate_signals, vendor, str(event.status)).inc()
        elif not isinstance(event, (CooldownStarted, CooldownEnded)):
            return
        self._read_at[vendor] = time.monotonic()
        self._read_gates(vendor)

    def _series_of(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, looked up once."""
        key = (metric, *labels)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(*labels)
        return series

    def _read_gates(self, vendor: str) -> None:
        for name, ref in self._gates.get(vendor, ()):
            gate = ref()
            if gate is None:
                continue
            stats = gate.stats()
            for budget, left in stats.budgets.items():
                self.budget.labels(vendor, name, budget).set(left)
            self.waiters.labels(vendor, name).set(sum(stats.waiters.values()))
            self.in_flight.labels(vendor, name).set(stats.in_flight)
            until = stats.cooldown_until
            self.cooldown.labels(vendor, name).set(max(0.0, until - gate.clock.now()) if until is not None else 0.0)

    def __repr__(self) -> str:
        return "observe.prometheus()"
