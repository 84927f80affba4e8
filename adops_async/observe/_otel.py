"""The OpenTelemetry subscriber: one client span per call, named after its method and path template.

Attributes follow the HTTP client semantic conventions: ``http.request.method``, ``url.template``,
``http.response.status_code``, ``http.request.resend_count`` (retries, when there were any) and ``error.type``;
``adops.vendor`` names the vendor, ``adops.priority`` the call's priority, ``adops.gate_wait`` the seconds waited at
the gate. Each gate wait (with the call's priority), retry, rate signal and cooldown the call met is a span event.
The span is the current span while the call runs, so spans made inside it (httpx instrumentation) are its children
across every retry.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context, trace

from ._events import (
    CallEnded,
    CallStarted,
    CooldownStarted,
    Event,
    GateWaited,
    RateSignal,
    RetryScheduled,
)

__all__ = ["SpanObserver"]

_CLIENT = trace.SpanKind.CLIENT


class SpanObserver:
    """Spans for calls, from the event stream (``adops_async.observe.opentelemetry()`` makes one)."""

    event_types = (CallStarted, GateWaited, RetryScheduled, RateSignal, CooldownStarted, CallEnded)
    """The events spans are made from (the others are not built for this observer)."""

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self.tracer = trace.get_tracer("adops_async", tracer_provider=tracer_provider)
        self._open: dict[int, tuple[trace.Span, Any]] = {}
        self._starts: dict[tuple[str, str | None, str | None, str], tuple[str, dict[str, Any]]] = {}
        """Per (vendor, method, path template, priority): the span's name and first attributes, made once (the
        tracer copies them into each span)."""

    def __call__(self, event: Event) -> None:
        # Starting and ending are written out here, not in methods of their own: each runs once per call, and a
        # Python call costs as much as what it would wrap.
        if isinstance(event, CallStarted):
            key = (event.vendor, event.method, event.path, event.priority)
            start = self._starts.get(key)
            if start is None:
                if len(self._starts) >= 4096:  # path templates are few, but a vendor's may not be: stay bounded
                    self._starts.clear()
                start = self._starts[key] = (
                    f"{event.method} {event.path}",
                    {
                        "http.request.method": event.method or "",
                        "url.template": event.path or "",
                        "adops.vendor": event.vendor,
                        "adops.priority": event.priority,
                    },
                )
            span = self.tracer.start_span(start[0], kind=_CLIENT, attributes=start[1])
            self._open[event.call] = (span, context.attach(trace.set_span_in_context(span)))
            return
        if isinstance(event, CallEnded):
            ended = self._open.pop(event.call, None)
            if ended is None:
                return
            span = ended[0]
            # One ``set_attribute`` per key: the SDK checks a mapping given to ``set_attributes`` as a whole before
            # each of its values, which costs more than a second call for the two attributes every span gets.
            span.set_attribute("adops.gate_wait", event.gate_wait)
            if event.status is not None:
                span.set_attribute("http.response.status_code", event.status)
            if event.attempts > 1:
                span.set_attribute("http.request.resend_count", event.attempts - 1)
            if event.error is not None:
                span.set_attribute("error.type", event.error)
                span.set_status(trace.Status(trace.StatusCode.ERROR))
            span.end()
            context.detach(ended[1])
            return
        opened = self._open.get(event.call)
        if opened is None:
            return
        span = opened[0]
        if isinstance(event, GateWaited):
            span.add_event(
                "gate.wait",
                {"adops.wait": event.wait, "adops.blocked_by": event.blocked_by, "adops.priority": event.priority},
            )
        elif isinstance(event, RetryScheduled):
            span.add_event("retry", {"adops.delay": event.delay, "adops.reason": event.reason})
        elif isinstance(event, RateSignal):
            span.add_event("rate_signal", {"http.response.status_code": event.status or 0})
        elif isinstance(event, CooldownStarted):
            span.add_event("cooldown", {"adops.wait": event.wait})

    def __repr__(self) -> str:
        return "observe.opentelemetry()"
