"""A strict "N reads per window" server on a real loopback socket (uvicorn, in its own process), and a load driver,
for benchmarks.

It counts every request on arrival over a rolling window and answers 429 + Retry-After when the rule is broken, so
the figures printed are the server's own count, not the client's opinion of itself. It runs in a separate process
so that its timing does not share the client's GIL. ``GET /__stats`` returns its counts (and is not counted).
"""

from __future__ import annotations

import argparse
import collections
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx


class StrictWindowApp:
    def __init__(self, limit: int | None, window: float) -> None:
        self.limit = limit
        self.window = window
        self.arrivals: collections.deque[float] = collections.deque()
        self.served = 0
        self.rejected = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        now = time.monotonic()
        status, body, headers = 200, b'{"ok":true}', [(b"content-type", b"application/json")]
        if scope["path"] == "/__report":
            await self.report(scope, send)
            return
        if scope["path"] == "/__stats":
            body = json.dumps({"served": self.served, "rejected": self.rejected}).encode()
        elif self.limit is None:
            self.served += 1
        else:
            while self.arrivals and self.arrivals[0] <= now - self.window:
                self.arrivals.popleft()
            if len(self.arrivals) >= self.limit:
                self.rejected += 1
                wait = self.arrivals[0] + self.window - now
                status, body = 429, b'{"message":"rate exceeded"}'
                headers.append((b"retry-after", f"{max(wait, 0.001):.3f}".encode()))
            else:
                self.arrivals.append(now)
                self.served += 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def report(self, scope: dict[str, Any], send: Any) -> None:
        """A generated CSV of ``mb`` megabytes, streamed in 64 KiB chunks."""
        mb = int(dict(pair.split("=") for pair in scope["query_string"].decode().split("&") if pair).get("mb", "1"))
        row = b"2024-01-01,advertiser 123,line item 4567,creative 890,1000,12,0.012,3.4500\n"
        chunk = row * (65536 // len(row))
        total = mb * 1024 * 1024
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/csv")]})
        await send(
            {
                "type": "http.response.body",
                "body": b"day,advertiser,line_item,creative,imps,clicks,ctr,cost\n",
                "more_body": True,
            }
        )
        sent = 0
        while sent < total:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            sent += len(chunk)
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def serve(limit: int | None, window: float = 1.0) -> Iterator[str]:
    """Start the server in a subprocess on 127.0.0.1; yield its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [sys.executable, __file__, "--port", str(port), "--window", str(window)]
    if limit is not None:
        args += ["--limit", str(limit)]
    process = subprocess.Popen(args)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(500):
            try:
                httpx.get(f"{base_url}/__stats")
                break
            except httpx.TransportError:
                time.sleep(0.02)
        yield base_url
    finally:
        process.terminate()
        process.wait(5)


async def drive(get_one: Callable[[], Awaitable[object]], requests: int, tasks: int) -> float:
    """Make ``requests`` calls of ``get_one`` from ``tasks`` workers sharing one queue; return the seconds taken."""
    todo = iter(range(requests))

    async def worker() -> None:
        for _ in todo:
            await get_one()

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(worker)
    return time.perf_counter() - start


def stats(base_url: str) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"{base_url}/__stats").json()
    return counts


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--window", type=float, default=1.0)
    options = parser.parse_args()
    app = StrictWindowApp(options.limit, options.window)
    # Keep-alive past any pause of a benchmark that interleaves clients: a server closing an idle connection while
    # the client reuses it fails that request (httpx.ReadError).
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=options.port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=300,
    )
