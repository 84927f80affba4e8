"""In-process ASGI for tests that need no socket: a handler as an app (it gets the request, returns an
:class:`Answer`), and a vendor sandbox on a virtual clock (:func:`in_process`).

Built on the sandbox base (:class:`adops_async.sandbox.Sandbox`), which already turns ASGI into requests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adops_async.gates import Clock
from adops_async.sandbox import Request, Response, Sandbox

Hit = Request


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.body is None:
            return Response(self.status, b"", headers)
        if isinstance(self.body, bytes):
            return Response(self.status, self.body, headers)
        if isinstance(self.body, str):
            return Response(self.status, self.body.encode(), headers)
        return Response(self.status, json.dumps(self.body).encode(), {"content-type": "application/json", **headers})


Handler = Callable[[Hit], Awaitable[Answer]]


class _HandlerApp(Sandbox):
    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self._handler = handler

    async def handle(self, request: Request) -> Response:
        return (await self._handler(request)).response()


def app(handler: Handler) -> Sandbox:
    return _HandlerApp(handler)


class _VirtualVendorTime:
    """A sandbox clock read from a :class:`~adops_async.gates.VirtualClock`: vendor seconds are virtual seconds."""

    speed = 1.0

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now()

    def real(self, vendor_seconds: float) -> float:
        return vendor_seconds


def in_process(sandbox: Sandbox, clock: Clock) -> httpx.AsyncClient:
    """An HTTP client that hands each request to ``sandbox`` in this task (no socket), with the sandbox living on
    ``clock``: give the vendor client the same clock, and its waits and the sandbox's rule share one virtual time.

    For rules that are arithmetic on the sandbox's clock (buckets, windows); what needs a socket (resets, slow bodies,
    concurrency at the server) stays on :func:`adops_async.sandbox.serve`. Not for calls that hop to worker threads
    (report downloads spool to a file through them): the clock jumps while a thread works, since only clock waits
    are virtual.
    """
    sandbox.clock = _VirtualVendorTime(clock)  # type: ignore[assignment]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox))  # type: ignore[arg-type]
