"""FastAPI embedding over real sockets: a handler's call overtakes a bulk pull saturating the same quota."""

from __future__ import annotations

from typing import Annotated

import anyio
import httpx
import pytest
from fastapi import Depends, FastAPI

from adops_async import OoyalaPulse, Priority, priority
from adops_async.extend import BaseClient
from adops_async.gates import Cooldown, Gate, Serial
from adops_async.integrations.fastapi import adops_lifespan, get_adops, vendor_client
from adops_async.ops import AdOps
from adops_async.sandbox import Request, Response, Sandbox, route, serve
from adops_async.sandbox.ooyala import OoyalaSandbox

from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio


class OneAtATime(Sandbox):
    """An upstream that takes 20 ms per request and records who arrived in which order."""

    vendor = "upstream"

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[str] = []

    @route("GET", "/items/{who}")
    async def item(self, request: Request) -> Response:
        self.arrivals.append(request.params["who"])
        await anyio.sleep(0.02)
        return Response.json({"who": request.params["who"]})


def make_app(upstream_url: str) -> FastAPI:
    client = BaseClient(base_url=upstream_url, gate=Gate(Serial(), Cooldown()))
    app = FastAPI(lifespan=adops_lifespan(pulsepro=client))

    @app.get("/lookup")
    async def lookup(api: Annotated[BaseClient, Depends(vendor_client("pulsepro"))]) -> object:
        return (await api.request("GET", "/items/handler")).data

    @app.get("/bulk")
    async def bulk(n: int, ops: Annotated[AdOps, Depends(get_adops)]) -> int:
        api = ops.clients["pulsepro"]
        # NORMAL, not BULK: the handler must overtake it because its dependency made it INTERACTIVE
        with priority(Priority.NORMAL):
            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(api.request, "GET", f"/items/bulk{i}")
        return n

    return app


async def test_handler_call_overtakes_a_saturating_bulk_pull() -> None:
    upstream = OneAtATime()
    with serve(upstream) as upstream_url, serve(make_app(upstream_url)) as app_url:
        async with httpx.AsyncClient(base_url=app_url, timeout=30) as http, anyio.create_task_group() as tg:
            tg.start_soon(http.get, "/bulk?n=40")
            with anyio.fail_after(10):
                # The upstream runs on another thread's loop, so no event can be shared: poll its record.
                while len(upstream.arrivals) < 5:  # noqa: ASYNC110 - the bulk pull is saturating the serial quota
                    await anyio.sleep(0.005)
            seen_before = len(upstream.arrivals)
            response = await http.get("/lookup")
    assert response.json() == {"who": "handler"}
    position = upstream.arrivals.index("handler")
    assert position - seen_before <= 1  # waited for the one bulk request in flight at most
    assert len(upstream.arrivals) == 41
    assert upstream.violations == []


async def test_lifespan_refuses_unknown_vendors_and_missing_setup() -> None:
    with pytest.raises(TypeError, match="unknown vendor"):
        adops_lifespan(nosuch={})
    app = FastAPI()

    @app.get("/x")
    async def x(ops: Annotated[AdOps, Depends(get_adops)]) -> int:
        return len(ops.clients)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
        with pytest.raises(RuntimeError, match="adops_lifespan is not installed"):
            await http.get("/x")


async def test_workers_of_one_service_share_the_vendor_slot_through_redis(redis_server: RedisServer) -> None:
    """Two workers of one service (two apps, each on its own event loop) call Ooyala, whose rule is one request in
    flight per credentials: with ``redis=`` they take turns; each on its own gate, they would overlap."""
    upstream = OoyalaSandbox(latency=0.01)
    ids = upstream.seed("campaign", 10)

    def worker(url: str) -> FastAPI:
        settings = {"api_key": "sandbox-key", "base_url": url}
        app = FastAPI(lifespan=adops_lifespan(redis=redis_server.url, ooyala=settings))

        @app.get("/campaigns/{id}")
        async def campaign(id: str, pulse: Annotated[OoyalaPulse, Depends(vendor_client("ooyala"))]) -> object:
            return (await pulse.campaigns.get(id)).id

        return app

    with serve(upstream) as url, serve(worker(url)) as first, serve(worker(url)) as second:
        async with httpx.AsyncClient() as http:

            async def get(base: str, id: str) -> None:
                response = await http.get(f"{base}/campaigns/{id}")
                assert response.json() == id

            async with anyio.create_task_group() as tg:
                for id in ids:
                    tg.start_soon(get, first, id)
                    tg.start_soon(get, second, id)
    assert upstream.count("GET") == 20
    assert upstream.violations == []
