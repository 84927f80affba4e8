"""The pipeline against small in-process ASGI apps: order of steps, retries, errors, closing."""

from __future__ import annotations

import email.utils
import itertools
import ssl
from collections.abc import Callable

import anyio
import httpx
import pytest

from adops_async import (
    AdOpsError,
    AuthError,
    ClientClosed,
    Cooldown,
    DecodeError,
    Gate,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    ValidationFailed,
    VirtualClock,
)
from adops_async.core.policies import Observation
from adops_async.extend import BaseClient, Dialect, ErrorInfo, HeaderAuth, XmlCodec
from adops_async.gates import Kind, Policy, Serial
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio


def asgi_client(handler: Callable[[Hit], object], clock: VirtualClock, **kw: object) -> BaseClient:
    transport = httpx.ASGITransport(app=app(handler))  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=transport)
    gate = kw.pop("gate", None) or Gate(Cooldown(), clock=clock)
    return BaseClient(base_url="http://vendor.test/api", http=http, gate=gate, clock=clock, **kw)  # type: ignore[arg-type]


async def test_pipeline_order_gate_auth_send_observe_decode() -> None:
    events: list[str] = []

    class Recorder(Policy):
        def admit(self, kind: Kind, now: float) -> None:
            events.append("gate")

        def observe(self, seen: Observation) -> None:
            events.append("observe")

    class RecordingAuth(HeaderAuth):
        def apply(self, request: httpx.Request, credentials: object) -> None:
            events.append("auth")
            super().apply(request, credentials)

    class RecordingDialect(Dialect):
        def error_for(self, response: httpx.Response, data: object) -> ErrorInfo | None:
            events.append("decode")
            return super().error_for(response, data)

    async def handler(hit: Hit) -> Answer:
        events.append("send")
        assert hit.headers["x-key"] == "k-123456"
        return Answer(200, {"ok": True})

    async with VirtualClock().running() as clock:
        client = asgi_client(
            handler,
            clock,
            gate=Gate(Recorder(), clock=clock),
            auth=RecordingAuth("k-123456", header="x-key"),
            dialect=RecordingDialect(),
        )
        async with client:
            reply = await client.request("GET", "/things")
    assert reply.data == {"ok": True}
    assert events == ["gate", "auth", "send", "observe", "decode"]


@pytest.mark.parametrize("form", ["seconds", "http-date"])
async def test_429_is_retried_after_exactly_retry_after(form: str) -> None:
    hits: list[float] = []
    served_at = 1_700_000_000.0

    async with VirtualClock().running() as clock:

        async def handler(hit: Hit) -> Answer:
            hits.append(clock.now())
            if len(hits) == 1:
                retry_after = "7" if form == "seconds" else email.utils.formatdate(served_at + 7, usegmt=True)
                date = email.utils.formatdate(served_at, usegmt=True)
                return Answer(429, {"message": "slow down"}, {"Retry-After": retry_after, "Date": date})
            return Answer(200, {"ok": True})

        async with asgi_client(handler, clock) as client:
            reply = await client.request("GET", "/things")
    assert reply.data == {"ok": True}
    assert hits == [0.0, 7.0]


async def test_post_that_timed_out_on_read_is_not_retried() -> None:
    sent = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal sent
        sent += 1
        raise httpx.ReadTimeout("timed out", request=request)

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with BaseClient(base_url="http://vendor.test", http=http, clock=clock) as client:
            with pytest.raises(TransportError, match="ReadTimeout"):
                await client.request("POST", "/orders", payload={"name": "x"})
            assert sent == 1
            # the same timeout on an idempotent read is retried
            with pytest.raises(TransportError):
                await client.request("GET", "/orders")
            assert sent == 1 + RetryPolicy().attempts  # retried to the policy's last try


async def test_get_that_cannot_connect_backs_off_until_the_deadline() -> None:
    attempts: list[float] = []

    async with VirtualClock().running() as clock:

        def handler(request: httpx.Request) -> httpx.Response:
            attempts.append(clock.now())
            raise httpx.ConnectError("connection refused", request=request)

        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        retry = RetryPolicy(attempts=1000, deadline=60.0, backoff=1.0, max_backoff=8.0)
        async with BaseClient(base_url="http://vendor.test", http=http, clock=clock, retry=retry) as client:
            with pytest.raises(TransportError, match="ConnectError") as caught:
                await client.request("GET", "/orders")
    assert caught.value.method == "GET"
    assert len(attempts) > 5
    assert attempts[-1] <= 60.0
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert max(gaps) <= 8.0
    assert len(set(gaps)) > 1  # jittered


async def test_connect_error_on_a_post_is_retried_since_nothing_was_sent() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(201, json={"id": 1})

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with BaseClient(base_url="http://vendor.test", http=http, clock=clock) as client:
            reply = await client.request("POST", "/orders", payload={})
    assert (calls, reply.data) == (3, {"id": 1})


async def test_503_on_a_post_is_not_retried_but_on_a_get_it_is() -> None:
    hits: list[str] = []

    async def handler(hit: Hit) -> Answer:
        hits.append(hit.method)
        return Answer(503, {"message": "overloaded"}) if len(hits) < 3 else Answer(200, [])

    async with VirtualClock().running() as clock, asgi_client(handler, clock) as client:
        with pytest.raises(ServerError, match="overloaded"):
            await client.request("POST", "/orders")
        await client.request("GET", "/orders")
    assert hits == ["POST", "GET", "GET"]


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, ValidationFailed), (401, AuthError), (404, NotFound), (429, RateLimited), (500, ServerError)],
)
async def test_statuses_map_to_typed_errors(status: int, error: type[AdOpsError]) -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(status, {"message": "nope"}, {"X-Request-Id": "req-42"})

    async with VirtualClock().running() as clock, asgi_client(handler, clock, retry=RetryPolicy(attempts=1)) as client:
        with pytest.raises(error) as caught:
            await client.request("GET", "/x", params={"q": 1})
    exc = caught.value
    assert (exc.vendor, exc.status, exc.message, exc.request_id) == ("http", status, "nope", "req-42")
    assert exc.method == "GET"
    assert exc.url == "http://vendor.test/api/x?q=1"
    assert exc.body is not None
    assert "nope" in exc.body
    assert f"http {status}: nope (GET http://vendor.test/api/x?q=1) [request id req-42]" == str(exc)


async def test_malformed_json_is_a_decode_error() -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, b"{not json", {"content-type": "application/json"})

    async with VirtualClock().running() as clock, asgi_client(handler, clock) as client:
        with pytest.raises(DecodeError, match="malformed JSON"):
            await client.request("GET", "/x")


async def test_xml_entity_declaration_is_refused_through_the_pipeline() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'

    async def handler(hit: Hit) -> Answer:
        return Answer(200, bomb, {"content-type": "application/xml"})

    async with VirtualClock().running() as clock, asgi_client(handler, clock) as client:
        with pytest.raises(DecodeError, match="entity"):
            await client.request("GET", "/x", codec=XmlCodec())


async def test_closed_client_fails_clearly() -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, {})

    async with VirtualClock().running() as clock:
        client = asgi_client(handler, clock)
        async with client:
            await client.request("GET", "/x")
        with pytest.raises(ClientClosed, match="closed"):
            await client.request("GET", "/x")


async def test_stream_holds_the_serial_slot_until_the_body_is_read() -> None:
    in_flight = 0
    overlaps = 0

    async with VirtualClock().running() as clock:

        async def handler(hit: Hit) -> Answer:
            return Answer(200, b"a,b\n1,2\n" * 1000, {"content-type": "text/csv"})

        async with asgi_client(handler, clock, gate=Gate(Serial(), clock=clock)) as client:

            async def download() -> None:
                nonlocal in_flight, overlaps
                async with client.stream("GET", "/report") as response:
                    in_flight += 1
                    overlaps += in_flight > 1
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        await clock.sleep_until(clock.now() + 0.1)
                    in_flight -= 1
                assert size == 8000

            async with anyio.create_task_group() as tg:
                for _ in range(5):
                    tg.start_soon(download)
    assert overlaps == 0


async def test_vendor_rate_signal_in_a_200_body_cools_the_gate_and_retries() -> None:
    hits: list[float] = []

    class BodySignals(Dialect):
        def error_for(self, response: httpx.Response, data: object) -> ErrorInfo | None:
            if isinstance(data, dict) and data.get("error_id") == "RATE_EXCEEDED":
                return ErrorInfo(RateLimited, "rate exceeded", code="RATE_EXCEEDED", rate_limited=True, retry_after=5)
            return super().error_for(response, data)

    async with VirtualClock().running() as clock:

        async def handler(hit: Hit) -> Answer:
            hits.append(clock.now())
            return Answer(200, {"error_id": "RATE_EXCEEDED"} if len(hits) == 1 else {"ok": 1})

        gate = Gate(Cooldown(), clock=clock)
        async with asgi_client(handler, clock, gate=gate, dialect=BodySignals()) as client:
            await client.request("POST", "/x")
    assert hits == [0.0, 5.0]
    assert gate.stats().cooldowns == 1


class OverlapDetector:
    """A server that refuses (409) and records any request arriving while another is in flight."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.in_flight = 0
        self.overlaps = 0
        self.served = 0

    async def __call__(self, hit: Hit) -> Answer:
        if self.in_flight:
            self.overlaps += 1
            return Answer(409, {"message": "overlapping request"})
        self.in_flight += 1
        await self.clock.sleep_until(self.clock.now() + 0.01)
        self.in_flight -= 1
        self.served += 1
        return Answer(200, {"ok": True})


@pytest.mark.parametrize("serial", [True, False])
async def test_serial_gate_lets_200_concurrent_tasks_through_without_overlap(serial: bool) -> None:
    async with VirtualClock().running() as clock:
        server = OverlapDetector(clock)
        gate = Gate(Serial(), Cooldown(), clock=clock) if serial else Gate(Cooldown(), clock=clock)
        failures = 0
        async with asgi_client(server, clock, gate=gate, retry=RetryPolicy(attempts=1)) as client:

            async def call(i: int) -> None:
                nonlocal failures
                try:
                    await client.request("GET" if i % 3 else "PUT", f"/item/{i}")
                except AdOpsError:
                    failures += 1

            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(call, i)
    if serial:
        assert (server.overlaps, failures, server.served) == (0, 0, 200)
    else:  # the control: without the gate the same load overlaps, so the test above can fail
        assert server.overlaps > 0


async def test_a_download_that_breaks_off_raises_a_typed_error() -> None:
    from adops_async.core.reports import csv_rows
    from adops_async.sandbox import Fault, Request, Response, Sandbox, route, serve

    class Reports(Sandbox):
        @route("GET", "/report")
        async def report(self, request: Request) -> Response:
            return Response.text("a,b\n" + "1,2\n" * 50_000, content_type="text/csv")

    app = Reports()
    app.inject(Fault("truncate", path="/report"))
    rows = 0

    async def download(client: BaseClient) -> None:
        nonlocal rows
        async with client.stream("GET", "/report") as response:
            async for _ in csv_rows(response.aiter_bytes()):
                rows += 1

    with serve(app) as url:
        async with BaseClient(base_url=url) as client:
            with pytest.raises(TransportError, match=r"RemoteProtocolError|ReadError") as caught:
                await download(client)
    assert caught.value.url is not None
    assert caught.value.url.endswith("/report")
    assert rows == 50_000  # what arrived was delivered, and the missing end was reported, not swallowed


def test_clients_that_make_their_own_httpx_client_load_the_ca_bundle_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx loads the CA bundle for every AsyncClient (tens of ms of CPU each); the clients share one TLS context.
    loads: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loads.append(self)
        load(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    clients = [BaseClient(base_url="https://vendor.example") for _ in range(20)]
    assert len(loads) <= 1  # one load, or none when an earlier test made the context
    assert len({id(client.http) for client in clients}) == 20  # each client still owns its own connection pool
