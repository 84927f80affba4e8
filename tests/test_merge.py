"""Several sources as one stream: order of arrival, backpressure, error policies, cancellation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest

from adops_async import VirtualClock
from adops_async._merge import merge

pytestmark = pytest.mark.anyio


def counting(clock: VirtualClock, name: str, n: int, every: float, produced: dict[str, int]):  # type: ignore[no-untyped-def]
    async def items() -> AsyncIterator[tuple[str, int]]:
        for i in range(n):
            await clock.sleep_until(clock.now() + every)
            produced[name] = produced.get(name, 0) + 1
            yield name, i

    return items


async def test_a_slow_source_never_blocks_the_others() -> None:
    produced: dict[str, int] = {}
    got: list[tuple[str, int, float]] = []
    async with VirtualClock().running() as clock:
        sources = {"fast": counting(clock, "fast", 100, 0.1, produced), "slow": counting(clock, "slow", 3, 5, produced)}
        async with merge(sources) as items:
            async for name, i in items:
                got.append((name, i, clock.now()))
    assert sorted((n, i) for n, i, _ in got) == sorted(
        [("fast", i) for i in range(100)] + [("slow", i) for i in range(3)]
    )
    fast_done = max(t for n, _, t in got if n == "fast")
    assert fast_done == pytest.approx(10.0)  # not held back by the slow one


async def test_backpressure_keeps_producers_within_the_buffer() -> None:
    produced: dict[str, int] = {}
    async with VirtualClock().running() as clock:
        sources = {"a": counting(clock, "a", 1000, 0.001, produced)}
        async with merge(sources, buffer=10) as items:
            async for _ in items:
                await clock.sleep_until(clock.now() + 1)  # a slow consumer: the producer could make 1,000 by now
                break
    assert produced["a"] <= 12  # the one consumed, ten buffered, one waiting to be sent


async def test_raise_policy_stops_everything_and_raises_the_error_itself() -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise ValueError("vendor down")

    async def endless() -> AsyncIterator[int]:
        while True:
            await anyio.lowlevel.checkpoint()
            yield 2

    async def consume() -> None:
        async with merge({"a": broken, "b": endless}) as items:
            async for _ in items:
                pass

    with pytest.raises(ValueError, match="vendor down"):
        await consume()


async def test_collect_policy_goes_on_and_reports() -> None:
    async def broken() -> AsyncIterator[int]:
        yield 1
        raise ValueError("vendor down")

    async def fine() -> AsyncIterator[int]:
        for i in range(5):
            await anyio.lowlevel.checkpoint()
            yield 10 + i

    async with merge({"a": broken, "b": fine}, on_error="collect") as items:
        got = [item async for item in items]
    assert sorted(got) == [1, 10, 11, 12, 13, 14]
    assert [(f.source, str(f.error)) for f in items.failures] == [("a", "vendor down")]


async def test_leaving_early_cancels_every_producer() -> None:
    finished: list[str] = []

    async def endless(name: str) -> AsyncIterator[int]:
        try:
            while True:
                await anyio.lowlevel.checkpoint()
                yield 1
        finally:
            finished.append(name)

    async with merge({n: (lambda n=n: endless(n)) for n in "abc"}) as items:
        async for _ in items:
            break
    assert sorted(finished) == ["a", "b", "c"]
