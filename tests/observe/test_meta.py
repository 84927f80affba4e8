"""Response metadata on what the library returns, and observers given to AdOps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adops_async import AdOps, PulsePro, VirtualClock, response_meta
from adops_async.core.reports import ReportJob
from adops_async.observe import CallEnded, Event
from adops_async.sandbox import Fault
from adops_async.sandbox.pulsepro import PulseProSandbox

pytestmark = pytest.mark.anyio


def settings(sandbox: PulseProSandbox, clock: VirtualClock) -> dict[str, Any]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox))  # type: ignore[arg-type]
    return {"api_key": "test-key", "base_url": "http://pulse.test/api/v1", "http": http, "clock": clock}


async def test_models_and_pages_tell_their_request_id_attempts_and_gate_wait() -> None:
    sandbox = PulseProSandbox(inspections=30, page_size=10)
    sandbox.inject(Fault("status", status=503, headers={"retry-after": "3", "x-request-id": "r-503"}, path="/7"))
    async with VirtualClock().running() as clock, PulsePro(**settings(sandbox, clock), page_size=10) as client:
        client.gate.cool_down(2.0, reason="test")
        item = await client.inspections.get(7)
        pages = [page async for page in client.inspections.list().pages()]
    meta = response_meta(item)
    assert meta is not None
    assert (meta.vendor, meta.method, meta.path, meta.status) == ("pulsepro", "GET", "/inspections/{id}", 200)
    assert (meta.attempts, meta.gate_wait) == (2, 2.0)  # the 503's own pause was slept by the retry, not the gate
    assert meta.response is None
    assert [response_meta(p).attempts for p in pages] == [1, 1, 1]  # type: ignore[union-attr]
    assert {response_meta(i).path for p in pages for i in p.items} == {"/inspections"}  # type: ignore[union-attr]
    assert item == item.model_copy()  # equality and serialisation are untouched
    assert "meta" not in item.model_dump()


async def test_a_report_job_tells_the_response_that_created_it() -> None:
    class Job(ReportJob):
        def __init__(self, reply_id: str) -> None:
            self.id = reply_id

        async def rows(self) -> AsyncIterator[dict[str, Any]]:
            yield {}

    sandbox = PulseProSandbox(inspections=3)
    async with VirtualClock().running() as clock, PulsePro(**settings(sandbox, clock)) as client:
        await client.inspections.get(1)
        job = Job("42")
    meta = response_meta(job)
    assert meta is not None
    assert (meta.path, meta.attempts) == ("/inspections/{id}", 1)
    assert response_meta(object()) is None


async def test_adops_observers_reach_clients_built_and_given_and_leave_given_ones_after() -> None:
    heard: list[Event] = []
    async with VirtualClock().running() as clock:
        async with AdOps(pulsepro=settings(PulseProSandbox(inspections=3), clock), observers=[heard.append]) as ops:
            await ops.clients["pulsepro"].inspections.get(1)  # type: ignore[attr-defined]
        given = PulsePro(**settings(PulseProSandbox(inspections=3), clock))
        async with given:
            async with AdOps(pulsepro=given, observers=[heard.append]) as ops:
                await given.inspections.get(2)
            assert given.observers.observers == ()
            await given.inspections.get(3)  # after AdOps closed: not heard
    ended = [e for e in heard if isinstance(e, CallEnded)]
    assert [(e.vendor, e.status) for e in ended] == [("pulsepro", 200), ("pulsepro", 200)]
