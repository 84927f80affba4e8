"""A handler as an ASGI app, for in-process core tests: it gets the request, returns an :class:`Answer`.

Built on the sandbox base (:class:`adops_async.sandbox.Sandbox`), which already turns ASGI into requests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

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
