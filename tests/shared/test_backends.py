"""A shared gate on trio says plainly that RedisStore is asyncio-only, rather than failing somewhere in redis-py."""

from __future__ import annotations

import pytest

from adops_async import RedisStore
from adops_async.gates import Gate, Kind, ReadWriteQuota

from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


async def test_a_redis_store_on_trio_raises_a_clear_error(redis_server: RedisServer) -> None:
    gate = Gate(ReadWriteQuota(store=RedisStore(redis_server.url), key="member"))
    with pytest.raises(RuntimeError, match="asyncio only"):
        async with gate.slot(Kind.READ):
            pass
