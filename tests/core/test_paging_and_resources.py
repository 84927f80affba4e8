"""Paginators and resources over the pipeline, against an in-process collection."""

from __future__ import annotations

import httpx
import pytest

from adops_async import AsyncPaginator, NotFound, Page, VendorModel, VirtualClock
from adops_async.extend import BaseClient, OffsetPaging, PageNumberPaging, PageRequest, Resource, SinglePage
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio


class Thing(VendorModel):
    id: int
    name: str


class Collection:
    """/things with offset paging capped at 25 per page, /pages with 0- or 1-based page numbers."""

    def __init__(self, n: int, base: int = 1) -> None:
        self.items = {i: {"id": i, "name": f"thing {i}", "vendorExtra": i % 3} for i in range(1, n + 1)}
        self.base = base
        self.pages_served = 0

    async def __call__(self, hit: Hit) -> Answer:
        q = dict(hit.query)
        rows = sorted(self.items.values(), key=lambda r: r["id"])
        if hit.path == "/things" and hit.method == "GET":
            self.pages_served += 1
            offset, limit = int(q.get("offset", 0)), min(int(q.get("limit", 100)), 25)
            return Answer(200, {"results": rows[offset : offset + limit], "count": len(rows)})
        if hit.path == "/pages":
            size, page = int(q["pageSize"]), int(q["page"]) - self.base
            return Answer(200, {"results": rows[page * size : (page + 1) * size], "totalCount": len(rows)})
        if hit.path == "/things" and hit.method == "POST":
            import json

            body = json.loads(hit.body)
            body["id"] = max(self.items, default=0) + 1
            self.items[body["id"]] = body
            return Answer(201, body)
        ident = int(hit.path.rsplit("/", 1)[1])
        if ident not in self.items:
            return Answer(404, {"message": f"thing {ident} not found"})
        if hit.method == "PUT":
            import json

            self.items[ident].update(json.loads(hit.body))
        if hit.method == "DELETE":
            del self.items[ident]
            return Answer(204)
        return Answer(200, self.items[ident] if hit.method != "HEAD" else None)


def client_for(server: Collection, clock: VirtualClock) -> BaseClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(server)))  # type: ignore[arg-type]
    return BaseClient(base_url="http://vendor.test", http=http, clock=clock)


async def test_offset_paging_advances_by_what_the_server_returned_and_restarts() -> None:
    server = Collection(103)
    async with VirtualClock().running() as clock, client_for(server, clock) as client:
        things = Resource(client, "things", Thing, OffsetPaging(size=100))
        paginator = things.list()
        first = [t.id async for t in paginator]
        again = [t.id async for t in paginator]
        assert first == again == list(range(1, 104))
        assert server.pages_served == 10  # 5 pages of 25 (server cap), twice
        assert (await paginator.first()) == Thing(id=1, name="thing 1", vendorExtra=1)
        assert [t.id for t in await paginator.collect(limit=30)] == list(range(1, 31))
        pages = [len(p.items) async for p in paginator.pages()]
        assert pages == [25, 25, 25, 25, 3]


@pytest.mark.parametrize("base", [0, 1])
async def test_page_number_paging_loses_and_repeats_nothing_for_either_base(base: int) -> None:
    server = Collection(95, base=base)
    async with VirtualClock().running() as clock, client_for(server, clock) as client:
        things = Resource(client, "pages", Thing, PageNumberPaging(size=10, base=base))
        ids = [t.id async for t in things.list()]
    assert ids == list(range(1, 96))


async def test_resource_crud_and_unknown_fields_round_trip() -> None:
    server = Collection(3)
    async with VirtualClock().running() as clock, client_for(server, clock) as client:
        things = Resource(client, "things", Thing)
        got = await things.get(2)
        assert got.model_extra == {"vendorExtra": 2}
        assert got.to_payload() == server.items[2]
        created = await things.create({"name": "new"})
        assert created.id == 4
        updated = await things.update(4, {"name": "renamed"})
        assert updated.name == "renamed"
        assert await things.exists(4)
        await things.delete(4)
        assert not await things.exists(4)
        with pytest.raises(NotFound, match="thing 4 not found"):
            await things.get(4)


async def test_single_page_and_map() -> None:
    calls = 0

    async def fetch(request: PageRequest) -> Page[int]:
        nonlocal calls
        calls += 1
        return SinglePage().parse(request, [1, 2, 3])

    paginator = AsyncPaginator(fetch, SinglePage().first({}))
    assert await paginator.map(lambda n: n * 10).collect() == [10, 20, 30]
    assert await paginator.collect(limit=0) == []
    assert calls == 1


async def test_priority_block_applies_to_resource_calls_and_explicit_arguments_win() -> None:
    from adops_async import Priority, priority
    from adops_async.gates import Gate, Kind, Slot

    seen: list[Priority] = []

    class RecordingGate(Gate):
        def slot(self, kind: Kind, priority: Priority = Priority.NORMAL, *, deadline: float | None = None) -> Slot:
            seen.append(priority)
            return super().slot(kind, priority, deadline=deadline)

    server = Collection(3)
    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(server)))  # type: ignore[arg-type]
        client = BaseClient(base_url="http://vendor.test", http=http, clock=clock, gate=RecordingGate(clock=clock))
        async with client:
            things = Resource(client, "things", Thing)
            await things.list().collect()
            await things.get(1)
            with priority(Priority.INTERACTIVE):
                await things.list().collect()
                await things.get(1)
                await things.get(1, priority=Priority.BULK)
    assert seen == [Priority.BULK, Priority.NORMAL, Priority.INTERACTIVE, Priority.INTERACTIVE, Priority.BULK]
