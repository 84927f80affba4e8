"""PulsePro client against its strict sandbox: auth, typed errors, resources, paging, 503 retries."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from adops_async import AuthError, DecodeError, NotFound, PermissionDenied, ServerError, ValidationFailed, VendorModel
from adops_async.core.retry import Failure
from adops_async.gates import VirtualClock
from adops_async.sandbox import serve
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.vendors.pulsepro import (
    CorrectiveAction,
    Inspection,
    PulsePro,
    PulseProDialect,
    spike_retry,
)

from ..asgi import in_process

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def running(app: PulseProSandbox, **options: Any) -> AsyncIterator[PulsePro]:
    with serve(app) as url:
        options.setdefault("api_key", "test-key")
        async with PulsePro(base_url=f"{url}/api/v1", clock=app.client_clock(), **options) as client:
            yield client


async def test_default_auth_is_api_key_header_and_variants_are_configurable() -> None:
    app = PulseProSandbox(inspections=5)
    async with running(app) as client:
        assert [r.name for r in await client.roles.list().collect()] == ["Admin", "Inspector", "Viewer"]
    for header, scheme in (("Authorization", "Bearer"), ("X-API-Key", None)):
        variant = PulseProSandbox(inspections=5, auth_header=header, auth_scheme=scheme)
        async with running(variant, auth_header=header, auth_scheme=scheme) as client:
            assert (await client.inspections.get(3)).id == 3
        assert variant.count("GET") == 1
        assert variant.records[0].account == "org-1"


async def test_401_and_403_are_typed_never_retried_and_never_show_the_key() -> None:
    app = PulseProSandbox(inspections=5, keys={"test-key": "org-1", "viewer-key": "org-1"}, read_only=["viewer-key"])
    async with running(app, api_key="wrong-secret-key") as client:
        with pytest.raises(AuthError) as caught:
            await client.inspections.get(1)
    assert caught.value.status == 401
    assert caught.value.code == "invalid_api_key"
    assert "wrong-secret-key" not in str(caught.value) + repr(caught.value) + (caught.value.body or "")
    async with running(app, api_key="viewer-key") as client:
        assert (await client.inspections.get(1)).id == 1
        with pytest.raises(PermissionDenied) as denied:
            await client.corrective_actions.create({"title": "x"})
    assert denied.value.code == "permission_denied"
    assert [r.status for r in app.records] == [401, 200, 403]  # each once: no retry


async def test_error_bodies_become_typed_errors_with_the_vendor_code() -> None:
    app = PulseProSandbox(inspections=5)
    async with running(app) as client:
        with pytest.raises(ValidationFailed) as invalid:
            await client.corrective_actions.create({"status": "bogus"})
        with pytest.raises(NotFound) as missing:
            await client.inspections.get(999)
    assert invalid.value.code == "validation_error"
    assert set(invalid.value.fields) == {"title", "status"}
    assert missing.value.code == "not_found"
    assert missing.value.vendor == "pulsepro"


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://pulse.example/api/v1/x")
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_dialect_reads_error_objects_even_in_a_200_and_503_means_not_acted() -> None:
    dialect = PulseProDialect()
    assert dialect.error_for(_response(200, {"results": [], "error": {}}), {"results": [], "error": {}}) is None
    body = {"error": {"code": "invalid_filter", "message": "unknown filter 'colour'"}}
    info = dialect.error_for(_response(200, body), body)
    assert info is not None
    assert info.error_class is ValidationFailed
    assert info.code == "invalid_filter"
    info = dialect.error_for(_response(503, {"error": "busy"}), {"error": "busy"})
    assert info is not None
    assert info.error_class is ServerError
    assert "busy" in info.message
    assert not info.rate_limited  # not PulsePro's error object: a proxy's 503 may come after the write went through
    spike = {"error": {"code": "service_unavailable", "message": "spike"}}
    info = dialect.error_for(_response(503, spike), spike)
    assert info is not None
    assert (info.error_class, info.rate_limited) == (ServerError, True)  # the vendor's own: nothing was done
    info = dialect.error_for(_response(429, {}, {"Retry-After": "7"}), {})
    assert info is not None
    assert info.rate_limited
    assert info.retry_after == 7


async def test_resources_are_typed_keep_extra_fields_and_do_crud() -> None:
    app = PulseProSandbox(inspections=50)
    async with running(app) as client:
        inspection = await client.inspections.get(7)
        assert isinstance(inspection, Inspection)
        assert inspection.location_id == 8
        assert inspection.model_extra == {"checklist_version": 3}  # unknown fields kept
        assert inspection.to_payload()["checklist_version"] == 3
        created = await client.corrective_actions.create(CorrectiveAction(title="Clean freezer", inspection_id=7))
        assert isinstance(created, CorrectiveAction)
        assert created.status == "open"
        assert created.id == 41
        patched = await client.corrective_actions.patch(41, {"status": "in_progress"})
        assert patched.title == "Clean freezer"
        assert patched.status == "in_progress"
        replaced = await client.corrective_actions.update(41, {"title": "Replace seal"})
        assert replaced.status == "open"
        assert [e["event"] for e in replaced.timeline or []][-1] == "updated"
        await client.corrective_actions.delete(41)
        assert not await client.corrective_actions.exists(41)
        assert len(await client.locations.list().collect()) == 8
        assert (await client.users.get(2)).email == "user2@example.com"
        scores = await client.analytics.scores().collect()
        assert len(scores) == 8
        assert sum(s.inspections or 0 for s in scores) == 50
        trends = await client.analytics.trends(location_id=1).collect()
        assert trends
        assert all(t.score is not None for t in trends)
        # a collection the client does not declare is one line
        roles = await client.resource("roles").list().collect()
        assert all(type(r) is VendorModel for r in roles)
        assert roles[0].model_extra == {"id": 1, "name": "Admin"}


async def test_page_paging_follows_next_and_offset_paging_is_an_option() -> None:
    app = PulseProSandbox(inspections=95)
    async with running(app, page_size=20) as client:
        items = await client.inspections.list(status="completed").collect()
    assert [i.id for i in items] == list(range(2, 96, 4))
    async with running(app, page_size=20) as client:
        ids = [i.id for i in await client.inspections.list().collect()]
    assert ids == list(range(1, 96))
    pages = [r for r in app.records if r.path.endswith("/inspections")]
    assert len(pages) == 2 + 5
    async with running(app, paging="offset", page_size=30) as client:
        assert [i.id for i in await client.inspections.list().collect()] == list(range(1, 96))


def _mock(pages: Callable[[httpx.Request], dict[str, Any]]) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages(request))

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_without_next_links_pages_count_up_until_count_and_foreign_links_are_refused() -> None:
    seen: list[str] = []

    def no_links(request: httpx.Request) -> dict[str, Any]:
        seen.append(str(request.url))
        page = int(request.url.params["page"])
        return {"count": 5, "results": [{"id": n} for n in range(2 * page - 1, min(2 * page, 5) + 1)]}

    async with PulsePro(api_key="k", base_url="https://pulse.example/api/v1", http=_mock(no_links)) as client:
        client.paging = type(client.paging)(size=2, base_url=client.base_url)  # type: ignore[call-arg]
        assert [r.id for r in await client.resource("things").list().collect()] == [1, 2, 3, 4, 5]
    assert [httpx.URL(u).params["page"] for u in seen] == ["1", "2", "3"]

    def foreign(request: httpx.Request) -> dict[str, Any]:
        return {"count": 9, "results": [{"id": 1}], "next": "https://evil.example/steal?page=2"}

    async with PulsePro(api_key="k", base_url="https://pulse.example/api/v1", http=_mock(foreign)) as client:
        with pytest.raises(DecodeError, match="another origin"):
            await client.inspections.list().collect()


def test_spike_retry_spans_minutes_retries_unacted_writes_and_stops_at_the_deadline() -> None:
    policy = spike_retry(deadline=300, rng=random.Random(1))
    spike = Failure(retry_safe=False, status=503, not_acted=True)  # a POST turned away by a spike
    elapsed, attempt = 0.0, 1
    while (wait := policy.delay(spike, attempt=attempt, elapsed=elapsed)) is not None:
        elapsed, attempt = elapsed + wait, attempt + 1
    assert 200 < elapsed <= 300
    assert attempt > 8
    timed_out_post = Failure(retry_safe=False, transport_error=httpx.ReadTimeout("slow"))
    assert policy.delay(timed_out_post, attempt=1, elapsed=0) is None  # it may have been created: never resent


async def test_a_storm_longer_than_the_deadline_raises_a_typed_error() -> None:
    # In process on a virtual clock: two vendor minutes of retries, each attempt answered at once (on a real socket at
    # speed 200 the deadline was 0.6 real s, and a loaded machine left the last attempt no time of its own).
    app = PulseProSandbox(inspections=5)
    async with (
        VirtualClock().running() as clock,
        PulsePro(
            api_key="test-key",
            base_url="http://pulsepro.test/api/v1",
            http=in_process(app, clock),
            clock=clock,
            deadline=120,
        ) as client,
    ):
        app.spike(10_000)
        with pytest.raises(ServerError) as caught:
            await client.inspections.get(1)
    assert caught.value.status == 503
    assert caught.value.code == "service_unavailable"
    attempts = [r.at for r in app.records]
    assert len(attempts) >= 3
    assert attempts[-1] - attempts[0] <= 120


def test_sandbox_error_bodies_use_the_error_key() -> None:
    body = json.loads(PulseProSandbox(inspections=1).not_found(_fake_request()).body)
    assert set(body) == {"error"}
    assert body["error"]["code"] == "not_found"


def _fake_request() -> Any:
    from adops_async.sandbox import Request

    return Request("GET", "/nowhere", [], {}, b"")
