"""Shared fixtures: every async test runs on asyncio and on trio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .redis_server import RedisServer, redis_available


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 for the whole session (tests use their own key prefix).

    Under pytest-xdist each worker is a session of its own, so each starts its own server on a port of its own."""
    if not redis_available():
        pytest.fail("redis-server is not installed: .ci/run installs it (apt-get install -y redis-server)")
    with RedisServer() as server:
        yield server
