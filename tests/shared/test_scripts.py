"""The Lua scripts make the same decisions as the memory meters, step by step, in virtual time.

Both stores are driven through the same sequence of takes, releases and rate headers; RedisStore runs on a real
redis-server with its clock injected (``time=``), so every decision can be compared exactly. asyncio only by nature:
redis-py's asyncio client.
"""

from __future__ import annotations

import math
import uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adops_async.core import steps
from adops_async.core.meters import SlidingLog, WindowLog
from adops_async.core.policies import Kind, Observation, TokenBucket, Turn
from adops_async.core.shared import RedisStore

from ..redis_server import RedisServer

pytestmark = pytest.mark.anyio

examples = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Now:
    """The injected clock: the test moves it."""

    t = 1_000.0

    def __call__(self) -> float:
        return self.t


@examples
@given(
    limit=st.integers(1, 5),
    events=st.lists(st.tuples(st.floats(0, 6, allow_nan=False), st.booleans()), max_size=40),
)
async def test_the_sliding_log_script_decides_as_the_memory_meter(
    redis_server: RedisServer, limit: int, events: list[tuple[float, bool]]
) -> None:
    window, lease = 10.0, 1e6
    meter, log = SlidingLog(limit, window), WindowLog()
    now = Now()
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", time=now)
    key = store.key("log")
    flying: list[str] = []
    try:
        for step, release in events:
            now.t += step
            if release and flying:
                meter.release(log, now.t)
                await store.settle([steps.log_release(key, window=window, token=flying.pop(0))], 1.0)
                continue
            ready = meter.ready_at(log, now.t)
            token = store.token()
            grant = await store.take([steps.log_take(key, limit=limit, window=window, lease=lease, token=token)], 1.0)
            assert grant.admitted == (ready <= now.t)
            if grant.admitted:
                meter.admit(log, now.t)
                flying.append(token)
            elif math.isinf(ready):  # full of requests in flight: until the oldest one's lease runs out
                assert grant.wait > lease / 2
            else:
                assert grant.wait == pytest.approx(ready - now.t, abs=1e-6)
    finally:
        await store.aclose()


headers = st.one_of(
    st.none(),
    st.builds(
        lambda remaining, reset: httpx.Headers({"RateLimit-Remaining": str(remaining), "RateLimit-Reset": str(reset)}),
        st.integers(0, 6),
        st.integers(0, 8),
    ),
)


@examples
@given(
    burst=st.integers(1, 6),
    reset=st.sampled_from(["refill", "full"]),
    events=st.lists(st.tuples(st.floats(0, 3, allow_nan=False), headers), max_size=40),
)
async def test_the_token_bucket_script_decides_as_the_memory_policy(
    redis_server: RedisServer, burst: int, reset: str, events: list[tuple[float, httpx.Headers | None]]
) -> None:
    now = Now()
    store = RedisStore(redis_server.url, prefix=f"{uuid.uuid4().hex}:", time=now)
    local = TokenBucket(6, per=6.0, burst=burst, reset=reset)  # type: ignore[arg-type]
    shared = TokenBucket(6, per=6.0, burst=burst, reset=reset, store=store, key="org")  # type: ignore[arg-type]
    try:
        for step, seen in events:
            now.t += step
            ready = local.ready_at(Kind.READ, now.t)
            turn = Turn(Kind.READ, store.token(), 1.0, now.t)
            grant = await store.take(shared.take_steps(turn), 1.0)
            assert grant.admitted == (ready <= now.t), (ready, now.t)
            if not grant.admitted:
                assert grant.wait == pytest.approx(ready - now.t, abs=1e-6)
                continue
            local.admit(Kind.READ, now.t)
            if seen is not None:  # the response's rate headers, before the next call
                observation = Observation(200, seen, now.t, later=0)
                local.observe(observation)
                turn.seq, turn.seen = grant.seq, observation
                await store.settle(shared.settle_steps(turn), 1.0)
    finally:
        await store.aclose()
