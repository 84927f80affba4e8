"""The built-in subscribers: OpenTelemetry spans (in-memory exporter) and Prometheus metrics (a registry)."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry

from adops_async import BaseClient, Cooldown, Gate, NotFound, PulsePro, RetryPolicy, VirtualClock, observe
from adops_async.sandbox import Fault, serve
from adops_async.sandbox.pulsepro import PulseProSandbox
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio


async def test_a_span_per_call_with_http_conventions_retries_and_the_gate_wait() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    answers = iter([Answer(503, {"e": 1}, {"Retry-After": "2"}), Answer(200, {"ok": 1}), Answer(404, {"e": 2})])

    async def handler(hit: Hit) -> Answer:
        return next(answers)

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(handler)))  # type: ignore[arg-type]
        client = BaseClient(
            base_url="http://vendor.test/api",
            http=http,
            gate=Gate(Cooldown(), clock=clock),
            clock=clock,
            retry=RetryPolicy(attempts=3),
            observers=[observe.opentelemetry(provider)],
        )
        async with client:
            client.gate.cool_down(1.5, reason="test")
            await client.request("GET", "/line-item/17")
            with pytest.raises(NotFound):
                await client.request("DELETE", "/line-item/18")
    first, second = exporter.get_finished_spans()
    assert (first.name, second.name) == ("GET /line-item/{id}", "DELETE /line-item/{id}")
    assert first.kind is SpanKind.CLIENT
    assert dict(first.attributes or {}) == {
        "http.request.method": "GET",
        "url.template": "/line-item/{id}",
        "adops.vendor": "http",
        "adops.priority": "NORMAL",
        "http.response.status_code": 200,
        "http.request.resend_count": 1,
        "adops.gate_wait": 1.5,  # the cooldown before the first attempt; the retry slept out the 503's own pause
    }
    assert [e.name for e in first.events] == ["gate.wait", "cooldown", "rate_signal", "retry"]
    assert dict(first.events[0].attributes or {}) == {
        "adops.wait": 1.5,
        "adops.blocked_by": "Cooldown",
        "adops.priority": "NORMAL",
    }
    assert first.status.status_code is StatusCode.UNSET
    assert (second.attributes or {})["error.type"] == "NotFound"
    assert (second.attributes or {})["http.response.status_code"] == 404
    assert "http.request.resend_count" not in (second.attributes or {})
    assert second.status.status_code is StatusCode.ERROR


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    found = registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


async def test_prometheus_counters_and_wait_histogram_after_a_pull_with_a_forced_429() -> None:
    registry = CollectorRegistry()
    sandbox = PulseProSandbox(inspections=200, speed=60)
    sandbox.inject(Fault("status", status=429, headers={"retry-after": "2"}, path="inspections"))
    with serve(sandbox) as url:
        client = PulsePro(
            api_key="test-key",
            base_url=f"{url}/api/v1",
            clock=sandbox.client_clock(),
            rate=6,  # one call per 10 vendor seconds (1/6 s here): each call after the first waits at the gate
            burst=1,
            page_size=50,
            observers=[observe.prometheus(registry)],
        )
        async with client:
            items = await client.inspections.list().collect()
    assert len(items) == 200
    assert sandbox.violations == []
    pages = {"vendor": "pulsepro", "method": "GET", "path": "/inspections"}
    assert value(registry, "adops_requests_total", **pages, status="429") == 1
    assert value(registry, "adops_requests_total", **pages, status="200") == 4
    assert value(registry, "adops_rate_signals_total", vendor="pulsepro", status="429") == 1
    assert value(registry, "adops_retries_total", vendor="pulsepro", reason="RateLimited") == 1
    assert value(registry, "adops_calls_total", vendor="pulsepro", outcome="ok") == 4
    waits = value(registry, "adops_gate_wait_seconds_count", vendor="pulsepro", kind="read")
    assert waits >= 1
    assert value(registry, "adops_gate_wait_seconds_sum", vendor="pulsepro", kind="read") > 0
    held = sum(
        value(registry, "adops_gate_waits_total", vendor="pulsepro", blocked_by=cause)
        for cause in ("TokenBucket", "Cooldown", "queue", "capacity")
    )
    assert held == waits
    assert value(registry, "adops_request_duration_seconds_count", **pages) == 5
    assert (
        registry.get_sample_value("adops_gate_budget", {"vendor": "pulsepro", "gate": "pulsepro", "budget": "bucket"})
        is not None
    )
    assert value(registry, "adops_gate_waiters", vendor="pulsepro", gate="pulsepro") == 0
