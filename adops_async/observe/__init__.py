"""See what the pipeline and the gate do: a typed event stream, and ready-made subscribers for it.

    from adops_async import AppNexus, observe

    async with AppNexus(..., observers=[observe.logging(), observe.prometheus(), my_callback]) as an:
        ...

Each client (and :class:`~adops_async.AdOps`) takes ``observers=[...]``: callables given every :class:`Event`
(plain ones at once, ``async`` ones from a buffer a task of the client drains, see :class:`Observers`); none of
them can fail or hold up a request. ``ADOPS_LOG=info`` (or ``debug``) in the environment adds :func:`logging` to
every client built afterwards, with no code.

:func:`response_meta` tells, for a model, page or report job the library returned, the request id, the attempts
taken and the time waited at the gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ._dispatch import Observer, Observers
from ._events import (
    BudgetSynced,
    CallEnded,
    CallStarted,
    CooldownEnded,
    CooldownStarted,
    Event,
    GateWaited,
    LeaseLost,
    QuotaStoreMode,
    RateSignal,
    RequestFailed,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    path_template,
)
from ._meta import ResponseMeta, response_meta

if TYPE_CHECKING:
    from ._logging import LogObserver
    from ._otel import SpanObserver
    from ._prometheus import MetricsObserver

__all__ = [
    "BudgetSynced",
    "CallEnded",
    "CallStarted",
    "CooldownEnded",
    "CooldownStarted",
    "Event",
    "GateWaited",
    "LeaseLost",
    "Observer",
    "Observers",
    "QuotaStoreMode",
    "RateSignal",
    "RequestFailed",
    "RequestSent",
    "ResponseMeta",
    "ResponseReceived",
    "RetryScheduled",
    "logging",
    "opentelemetry",
    "path_template",
    "prometheus",
    "response_meta",
]


def logging(level: Literal["info", "debug"] = "info", *, logger: Any = None) -> LogObserver:
    """Readable, structured log lines on the logger ``adops_async.events`` (or ``logger``, a logger or a
    :class:`logging.LoggerAdapter`).

    ``info``: one line per call that ended (method, path template, status, attempts, gate wait, latency, request
    id) and per retry, cooldown, rate signal, lost lease or quota store change. ``debug``: every event. Each line
    also carries the event's fields as ``extra`` (``record.adops``), for JSON formatters.
    """
    from ._logging import LogObserver

    return LogObserver(level, logger=logger)


def opentelemetry(tracer_provider: Any = None) -> SpanObserver:
    """A span per call (``GET /line-item``) with the HTTP semantic conventions; the extra
    ``adops-async[opentelemetry]`` (``opentelemetry-api``). ``None``: the global tracer provider."""
    from ._otel import SpanObserver

    return SpanObserver(tracer_provider)


def prometheus(registry: Any = None) -> MetricsObserver:
    """Counters, histograms and gauges named ``adops_*`` with a ``vendor`` label; the extra
    ``adops-async[prometheus]`` (``prometheus-client``). ``None``: the default registry."""
    from ._prometheus import MetricsObserver

    return MetricsObserver(registry)
