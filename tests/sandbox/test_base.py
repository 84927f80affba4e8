"""The sandbox base over a real socket: routing, records, faults."""

from __future__ import annotations

import httpx
import pytest

from adops_async.sandbox import Fault, Request, Response, Sandbox, route, serve

pytestmark = pytest.mark.anyio


class Echo(Sandbox):
    vendor = "echo"

    @route("GET", "/things/{id}")
    async def thing(self, request: Request) -> Response:
        return Response.json({"id": request.params["id"], "q": request.arg("q")})


async def test_routes_records_and_faults_on_a_real_socket() -> None:
    app = Echo(speed=60)
    with serve(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as http:
            assert (await http.get("/things/7?q=x")).json() == {"id": "7", "q": "x"}
            assert (await http.get("/nothing")).status_code == 404
            app.inject(Fault("status", status=503, count=2))
            assert [(await http.get("/things/1")).status_code for _ in range(3)] == [503, 503, 200]
            app.inject(Fault("bad_json"))
            with pytest.raises(ValueError, match="Expecting"):
                (await http.get("/things/1")).json()
            app.inject(Fault("reset"))
            with pytest.raises(httpx.TransportError):
                await http.get("/things/1")
            app.inject(Fault("truncate"))
            with pytest.raises(httpx.TransportError):
                await http.get("/things/1")
    assert app.count("GET", "/things") == 7
    assert app.clock.now() > 0
