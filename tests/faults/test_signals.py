"""Issue 16: rate headers that are broken or absurd, raw errors crossing the public API, 500s, proxy 503s after a
write, ids cut short and bodies nested too deep. Each test is judged by the types raised and the sandbox's records."""

from __future__ import annotations

import email.utils
import json
import logging
import math
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import Any

import httpx
import pytest
import redis

from adops_async import AppNexus, DecodeError, QuotaStoreUnavailable, RedisStore, ServerError
from adops_async.core.codecs import MAX_DEPTH
from adops_async.core.dialect import Dialect
from adops_async.core.headers import MAX_WAIT, parse_rate_limit, parse_retry_after
from adops_async.core.policies import Cooldown, Kind, Observation, TokenBucket, Turn
from adops_async.extend import JsonCodec, XmlCodec
from adops_async.sandbox import Fault, Response, serve
from adops_async.sandbox import Request as SandboxRequest
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.vendors.adnuntius import AdnuntiusDialect
from adops_async.vendors.appnexus import AppNexusDialect
from adops_async.vendors.ooyala import OoyalaDialect, OoyalaPulse
from adops_async.vendors.pulsepro import PulsePro, PulseProDialect

from ..redis_server import RedisServer, free_port

pytestmark = pytest.mark.anyio

JSON = {"content-type": "application/json"}
HTML = {"content-type": "text/html"}
XML = {"content-type": "application/xml"}

# -- item 3: rate headers that are not finite, non-negative and sane -------------------------------------------------

SERVED = 1_700_000_000.0


def seen(status: int, headers: dict[str, str], now: float = 0.0) -> Observation:
    return Observation(status, httpx.Headers(headers), now, 0)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "-5", "1e308", "86401", "soon"])
def test_an_unusable_retry_after_is_ignored(value: str) -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": value})) is None


def test_a_long_retry_after_within_the_bound_is_honoured() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "3600"})) == 3600
    assert parse_retry_after(httpx.Headers({"Retry-After": "0"})) == 0
    day = email.utils.formatdate(SERVED + MAX_WAIT, usegmt=True)
    date = email.utils.formatdate(SERVED, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": day, "Date": date})) == MAX_WAIT
    week = email.utils.formatdate(SERVED + 7 * MAX_WAIT, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": week, "Date": date})) is None
    assert parse_retry_after(httpx.Headers({"Retry-After": "7200"}), max_wait=3600) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"RateLimit-Remaining": "inf"}, None),
        ({"RateLimit-Remaining": "-3"}, None),
        ({"RateLimit-Remaining": "1e300"}, None),
        ({"RateLimit-Remaining": "nan", "RateLimit-Reset": "5"}, (None, 5.0, None)),
        ({"RateLimit-Reset": "inf", "RateLimit-Remaining": "4"}, (4, None, None)),
        ({"Organization-RateLimit-Limit": "0"}, None),
        ({"Organization-RateLimit-Limit": "0;w=0"}, None),
        ({"Organization-RateLimit-Limit": "inf"}, None),
        ({"Organization-RateLimit-Limit": "10;w=nan;b=10"}, None),
        ({"Organization-RateLimit-Limit": "10;w=60;b=0"}, None),
        ({"Organization-RateLimit-Limit": "1;w=86400;b=1"}, (None, None, 1)),
    ],
)
def test_rate_limit_fields_out_of_bounds_are_ignored(
    headers: dict[str, str], expected: tuple[int | None, float | None, int | None] | None
) -> None:
    state = parse_rate_limit(httpx.Headers(headers))
    assert ((state.remaining, state.reset, state.limit) if state else None) == expected


def test_a_cooldown_ignores_unusable_waits_logs_each_header_once_and_honours_a_long_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="adops_async.headers")
    cooldown = Cooldown(default_wait=2.0)
    for value in ("inf", "nan", "-5", "1e308"):
        cooldown.observe(seen(503, {"Retry-After": value}))
    assert cooldown.until == float("-inf")  # a 503 without a usable wait pauses nobody
    cooldown.observe(seen(429, {"Retry-After": "inf"}, now=10))
    assert cooldown.until == 12.0  # a 429 without a usable wait: the default
    assert [r.levelno for r in caplog.records] == [logging.WARNING]  # once per policy and header
    assert "retry-after" in caplog.records[0].getMessage()
    cooldown.observe(seen(429, {"Retry-After": "3600"}, now=20))
    assert cooldown.ready_at(Kind.READ, 20) == 3620  # what the vendor really asked for
    assert not cooldown.extend(float("inf"))
    assert not cooldown.extend(float("nan"))
    assert cooldown.until == 3620


@pytest.mark.parametrize(
    "headers",
    [
        {"RateLimit-Remaining": "inf"},
        {"RateLimit-Remaining": "-1", "RateLimit-Reset": "5"},
        {"RateLimit-Remaining": "1e30"},
        {"RateLimit-Remaining": "0", "RateLimit-Reset": "inf"},
        {"RateLimit-Remaining": "0", "RateLimit-Reset": "86400"},
        {"Organization-RateLimit-Limit": "0", "RateLimit-Remaining": "10"},
        {"Organization-RateLimit-Limit": "0;w=0", "RateLimit-Remaining": "10"},
        {"Organization-RateLimit-Limit": "inf", "RateLimit-Remaining": "10"},
    ],
)
def test_a_token_bucket_never_crashes_nor_closes_on_broken_headers(headers: dict[str, str]) -> None:
    bucket = TokenBucket(60, per=60, burst=60)
    bucket.observe(seen(200, headers))
    assert (bucket.rate, bucket.burst) == (60, 60)
    # At worst the bucket is empty: the next call goes one refill interval later, never a day later.
    assert bucket.ready_at(Kind.READ, 0.0) <= 1.0


def test_an_announced_policy_lasts_until_a_later_response_announces_another() -> None:
    bucket = TokenBucket(60, per=60, burst=60)
    slow = {"Organization-RateLimit-Limit": "1;w=86400;b=1", "RateLimit-Remaining": "0", "RateLimit-Reset": "86400"}
    bucket.observe(seen(200, slow, now=0))
    assert bucket.burst == 1
    assert bucket.rate == pytest.approx(60 / 86400)
    assert bucket.ready_at(Kind.READ, 1.0) == pytest.approx(
        86400
    )  # honoured: the vendor asked for it (within the bound)
    normal = {"Organization-RateLimit-Limit": "60;w=60;b=60", "RateLimit-Remaining": "59", "RateLimit-Reset": "1"}
    bucket.observe(seen(200, normal, now=10))
    assert (bucket.rate, bucket.burst) == (60, 60)
    assert bucket.ready_at(Kind.READ, 10.0) == 10.0
    assert bucket.budgets(10.0) == {"bucket": 59}
    # Above the configured ceiling the bucket never goes.
    bucket.observe(seen(200, {"Organization-RateLimit-Limit": "600;w=60;b=600"}, now=11))
    assert (bucket.rate, bucket.burst) == (60, 60)


def test_a_policy_announced_without_remaining_starts_from_what_the_old_one_left() -> None:
    bucket = TokenBucket(60, per=60, burst=60)
    bucket.observe(seen(200, {"Organization-RateLimit-Limit": "1;w=86400;b=1"}, now=0))
    bucket.admit(Kind.READ, 0)
    assert bucket.ready_at(Kind.READ, 1) == pytest.approx(86400)
    bucket.observe(seen(200, {"Organization-RateLimit-Limit": "60;w=60;b=60"}, now=5))
    assert bucket.ready_at(Kind.READ, 5) == 6  # empty, refilling at the normal rate


def test_each_bad_header_is_logged_once_per_policy(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="adops_async.headers")
    first, second = TokenBucket(60, per=60, burst=60), TokenBucket(60, per=60, burst=60)
    for bucket in (first, second, first):
        bucket.observe(seen(200, {"RateLimit-Remaining": "inf", "Organization-RateLimit-Limit": "0"}))
        bucket.observe(seen(200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "86400"}))
    messages = [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.WARNING for r in caplog.records)
    for header in ("ratelimit-remaining", "organization-ratelimit-limit", "ratelimit-reset"):
        assert sum(header in m for m in messages) == 2, messages  # once for each of the two policies


class Now:
    """The shared store's injected clock: the test moves it."""

    t = 1_000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis-py's asyncio client
async def test_the_shared_bucket_follows_policy_changes_as_the_local_one_and_gets_no_non_finite_number(
    redis_server: RedisServer,
) -> None:
    now = Now()
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", time=now)
    local = TokenBucket(60, per=60, burst=60)
    shared = TokenBucket(60, per=60, burst=60, store=store, key="org")

    async def take() -> tuple[bool, Turn]:
        turn = Turn(Kind.READ, store.token(), 1.0, now.t)
        grant = await store.take(shared.take_steps(turn), 1.0)
        ready = local.ready_at(Kind.READ, now.t)
        assert grant.admitted == (ready <= now.t)
        if grant.admitted:
            local.admit(Kind.READ, now.t)
            turn.seq = grant.seq
        else:
            assert grant.wait == pytest.approx(ready - now.t, abs=1e-6)
        return grant.admitted, turn

    async def answer(turn: Turn, headers: dict[str, str], later: int) -> None:
        observation = Observation(200, httpx.Headers(headers), now.t, later)
        local.observe(observation)
        shared.observe(observation)
        turn.seen = observation
        steps = shared.settle_steps(turn)
        assert all(math.isfinite(a) for step in steps for a in step.args if isinstance(a, float | int))
        await store.settle(steps, 1.0)

    try:
        for broken in (
            {"RateLimit-Remaining": "inf", "RateLimit-Reset": "nan"},
            {"RateLimit-Remaining": "40", "RateLimit-Reset": "inf"},
            {"RateLimit-Remaining": "40", "RateLimit-Reset": "1e308", "Organization-RateLimit-Limit": "0;w=0"},
        ):
            admitted, turn = await take()
            assert admitted
            await answer(turn, broken, later=0)
            now.t += 1
        (_, first), (_, second) = await take(), await take()
        slow = {"Organization-RateLimit-Limit": "1;w=86400;b=1", "RateLimit-Remaining": "0", "RateLimit-Reset": "9"}
        await answer(first, slow, later=1)
        now.t += 1
        assert not (await take())[0]  # the announced policy holds, shared and local alike
        assert local.ready_at(Kind.READ, now.t) > now.t + 80_000
        normal = {"Organization-RateLimit-Limit": "60;w=60;b=60", "RateLimit-Remaining": "50", "RateLimit-Reset": "1"}
        await answer(second, normal, later=0)
        for _ in range(50):
            assert (await take())[0]  # back to the normal policy at once
        assert not (await take())[0]
    finally:
        await store.aclose()


@asynccontextmanager
async def pulsepro(app: PulseProSandbox, **options: Any) -> AsyncIterator[PulsePro]:
    with serve(app) as url:
        async with PulsePro(
            api_key="test-key", base_url=f"{url}/api/v1", clock=app.client_clock(), **options
        ) as client:
            yield client


def _inspection_body(app: PulseProSandbox, id: int) -> bytes:
    return json.dumps(app.inspections[id - 1]).encode()


async def test_broken_rate_headers_over_a_real_socket_neither_crash_nor_stall_and_the_bucket_recovers() -> None:
    app = PulseProSandbox(speed=60, inspections=10)
    vendor_error = json.dumps({"error": {"code": "rate_limit_exceeded", "message": "slow down"}}).encode()
    broken_429 = {"Retry-After": "inf", "RateLimit-Remaining": "inf", "RateLimit-Reset": "inf"}
    broken_503 = {"Retry-After": "nan", "RateLimit-Remaining": "-5", "Organization-RateLimit-Limit": "0;w=0"}
    slow_policy = {"Organization-RateLimit-Limit": "1;w=86400;b=1", "RateLimit-Remaining": "1", "RateLimit-Reset": "1"}
    app.inject(Fault("status", path="/inspections/1", status=429, body=vendor_error, headers={**JSON, **broken_429}))
    app.inject(Fault("status", path="/inspections/1", status=503, body=vendor_error, headers={**JSON, **broken_503}))
    app.inject(
        Fault(
            "status",
            path="/inspections/2",
            status=200,
            body=_inspection_body(app, 2),
            headers={**JSON, **slow_policy},
        )
    )
    async with pulsepro(app) as client:
        assert (await client.inspections.get(1)).id == 1  # after a 429 and a 503 with broken headers
        stats = client.gate.stats()
        assert stats.cooldown_until is None or stats.cooldown_until <= client.clock.now() + 1.0
        assert (await client.inspections.get(2)).id == 2  # announces one call a day, one left
        assert client.gate.stats().budgets["bucket"] == 1
        assert (await client.inspections.get(3)).id == 3  # its response announces the normal policy again
        assert client.gate.stats().budgets["bucket"] >= 55
        ids = [(await client.inspections.get(i)).id for i in range(4, 11)]
    assert ids == list(range(4, 11))
    assert [(r.path.rsplit("/", 1)[-1], r.status) for r in app.records[:4]] == [
        ("1", 429),
        ("1", 503),
        ("1", 200),
        ("2", 200),
    ]
    assert len(app.records) == 12
    assert app.violations == []


# -- items 8 and 9: a 500 is retried for reads; a write is resent only on the vendor's own "nothing was done" --------

PROXY_PAGES = {
    "html": Response(503, b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>", HTML),
    "empty": Response(503, b"", {}),
    "other json": Response(503, b'{"message": "Service Unavailable"}', JSON),
    "bare error string": Response(503, b'{"error": "upstream timed out"}', JSON),
}


class BehindAProxy(PulseProSandbox):
    """A load balancer in front of PulsePro: the write reaches the API and is applied, then the proxy answers with
    its own page instead of the vendor's response (for the next ``len(pages)`` writes)."""

    def __init__(self, pages: list[Response], **options: Any) -> None:
        super().__init__(**options)
        self.pages = pages

    async def handle(self, request: SandboxRequest) -> Response:
        response = await super().handle(request)
        if request.method == "POST" and self.pages:
            return self.pages.pop(0)
        return response


@pytest.mark.parametrize("page", PROXY_PAGES, ids=list(PROXY_PAGES))
async def test_a_write_answered_503_by_a_proxy_is_not_resent(page: str) -> None:
    app = BehindAProxy([PROXY_PAGES[page]], speed=60, inspections=1)
    async with pulsepro(app) as client:
        with pytest.raises(ServerError) as caught:
            await client.corrective_actions.create({"title": "fix the freezer"})
    assert caught.value.status == 503
    assert "may have been applied" in caught.value.message
    assert app.creates == 1
    assert app.count("POST") == 1
    assert app.violations == []


async def test_a_write_refused_by_the_vendors_own_503_is_retried_and_created_once() -> None:
    app = PulseProSandbox(speed=60, inspections=1)
    spike = {"error": {"code": "service_unavailable", "message": "unexpected spike in API access traffic"}}
    app.inject(Fault("status", path="/corrective-actions", status=503, body=json.dumps(spike).encode(), headers=JSON))
    async with pulsepro(app) as client:
        created = await client.corrective_actions.create({"title": "fix the freezer"})
    assert created.id == 41
    assert app.creates == 1
    assert [r.status for r in app.records] == [503, 201]
    assert app.violations == []


@pytest.mark.parametrize("body", [b"<html>500 Internal Server Error</html>", b'{"error": {"code": "internal"}}'])
async def test_a_500_is_retried_once_for_a_read_and_never_for_a_write(body: bytes) -> None:
    app = BehindAProxy([Response(500, body, HTML)], speed=60, inspections=5)
    app.inject(Fault("status", path="/inspections/3", status=500, body=body, headers=HTML))
    async with pulsepro(app) as client:
        inspection = await client.inspections.get(3)
        with pytest.raises(ServerError) as caught:
            await client.corrective_actions.create({"title": "fix the freezer"})
    assert inspection.model_dump() == {**app.inspections[2], "completed_at": None}
    assert [(r.method, r.status) for r in app.records] == [("GET", 500), ("GET", 200), ("POST", 500)]
    assert caught.value.status == 500
    assert app.creates == 1


@pytest.mark.parametrize(
    "dialect",
    [Dialect(), AppNexusDialect(), AdnuntiusDialect(), OoyalaDialect(), PulseProDialect()],
    ids=lambda d: type(d).__name__,
)
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_no_dialect_takes_a_proxy_5xx_page_for_nothing_done(dialect: Dialect, status: int) -> None:
    request = httpx.Request("POST", "https://api.test/things")
    page = httpx.Response(status, content=b"<html>Bad gateway</html>", headers=HTML, request=request)
    info = dialect.error_for(page, None)
    assert info is not None
    assert info.error_class is ServerError
    assert not info.rate_limited
    assert status not in dialect.not_acted_statuses


@pytest.mark.parametrize(
    "dialect",
    [Dialect(), AppNexusDialect(), AdnuntiusDialect(), OoyalaDialect(), PulseProDialect()],
    ids=lambda d: type(d).__name__,
)
def test_every_dialect_keeps_a_429_as_a_refusal_whatever_its_body(dialect: Dialect) -> None:
    request = httpx.Request("POST", "https://api.test/things")
    page = httpx.Response(429, content=b"<html>Too Many Requests</html>", headers=HTML, request=request)
    info = dialect.error_for(page, None)
    assert info is not None
    assert info.rate_limited  # RFC 6585: the request was refused, by the vendor or a proxy alike


# -- item 11: an id cut short, and bodies nested too deep ------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"3f2a9c1e-41b7-4c", b"3f2a9c1e", b"<html>", b"", b"3f2a9c1e-41b7-4c7d-9e1f-0a2b3c4d5e6f0"]
)
async def test_an_ooyala_create_whose_id_is_cut_short_raises_a_decode_error(body: bytes) -> None:
    app = OoyalaSandbox()
    app.inject(Fault("status", path="/campaign", status=200, body=body, headers={"content-type": "text/plain"}))
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url) as pulse:
            with pytest.raises(DecodeError) as caught:
                await pulse.campaigns.create({"name": "Royco"})
            created = await pulse.campaigns.create({"name": "Royco"})  # a whole id is still taken
    assert (caught.value.status, caught.value.method) == (200, "POST")
    assert uuid.UUID(created.id or "")
    assert app.count("POST") == 2
    assert app.violations == []


def nested(codec: str, depth: int) -> bytes:
    if codec == "xml":
        return b"<a>" * depth + b"x" + b"</a>" * depth
    return b'{"a":' * depth + b"[1]" + b"}" * depth if depth else b"[1]"


def depth_of(data: Any) -> int:
    """The nesting of a decoded body, counted without recursion."""
    deepest, stack = 0, [(data, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict | list):
            level += 1
            deepest = max(deepest, level)
            stack.extend((v, level) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


@pytest.mark.parametrize("codec", [JsonCodec(), XmlCodec()], ids=["json", "xml"])
def test_nesting_up_to_the_cap_is_read_and_one_level_more_is_refused(codec: JsonCodec | XmlCodec) -> None:
    kind = "xml" if isinstance(codec, XmlCodec) else "json"
    extra = 1 if kind == "json" else 0  # the innermost [1] is one more JSON level; an XML leaf is text
    for depth in (MAX_DEPTH - 1, MAX_DEPTH):
        assert depth_of(codec.decode(nested(kind, depth - extra))) == depth
    for depth in (MAX_DEPTH + 1, 200_000):
        with pytest.raises(ValueError, match=f"nested deeper than {MAX_DEPTH} levels"):
            codec.decode(nested(kind, depth - extra))


def test_the_json_depth_scan_is_not_fooled_by_brackets_in_strings() -> None:
    codec = JsonCodec(max_depth=2)
    assert codec.decode(b'{"a": "[[[[{{{{", "b": "\\\\", "c": "\\"[[[[", "d": [1]}') == {
        "a": "[[[[{{{{",
        "b": "\\",
        "c": '"[[[[',
        "d": [1],
    }
    with pytest.raises(ValueError, match="nested deeper than 2"):
        codec.decode(b'{"a": "]]]]", "b": [[1]]}')
    with pytest.raises(ValueError, match="nested deeper than 2"):
        codec.decode(b"[[], [[], [[], [1]]]]")  # innermost pairs first, then the run
    with pytest.raises(ValueError, match="malformed JSON"):
        codec.decode(b"[[1}")
    with pytest.raises(ValueError, match="nested deeper than Python's recursion limit"):  # a cap set above it
        JsonCodec(max_depth=5000).decode(b"[" * 4000 + b"]" * 4000)


async def test_a_body_nested_200000_deep_is_a_decode_error_over_a_real_socket() -> None:
    app = PulseProSandbox(speed=60, inspections=3)
    app.inject(Fault("status", path="/inspections/1", status=200, body=nested("json", 200_000), headers=JSON))
    xml_app = OoyalaSandbox()
    ids = xml_app.seed("campaign", 1)
    xml_app.inject(Fault("status", path="/campaign", status=200, body=nested("xml", 200_000), headers=XML))
    async with pulsepro(app) as client:
        with pytest.raises(DecodeError, match="nested deeper"):
            await client.inspections.get(1)
        assert (await client.inspections.get(2)).id == 2
    with serve(xml_app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url) as pulse:
            with pytest.raises(DecodeError, match="nested deeper") as caught:
                await pulse.campaigns.get(ids[0])
            assert len(repr(caught.value)) < 1000
            assert (await pulse.campaigns.get(ids[0])).id == ids[0]


# -- item 5: a Redis that refuses (out of memory) and a Redis outage at login ----------------------------------------


@contextmanager
def out_of_memory(redis_server: RedisServer) -> Iterator[None]:
    """The session's redis-server refuses every write (``maxmemory 1``, ``noeviction``) until the block ends."""
    admin = redis.Redis.from_url(redis_server.url)
    policy = admin.config_get("maxmemory-policy")["maxmemory-policy"]
    admin.config_set("maxmemory-policy", "noeviction")
    admin.config_set("maxmemory", 1)
    try:
        yield
    finally:
        admin.config_set("maxmemory", 0)
        admin.config_set("maxmemory-policy", policy)
        admin.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis-py's asyncio client
@pytest.mark.parametrize("mode", ["fail", "local"])
async def test_a_redis_out_of_memory_is_a_store_error_in_both_modes(redis_server: RedisServer, mode: str) -> None:
    app = PulseProSandbox(speed=60, inspections=3)
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", on_store_error=mode)  # type: ignore[arg-type]
    try:
        async with pulsepro(app, store=store) as client:
            assert (await client.inspections.get(1)).id == 1  # shared mode
            with out_of_memory(redis_server):
                if mode == "fail":
                    with pytest.raises(QuotaStoreUnavailable, match="OutOfMemoryError") as caught:
                        await client.inspections.get(2)
                    assert (caught.value.vendor, caught.value.method) == ("pulsepro", "GET")
                else:
                    assert (await client.inspections.get(2)).id == 2  # metered locally
                    assert client.gate.stats().store == "local"
    finally:
        await store.aclose()
    assert app.count() == (1 if mode == "fail" else 2)  # never an unmetered request
    assert app.violations == []


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("outage", ["down", "out of memory"])
async def test_a_redis_outage_at_login_raises_quota_store_unavailable_itself(
    redis_server: RedisServer, outage: str
) -> None:
    app = AppNexusSandbox()
    url = redis_server.url if outage == "out of memory" else f"redis://127.0.0.1:{free_port()}/0"
    store = RedisStore(url, prefix=f"{uuid.uuid4().hex}:", timeout=0.5)
    try:
        with serve(app) as base_url, out_of_memory(redis_server) if outage == "out of memory" else nullcontext():
            async with AppNexus(
                username="api-user", password="secret", base_url=base_url, store=store, member_key="1"
            ) as an:
                with pytest.raises(QuotaStoreUnavailable) as caught:
                    await an.line_items.get(1)
    finally:
        await store.aclose()
    assert type(caught.value) is QuotaStoreUnavailable  # not an AuthError with it as the cause
    assert "secret" not in str(caught.value) + repr(caught.value)
    assert app.count() == 0
