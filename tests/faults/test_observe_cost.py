"""Observing costs only what the subscribers use: events go to the subscribers that take their type, an event no
subscriber takes is not built, and the built-in subscribers' shortcuts (cached spans' names and attributes, cached
metric series, log records made without a stack walk) give the same spans, series and lines as before."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import adops_async.core.client as client_module
from adops_async import BaseClient, Cooldown, Gate, NotFound, Priority, VirtualClock, observe
from adops_async.observe import CallEnded, CallStarted, Event, RequestSent, ResponseReceived
from adops_async.observe._logging import describe
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio


async def ok(hit: Hit) -> Answer:
    return Answer(200, {"ok": True}, {"X-Request-Id": f"r-{hit.path}"})


def asgi_client(clock: VirtualClock, handler: Callable[[Hit], object] = ok, **kw: Any) -> BaseClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(handler)))  # type: ignore[arg-type]
    return BaseClient(
        base_url="http://vendor.test/api", http=http, gate=Gate(Cooldown(), clock=clock), clock=clock, **kw
    )


class Only:
    """A subscriber of some event types."""

    def __init__(self, *event_types: type[Event]) -> None:
        self.event_types = event_types
        self.seen: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.seen.append(event)


async def test_a_subscriber_with_event_types_gets_only_those_and_one_added_later_gets_every_event() -> None:
    ends, everything = Only(CallEnded), []
    async with VirtualClock().running() as clock, asgi_client(clock, observers=[ends]) as client:
        await client.request("GET", "/line-item/1")
        client.observers.add(everything.append)
        await client.request("GET", "/line-item/2")
    assert [type(e) for e in ends.seen] == [CallEnded, CallEnded]
    assert [e.request_id for e in ends.seen] == ["r-/api/line-item/1", "r-/api/line-item/2"]
    assert [type(e) for e in everything] == [CallStarted, RequestSent, ResponseReceived, CallEnded]


async def test_an_event_no_subscriber_takes_is_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    def counting(event_type: type[Event]) -> type[Event]:
        def init(self: Event, **fields: Any) -> None:
            built.append(event_type.__name__)
            event_type.__init__(self, **fields)

        return type(event_type.__name__, (event_type,), {"__slots__": (), "__init__": init})

    for event_type in (CallStarted, RequestSent, ResponseReceived, CallEnded):
        monkeypatch.setattr(client_module, event_type.__name__, counting(event_type))
    ends = Only(CallEnded)
    async with VirtualClock().running() as clock, asgi_client(clock, observers=[ends]) as client:
        reply = await client.request("GET", "/line-item/1")
    assert built == ["CallEnded"]
    assert reply.meta is not None
    assert reply.meta.request_id == "r-/api/line-item/1"  # read without the events


async def test_spans_of_calls_on_other_paths_and_priorities_keep_their_own_names_and_attributes() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with (
        VirtualClock().running() as clock,
        asgi_client(clock, observers=[observe.opentelemetry(provider)]) as client,
    ):
        await client.request("GET", "/line-item/1")
        await client.request("GET", "/line-item/2", priority=Priority.BULK)
        await client.request("POST", "/creative", payload={"a": 1})
        await client.request("GET", "/line-item/3")
    spans = [(s.name, dict(s.attributes or {})) for s in exporter.get_finished_spans()]
    start = {"http.request.method": "GET", "url.template": "/line-item/{id}", "adops.vendor": "http"}
    done = {"adops.gate_wait": 0.0, "http.response.status_code": 200}
    assert spans == [
        ("GET /line-item/{id}", start | {"adops.priority": "NORMAL"} | done),
        ("GET /line-item/{id}", start | {"adops.priority": "BULK"} | done),
        (
            "POST /creative",
            {"http.request.method": "POST", "url.template": "/creative", "adops.vendor": "http"}
            | {"adops.priority": "NORMAL"}
            | done,
        ),
        ("GET /line-item/{id}", start | {"adops.priority": "NORMAL"} | done),
    ]


async def test_metric_series_cached_per_label_set_count_each_outcome_apart() -> None:
    answers = iter([Answer(200, {"ok": True}), Answer(404, {"error": "no"}), Answer(200, {"ok": True})])
    registry = CollectorRegistry()
    async with VirtualClock().running() as clock:

        async def handler(hit: Hit) -> Answer:
            return next(answers)

        client = asgi_client(clock, handler, observers=[observe.prometheus(registry)])
        async with client:
            for _ in range(3):
                with contextlib.suppress(NotFound):
                    await client.request("GET", "/line-item/1")

    def calls(outcome: str) -> float | None:
        return registry.get_sample_value("adops_calls_total", {"vendor": "http", "outcome": outcome})

    assert (calls("ok"), calls("NotFound")) == (2.0, 1.0)


async def test_log_records_name_the_observer_as_source_and_format_their_line_when_read() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("tests.observe_cost")
    logger.addHandler(Keep())
    logger.propagate = False
    ends = Only(CallEnded)
    async with (
        VirtualClock().running() as clock,
        asgi_client(clock, observers=[observe.logging("info", logger=logger), ends]) as client,
    ):
        await client.request("GET", "/line-item/1")
    assert [r.getMessage() for r in records] == [describe(ends.seen[0])]
    (record,) = records
    assert (record.levelno, record.funcName, record.module) == (logging.INFO, "__call__", "_logging")
    assert record.adops["request_id"] == "r-/api/line-item/1"  # type: ignore[attr-defined]
    assert record.event == "CallEnded"  # type: ignore[attr-defined]


def test_events_made_by_their_quick_init_are_the_frozen_dataclasses_they_declare() -> None:
    event_classes = [getattr(observe, name) for name in observe.__all__]
    event_classes = [c for c in event_classes if isinstance(c, type) and issubclass(c, Event)]
    assert len(event_classes) == 14
    for event_class in event_classes:
        names = [f.name for f in dataclasses.fields(event_class)]
        event = event_class(vendor="appnexus", call=7)
        assert list(vars(event)) == names  # every field, in order: what the log observer copies as record.adops
        assert (event.vendor, event.call, event.attempt) == ("appnexus", 7, 0)
        twin = event_class(call=7, vendor="appnexus")
        assert event == twin
        assert hash(event) == hash(twin)
        assert dataclasses.replace(event, vendor="ooyala") == event_class(vendor="ooyala", call=7)
        assert repr(event).startswith(f"{event_class.__name__}(vendor='appnexus', method=None")
        assert list(inspect.signature(event_class).parameters) == names
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.vendor = "ooyala"
        with pytest.raises(TypeError):
            event_class(vendor="appnexus", nonsense=1)
        with pytest.raises(TypeError):
            event_class("appnexus")


async def test_a_subscriber_that_unsubscribes_itself_mid_event_stops_there_and_the_others_still_hear_it() -> None:
    first, last = Only(CallEnded), Only(CallEnded)

    class Once(Only):
        def __call__(self, event: Event) -> None:
            super().__call__(event)
            client.observers.remove(self)  # from inside the delivery of this very event

    once = Once(CallEnded)
    async with (
        VirtualClock().running() as clock,
        asgi_client(clock, observers=[first, once, last]) as client,
    ):
        await client.request("GET", "/line-item/1")
        await client.request("GET", "/line-item/2")
    assert (len(first.seen), len(once.seen), len(last.seen)) == (2, 1, 2)
    assert client.observers.observers == (first, last)


class ListedTypes(Only):
    """``event_types`` as a list: a plain mistake, read as the classes it names."""

    def __init__(self) -> None:
        super().__init__()
        self.event_types = [CallEnded]  # type: ignore[assignment]


class BrokenTypes(Only):
    """``event_types`` that cannot be read at all: given every event, the failure logged once."""

    @property  # type: ignore[override]
    def event_types(self) -> tuple[type[Event], ...]:
        raise RuntimeError("observer bug")

    @event_types.setter
    def event_types(self, value: tuple[type[Event], ...]) -> None:
        pass


@pytest.mark.parametrize(("make", "heard"), [(ListedTypes, [CallEnded]), (BrokenTypes, [CallStarted, CallEnded])])
async def test_an_observer_with_unusable_event_types_never_fails_a_call(
    make: Callable[[], Only], heard: list[type[Event]], caplog: pytest.LogCaptureFixture
) -> None:
    observer = make()
    async with VirtualClock().running() as clock, asgi_client(clock, observers=[observer]) as client:
        reply = await client.request("GET", "/line-item/1")
    assert reply.data == {"ok": True}
    assert [type(e) for e in observer.seen if type(e) in (CallStarted, CallEnded)] == heard
    warned = [r for r in caplog.records if r.name == "adops_async.observe"]
    assert len(warned) == (1 if make is BrokenTypes else 0)


async def test_a_logger_adapter_shapes_the_line_and_its_extras_join_the_events_fields() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    base = logging.getLogger("tests.observe.adapter")
    base.propagate = False
    base.addHandler(Keep())

    class Tenant(logging.LoggerAdapter):  # type: ignore[type-arg]
        def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
            kwargs["extra"] = self.extra  # what the standard library's adapter does: its extras replace the call's
            return f"[{(self.extra or {})['tenant']}] {msg}", kwargs

    ends = Only(CallEnded)
    log = observe.logging(logger=Tenant(base, {"tenant": "t1"}))
    async with VirtualClock().running() as clock, asgi_client(clock, observers=[ends, log]) as client:
        await client.request("GET", "/line-item/1")
    (record,) = records
    assert record.getMessage() == f"[t1] {describe(ends.seen[0])}"
    assert record.tenant == "t1"  # type: ignore[attr-defined]
    assert record.adops["request_id"] == "r-/api/line-item/1"  # type: ignore[attr-defined]
    assert record.event == "CallEnded"  # type: ignore[attr-defined]
