"""Report downloads land whole or fail typed (issue 16 items 2, 10 and part of 11), over real sockets.

Judged by the sandbox's records (how many downloads were sent, zero violations) and the exceptions' types.
"""

from __future__ import annotations

import pytest

from adops_async.core.client import BaseClient
from adops_async.core.errors import TransportError
from adops_async.sandbox import Fault, Request, Response, Sandbox, route, serve

pytestmark = pytest.mark.anyio


# -- item 11 (part): an error mid-body keeps what had already arrived ----------------------------------------------


class _Reports(Sandbox):
    @route("GET", "/report")
    async def report(self, request: Request) -> Response:
        return Response.text("a,b\n" + "1,2\n" * 50_000, content_type="text/csv")


async def read_body(client: BaseClient) -> None:
    async with client.stream("GET", "/report") as response:
        async for _ in response.aiter_bytes():
            pass


async def test_a_transport_error_mid_stream_carries_the_status_and_request_id() -> None:
    app = _Reports()
    app.inject(Fault("truncate", path="/report", headers={"x-request-id": "req-mid"}))
    with serve(app) as url:
        async with BaseClient(base_url=url) as client:
            with pytest.raises(TransportError) as caught:
                await read_body(client)
    assert (caught.value.status, caught.value.request_id, caught.value.method) == (200, "req-mid", "GET")
    assert str(caught.value.url).endswith("/report")
