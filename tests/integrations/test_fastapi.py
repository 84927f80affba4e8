"""FastAPI embedding over real sockets: a handler's call overtakes a bulk pull saturating the same quota."""

from __future__ import annotations

import threading
from typing import Annotated

import anyio
import anyio.to_thread
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
from ..waiting import until

pytestmark = pytest.mark.anyio


class OneAtATime(Sandbox):
    """An upstream that records who arrived in which order, and holds the first request until the test releases it.

    It runs on uvicorn's loop in another thread, so the hold is a :class:`threading.Event`, waited in a worker thread.
    """

    vendor = "upstream"

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[str] = []
        self.release = threading.Event()

    @route("GET", "/items/{who}")
    async def item(self, request: Request) -> Response:
        self.arrivals.append(request.params["who"])
        if len(self.arrivals) == 1:
            await anyio.to_thread.run_sync(self.release.wait)
        return Response.json({"who": request.params["who"]})


def make_app(upstream_url: str) -> tuple[FastAPI, BaseClient]:
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

    return app, client


async def test_handler_call_overtakes_a_saturating_bulk_pull() -> None:
    upstream = OneAtATime()
    lookup: dict[str, object] = {}
    with serve(upstream) as upstream_url:
        app, client = make_app(upstream_url)
        with serve(app) as app_url:
            async with httpx.AsyncClient(base_url=app_url, timeout=30) as http:

                async def call_lookup() -> None:
                    lookup.update((await http.get("/lookup")).json())

                try:
                    async with anyio.create_task_group() as tg:
                        # The app runs on another thread's loop, so no event can be shared: poll the state of its
                        # gate and of the upstream (tests/waiting.py), never the time.
                        tg.start_soon(http.get, "/bulk?n=40")
                        await until(lambda: len(upstream.arrivals) == 1 and client.gate.waiting == 39)
                        tg.start_soon(call_lookup)
                        await until(lambda: client.gate.waiting == 40)  # queued behind the 39 bulk calls
                        upstream.release.set()
                finally:
                    upstream.release.set()  # never leave the upstream's thread waiting
    assert lookup == {"who": "handler"}
    # The handler's call went right after the one bulk request in flight, ahead of the 39 queued before it.
    assert upstream.arrivals[:2] == ["bulk0", "handler"]
    assert sorted(upstream.arrivals) == sorted(["handler", *(f"bulk{i}" for i in range(40))])
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
