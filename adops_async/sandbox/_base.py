"""The ground every vendor sandbox stands on: a tiny ASGI router, a compressible clock, a record of every request
and every rule violation, fault injection, and a uvicorn runner on 127.0.0.1.

A sandbox is strict on purpose: it enforces the vendor's request rule exactly and writes down each breach in
:attr:`Sandbox.violations`, so a test (or ``adops demo``) can prove a client kept the rule by asking the server.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio

from ..core.clock import ScaledClock

__all__ = [
    "Fault",
    "Request",
    "RequestRecord",
    "Response",
    "Sandbox",
    "SandboxClock",
    "Violation",
    "route",
    "serve",
]


class SandboxClock:
    """Vendor time running ``speed`` times faster than real time, so a minute of quota can pass in a second."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        """Vendor seconds per real second."""
        self._origin = time.monotonic()

    def now(self) -> float:
        """Vendor seconds since the sandbox started."""
        return (time.monotonic() - self._origin) * self.speed

    def real(self, vendor_seconds: float) -> float:
        """How many real seconds ``vendor_seconds`` last."""
        return vendor_seconds / self.speed


@dataclass
class Request:
    """A request as a sandbox handler sees it (the handlers of :func:`route`)."""

    method: str
    """The HTTP method, upper case."""
    path: str
    """The URL path, without the query."""
    query: list[tuple[str, str]]
    """The query parameters in order, repeats kept."""
    headers: dict[str, str]
    """The headers, names in lower case."""
    body: bytes
    """The body as received."""
    params: dict[str, str] = field(default_factory=dict)
    """Path parameters captured by the route."""

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first query parameter called ``name``, or ``default``."""
        for key, value in self.query:
            if key == name:
                return value
        return default

    def json(self) -> Any:
        """The body decoded as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None


@dataclass
class Response:
    """What a sandbox handler answers."""

    status: int = 200
    """The HTTP status."""
    body: bytes = b""
    """The body as sent."""
    headers: dict[str, str] = field(default_factory=dict)
    """The headers to send."""

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        """``data`` as a JSON body."""
        return cls(status, json.dumps(data).encode(), {"content-type": "application/json", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Response:
        """``text`` as a body of ``content_type``."""
        return cls(status, text.encode(), {"content-type": content_type})


@dataclass(frozen=True)
class RequestRecord:
    """One request a sandbox received (:attr:`Sandbox.records`): when, what, its answer's status and whose it was."""

    at: float
    """Vendor time of arrival."""
    method: str
    """The HTTP method."""
    path: str
    """The URL path."""
    status: int
    """The status the sandbox answered."""
    account: str | None
    """The account the request counted against (:meth:`Sandbox.account_of`), or ``None``."""


@dataclass(frozen=True)
class Violation:
    """A request that broke the vendor's rule (the sandbox refused it, as the vendor would)."""

    at: float
    """Vendor time it happened."""
    rule: str
    """The rule broken, e.g. ``one-request-at-a-time``, ``quota-reads``, ``login-rate``."""
    detail: str
    """What the request did, in a sentence."""
    account: str | None = None
    """The account whose rule it was, or ``None``."""


@dataclass
class Fault:
    """One injected failure, applied to the next ``count`` requests whose path contains ``path``.

    kinds: ``status`` (answer ``status`` with ``body``/``headers``), ``reset`` (drop the connection, no response),
    ``slow`` (send the body in pieces, ``delay`` real seconds apart), ``truncate`` (promise more bytes than sent),
    ``bad_json`` (a 200 with a body that is not JSON), ``endless`` (a 200 whose chunked body repeats ``body`` every
    ``delay`` real seconds and never ends; the sandbox stops after a minute), ``cut`` (the handler's answer without
    its Content-Length, ended cleanly after ``fraction`` of its body, as a proxy that lost the rest would). A reset
    arrives after the status line, as a connection dropped mid-response: the vendor may have acted. For the kinds that
    send the handler's answer (``slow``, ``truncate``, ``cut``), ``headers`` are added to it (a request id, say).
    A status fault gives any body at all: ``Fault("status", status=200, body=b"<html>...", headers={"content-type":
    "text/html"})`` is a proxy's page on a 200, and a body with invalid UTF-8 is bytes like any other.
    """

    kind: str
    """``status``, ``reset``, ``slow``, ``truncate``, ``bad_json``, ``endless`` or ``cut``."""
    count: int = 1
    """How many matching requests it applies to."""
    path: str = ""
    """A part of the path a request must contain to match (empty: any request)."""
    status: int = 503
    """The status a ``status`` fault answers."""
    body: bytes = b""
    """The body a ``status`` fault answers, or that an ``endless`` one repeats."""
    headers: dict[str, str] = field(default_factory=dict)
    """Headers of a ``status`` answer, or added to the handler's answer."""
    delay: float = 0.05
    """Real seconds between the pieces of a ``slow`` or ``endless`` body."""
    fraction: float = 0.5
    """How much of the body a ``cut`` sends."""


Handler = Callable[[Any, Request], Awaitable[Response]]


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Declare a handler: ``@route("GET", "/line-item")``; ``{name}`` captures a path segment."""

    def mark(handler: Handler) -> Handler:
        routes = handler.__dict__.setdefault("_routes", [])
        routes.append((method.upper(), pattern))
        return handler

    return mark


class Sandbox:
    """Base ASGI app: routes declared with :func:`route` on methods of a subclass.

    Subclasses set :attr:`vendor`, implement handlers, call :meth:`violation` when a rule is broken, and may
    override :meth:`account_of` (which account a request counts against).
    """

    vendor = "sandbox"
    """The vendor this sandbox plays."""

    def __init__(self, *, speed: float = 1.0) -> None:
        self.clock = SandboxClock(speed)
        """The sandbox's vendor time."""
        self.records: list[RequestRecord] = []
        """Every request received, in order of arrival."""
        self.violations: list[Violation] = []
        """Every request that broke the vendor's rule, in order."""
        self.faults: list[Fault] = []
        """Injected failures still to apply."""
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        for klass in reversed(type(self).__mro__):
            for value in vars(klass).values():
                for method, pattern in getattr(value, "_routes", ()):
                    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
                    self._routes.append((method, regex, value))

    def client_clock(self) -> ScaledClock:
        """A clock for clients of this sandbox: it runs at the sandbox's speed, so headers in vendor seconds
        (``Retry-After``, ``RateLimit-Reset``) and the vendor's own quotas (``per=60``) mean the same to both sides."""
        return ScaledClock(self.clock.speed)

    # -- for subclasses ----------------------------------------------------------------------------------------

    def account_of(self, request: Request) -> str | None:
        """The account a request counts against; by default none."""
        return None

    def violation(self, rule: str, detail: str, account: str | None = None) -> None:
        """Record that a request broke ``rule`` (now, in vendor time)."""
        self.violations.append(Violation(self.clock.now(), rule, detail, account))

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to the next matching requests."""
        self.faults.append(fault)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests recorded, optionally by method and path prefix."""
        return sum(
            1
            for r in self.records
            if (method is None or r.method == method) and (path is None or r.path.startswith(path))
        )

    async def handle(self, request: Request) -> Response:
        """The answer of the handler whose route matches, or :meth:`not_found`."""
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match and method == request.method:
                request.params = match.groupdict()
                return await handler(self, request)
        return self.not_found(request)

    def not_found(self, request: Request) -> Response:
        """The answer to a request no route matches: a JSON 404."""
        return Response.json({"error": f"no route {request.method} {request.path}"}, 404)

    # -- ASGI --------------------------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                done = "startup" if message["type"] == "lifespan.startup" else "shutdown"
                await send({"type": f"lifespan.{done}.complete"})
                if done == "shutdown":
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Request(
            scope["method"],
            scope["path"],
            parse_qsl(scope["query_string"].decode(), keep_blank_values=True),
            {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body,
        )
        fault = self._take_fault(request)
        if fault is not None and fault.kind == "reset":
            # ASGI cannot close a socket unanswered: promise a body, then drop the connection before sending it.
            self.records.append(RequestRecord(self.clock.now(), request.method, request.path, 0, None))
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]})
            raise ConnectionResetError("sandbox fault: connection reset")
        response = await self.handle(request) if fault is None or fault.kind != "status" else None
        if fault is not None and fault.kind == "status":
            response = Response(fault.status, fault.body, dict(fault.headers))
        elif fault is not None and fault.kind == "bad_json":
            response = Response(200, b'{"truncated": ', {"content-type": "application/json"})
        elif fault is not None and response is not None:
            response = Response(response.status, response.body, {**response.headers, **fault.headers})
            if fault.kind == "cut":
                # Without a Content-Length the server frames the body itself (chunked) and ends it cleanly: the
                # client sees a whole message, and only the body's own shape can tell it was cut.
                response.headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
                response.body = response.body[: int(len(response.body) * fault.fraction)]
        assert response is not None
        self.records.append(
            RequestRecord(self.clock.now(), request.method, request.path, response.status, self.account_of(request))
        )
        headers = [(k.lower().encode(), v.encode()) for k, v in response.headers.items()]
        if fault is not None and fault.kind == "truncate":
            headers.append((b"content-length", str(len(response.body) + 100).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if fault is not None and fault.kind == "slow":
            step = max(1, len(response.body) // 10)
            pieces = [response.body[start : start + step] for start in range(0, len(response.body), step)]
            if await _until_disconnect(receive, _trickle(send, pieces, fault.delay)):
                await send({"type": "http.response.body", "body": b""})
            return
        if fault is not None and fault.kind == "truncate":
            await send({"type": "http.response.body", "body": response.body, "more_body": True})
            raise ConnectionResetError("sandbox fault: truncated body")
        if fault is not None and fault.kind == "endless":
            with anyio.move_on_after(60):
                await _until_disconnect(receive, _trickle(send, itertools.repeat(fault.body), fault.delay))
            raise ConnectionResetError("sandbox fault: an endless body, ended")
        if fault is not None and fault.kind == "cut":  # streamed, so no framing adds a Content-Length
            await send({"type": "http.response.body", "body": response.body, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.body", "body": response.body})

    def _take_fault(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if fault.path in request.path and fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None


async def _trickle(send: Any, pieces: Iterable[bytes], delay: float) -> None:
    for piece in pieces:
        await send({"type": "http.response.body", "body": piece, "more_body": True})
        await anyio.sleep(delay)


async def _until_disconnect(receive: Any, sending: Awaitable[None]) -> bool:
    """Run ``sending`` unless the client leaves first (uvicorn ignores sends after a disconnect, so a slow or endless
    body would otherwise run on for nobody); ``True`` when it ran to its end."""
    finished = False
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        group.start_soon(watch)
        await sending
        finished = True
        group.cancel_scope.cancel()
    return finished


@contextmanager
def serve(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a real socket in a background thread; yield its base URL.

    ``port=0`` picks a free port. Needs ``uvicorn`` (the ``sandbox`` extra). The host's logging is left as it is:
    a sandbox's own uvicorn log (startup lines, access lines, the tracebacks of injected faults) is dropped by a
    filter on uvicorn's loggers that only matches records from sandbox threads, so a uvicorn serving the host's app
    in the same process keeps its log.
    """
    import logging

    import uvicorn

    for name in ("uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logging.getLogger(name).addFilter(_quiet_sandbox_threads)  # once: addFilter ignores a filter it holds
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it every small response waits ~40 ms for a delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    # No log_config, no log_level, access_log left on: any of them makes uvicorn reconfigure its global loggers
    # (dictConfig, setLevel, or dropping the access log's handlers), which would silence the host's uvicorn.
    config = uvicorn.Config(app, log_config=None, log_level=None, lifespan="on", backlog=2048)
    server = _server_class()(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"{_SANDBOX_THREAD}{bound_port}"
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.005)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.stop()
        thread.join(10)
        sock.close()


@functools.cache
def _server_class() -> Any:
    """uvicorn's ``Server``, stopped as soon as :func:`serve` exits.

    uvicorn's own main loop looks at ``should_exit`` every 0.1 s and its shutdown then pauses 0.1 s more, so every
    sandbox took 0.1-0.2 s to stop (the test suite runs hundreds). This one sleeps on an event that ``stop()`` sets
    from the calling thread (still waking once a second for what uvicorn does on its tick: the ``Date`` header), and
    shuts down as uvicorn does without the fixed pause.
    """
    import asyncio

    import uvicorn

    class StoppableServer(uvicorn.Server):
        _loop: asyncio.AbstractEventLoop | None = None
        _wake: asyncio.Event | None = None

        async def main_loop(self) -> None:
            self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
            while not await self.on_tick(0):  # a tick count of 0 refreshes the Date header
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 1.0)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # uvicorn's steps: stop listening, ask each connection to close once its response is out, wait for the
            # connections and their tasks to end, then the app's lifespan shutdown.
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            for connection in list(self.server_state.connections):
                connection.shutdown()
            # uvicorn's sets of connections and tasks have no event to wait on.
            while self.server_state.connections or self.server_state.tasks:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            for server in self.servers:
                await server.wait_closed()
            await self.lifespan.shutdown()

        def stop(self) -> None:
            self.should_exit = True
            loop, wake = self._loop, self._wake
            if loop is not None and wake is not None:
                with contextlib.suppress(RuntimeError):  # the loop has already ended
                    loop.call_soon_threadsafe(wake.set)

    return StoppableServer


_SANDBOX_THREAD = "sandbox:"


def _quiet_sandbox_threads(record: Any) -> bool:
    """A logging filter: drop what a sandbox's uvicorn logs from its own thread, keep everything else."""
    return not str(record.threadName).startswith(_SANDBOX_THREAD)
