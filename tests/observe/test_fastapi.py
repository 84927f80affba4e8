"""Fail-fast admission over real sockets: a route answers 503 with Retry-After while bulk pulls hold the quota."""

from __future__ import annotations

from typing import Annotated

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI

from adops_async import BaseClient, Priority, priority
from adops_async.gates import Gate, ReadWriteQuota
from adops_async.integrations.fastapi import add_exception_handlers, adops_lifespan, get_adops, vendor_client
from adops_async.ops import AdOps
from adops_async.sandbox import Request, Response, Sandbox, route, serve

pytestmark = pytest.mark.anyio


class Upstream(Sandbox):
    vendor = "upstream"

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[str] = []

    @route("GET", "/items/{who}")
    async def item(self, request: Request) -> Response:
        self.arrivals.append(request.params["who"])
        return Response.json({"who": request.params["who"]})


def make_app(upstream_url: str) -> FastAPI:
    # 3 reads a minute: the bulk pull spends them, the fourth read could go only a minute later.
    client = BaseClient(base_url=upstream_url, gate=Gate(ReadWriteQuota(reads=3, writes=1, per=60)))
    app = FastAPI(lifespan=adops_lifespan(pulsepro=client))
    add_exception_handlers(app)

    @app.get("/lookup")
    async def lookup(api: Annotated[BaseClient, Depends(vendor_client("pulsepro", max_wait=1))]) -> object:
        return (await api.request("GET", "/items/handler")).data

    @app.get("/bulk")
    async def bulk(n: int, ops: Annotated[AdOps, Depends(get_adops)]) -> int:
        api = ops.clients["pulsepro"]
        with priority(Priority.BULK):
            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(api.request, "GET", f"/items/bulk{i}")
        return n

    return app


async def test_route_answers_503_with_retry_after_while_bulk_pulls_hold_the_quota() -> None:
    upstream = Upstream()
    with serve(upstream) as upstream_url, serve(make_app(upstream_url)) as app_url:
        async with httpx.AsyncClient(base_url=app_url, timeout=30) as http:
            assert (await http.get("/bulk?n=3")).json() == 3
            with anyio.fail_after(5):  # at once, not after the minute the quota would take
                response = await http.get("/lookup")
    assert response.status_code == 503
    retry_after = int(response.headers["retry-after"])
    assert 55 <= retry_after <= 60  # the gate's prediction: when the first bulk read leaves the window
    assert response.json()["vendor"] == "http"
    assert sorted(upstream.arrivals) == ["bulk0", "bulk1", "bulk2"]  # the handler's call was never sent
    assert upstream.violations == []
