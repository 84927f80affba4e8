"""The shared Serial lease, gate to gate on a real redis-server: renewal, expiry, FIFO turns, leaving the queue.

Each gate stands for one process (its own RedisStore connection). asyncio only by nature: redis-py's asyncio client.
Events are ordered by state, never by a sleep: a waiter has arrived once its ticket is in the store's queue
(``<prefix>creds:queue``, a sorted set of admission tokens by ticket), and Redis itself says whose lease is live.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import pytest
from redis.asyncio import Redis

from adops_async import LeaseLost, RedisStore
from adops_async.gates import Gate, Kind, Serial

from ..redis_server import RedisServer
from ..waiting import until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Processes:
    """``n`` gates on one Serial key, each with its own store, and a plain connection that reads the store's keys."""

    def __init__(self, url: str, n: int, lease: float, store_url: str | None) -> None:
        self.prefix = f"{uuid.uuid4().hex}:"
        self.stores = [RedisStore(store_url or url, prefix=self.prefix, lease=lease) for _ in range(n)]
        self.gates = [Gate(Serial(store=store, key="creds")) for store in self.stores]
        self.redis = Redis.from_url(url)

    async def queue(self) -> list[bytes]:
        """Tokens waiting for the slot, in ticket order."""
        return list(await self.redis.zrange(f"{self.prefix}creds:queue", 0, -1))

    async def queued(self, n: int) -> list[bytes]:
        """Wait until ``n`` waiters hold a ticket; their tokens in ticket order."""
        tokens: list[bytes] = []

        async def has_n() -> bool:
            tokens[:] = await self.queue()
            return len(tokens) == n

        await until(has_n)
        return tokens

    async def holder(self) -> tuple[bytes | None, int]:
        """The token holding the lease, and how many milliseconds it has left, by Redis' own clock."""
        key = f"{self.prefix}creds:lease"
        return await self.redis.get(key), await self.redis.pttl(key)

    async def aclose(self) -> None:
        for store in self.stores:
            await store.aclose()
        await self.redis.aclose()


@asynccontextmanager
async def processes(url: str, n: int, *, lease: float = 0.6, store_url: str | None = None) -> AsyncIterator[Processes]:
    """``store_url``: where the gates' stores connect, if not straight to ``url`` (which the observer always does)."""
    group = Processes(url, n, lease, store_url)
    try:
        yield group
    finally:
        await group.aclose()


@asynccontextmanager
async def holding(gate: Gate) -> AsyncIterator[Callable[[], None]]:
    """Hold ``gate``'s slot in a task of its own until the returned function is called."""
    entered, release = anyio.Event(), anyio.Event()

    async def hold() -> None:
        async with gate.slot(Kind.READ):
            entered.set()
            await release.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold)
        await entered.wait()
        yield release.set


async def test_a_lease_is_renewed_while_the_request_runs_and_nobody_overlaps(redis_server: RedisServer) -> None:
    lease = 0.6
    events: list[str] = []
    async with processes(redis_server.url, 2, lease=lease) as group, holding(group.gates[0]) as release:
        events.append("first in")
        held_by, _ = await group.holder()

        async def second() -> None:
            async with group.gates[1].slot(Kind.READ):
                events.append("second in")

        async with anyio.create_task_group() as tg:
            tg.start_soon(second)
            await group.queued(1)
            # The request runs two and a half leases: it lives on renewals (this sleep is its duration, not an order).
            await anyio.sleep(2.5 * lease)
            token, left_ms = await group.holder()
            assert (token, left_ms > 0) == (held_by, True)  # still the first's lease: renewed, or it had lapsed
            assert len(await group.queue()) == 1  # the second still waits for the whole first request
            events.append("first out")
            release()
    assert events == ["first in", "first out", "second in"]


async def test_a_holder_that_cannot_renew_stops_before_its_lease_runs_out(redis_server: RedisServer) -> None:
    """Renewals fail (the holder's connection to Redis is cut, Redis stays up): the request is stopped while Redis
    still holds the lease for it, so nobody else can have been admitted beside it. Judged by Redis' clock."""
    async with tcp_proxy(redis_server.port) as (port, cut):
        relayed = f"redis://127.0.0.1:{port}/0"
        async with processes(redis_server.url, 1, lease=1.2, store_url=relayed) as group:
            at_stop: tuple[bytes | None, int] = (None, 0)

            async def hold_past_the_lease() -> None:
                nonlocal at_stop
                async with group.gates[0].slot(Kind.READ):
                    held_by, _ = await group.holder()
                    cut()  # renewals fail from now on
                    try:
                        await anyio.sleep(60)
                    finally:
                        with anyio.CancelScope(shield=True):
                            token, left_ms = await group.holder()
                            at_stop = (token if token == held_by else None, left_ms)

            with pytest.raises(LeaseLost):
                await hold_past_the_lease()
    token, left_ms = at_stop
    assert token is not None  # still the holder's own lease when its request was stopped
    assert left_ms > 0


async def test_processes_take_the_slot_first_come_first_served(redis_server: RedisServer) -> None:
    order: list[int] = []
    async with processes(redis_server.url, 4) as group:
        gates = group.gates

        async def turn(n: int) -> None:
            async with gates[n].slot(Kind.READ):
                order.append(n)

        async with holding(gates[0]) as release, anyio.create_task_group() as tg:
            order.append(0)
            for n in (1, 2, 3):  # each arrives (takes its ticket) after the one before, while 0 holds the slot
                tg.start_soon(turn, n)
                await group.queued(n)
            release()
    assert order == [0, 1, 2, 3]


async def test_a_waiter_that_gives_up_leaves_the_queue_at_once(redis_server: RedisServer) -> None:
    async with processes(redis_server.url, 3) as group:
        holder, quitter, next_in_line = group.gates
        taken = anyio.Event()

        async def give_up(scope: anyio.CancelScope) -> None:
            with scope:
                async with quitter.slot(Kind.READ):
                    raise AssertionError("the quitter never gets the slot")

        async def wait_turn() -> None:
            async with next_in_line.slot(Kind.READ):
                taken.set()

        async with holding(holder) as release, anyio.create_task_group() as tg:
            quitting = anyio.CancelScope()
            async with anyio.create_task_group() as quitters:
                quitters.start_soon(give_up, quitting)
                await group.queued(1)
                tg.start_soon(wait_turn)
                quitter_ticket, next_ticket = await group.queued(2)
                quitting.cancel()
            # Gone from the queue by the time its cancellation returns, not Serial.STALE seconds later.
            assert await group.queue() == [next_ticket]
            assert not taken.is_set()
            release()
        assert taken.is_set()
    assert quitter_ticket != next_ticket


@asynccontextmanager
async def tcp_proxy(port: int) -> AsyncIterator[tuple[int, Callable[[], None]]]:
    """A TCP relay to 127.0.0.1:``port``; the function it yields cuts every connection and refuses new ones."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    relay_port = int(listener.extra(anyio.abc.SocketAttribute.local_port))
    relaying = anyio.CancelScope()

    async def pipe(source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
        try:
            async for chunk in source:
                await sink.send(chunk)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass

    async def relay(client: anyio.abc.SocketStream) -> None:
        async with client, await anyio.connect_tcp("127.0.0.1", port) as upstream, anyio.create_task_group() as both:
            both.start_soon(pipe, client, upstream)
            both.start_soon(pipe, upstream, client)

    async def serve() -> None:
        with relaying:
            async with listener:
                await listener.serve(relay)

    async with anyio.create_task_group() as tg:
        tg.start_soon(serve)
        try:
            yield relay_port, relaying.cancel
        finally:
            relaying.cancel()
