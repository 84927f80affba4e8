"""A few lines of ASGI for tests: a handler gets (method, path, query, headers, body), returns a response."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        headers = [(k.lower().encode(), v.encode()) for k, v in self.headers.items()]
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            return self.body.encode(), headers
        return json.dumps(self.body).encode(), [(b"content-type", b"application/json"), *headers]


Handler = Callable[[Hit], Awaitable[Answer]]


def app(handler: Handler) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        hit = Hit(
            scope["method"],
            scope["path"],
            parse_qs(scope["query_string"].decode()),
            {k.decode(): v.decode() for k, v in scope["headers"]},
            body,
        )
        answer = await handler(hit)
        payload, headers = answer.encoded()
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return asgi
