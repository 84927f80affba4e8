"""Paging under faults (issue 16, items 1 and 5): every entity once or a typed error, never a quietly short walk,
never an exception group.

The vendors' sandboxes run on real sockets; a :class:`PagePlan` answers chosen pages in their place (sandbox-side
fault plans), and the sandbox records those answers like any other.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from adops_async import (
    Adnuntius,
    AdOps,
    AppNexus,
    AsyncPaginator,
    DecodeError,
    IncompleteData,
    NotFound,
    PermissionDenied,
    PulsePro,
    ScaledClock,
    ServerError,
    ValidationFailed,
)
from adops_async._merge import merge
from adops_async.core.paging import OffsetPaging, Page, PageNumberPaging, PageRequest, SinglePage
from adops_async.core.policies import Priority
from adops_async.sandbox import Fault, Request, Response, Sandbox, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.vendors.adnuntius import AdnuntiusPaging
from adops_async.vendors.appnexus import AppNexusPaging
from adops_async.vendors.appnexus._resources import _Prefetcher
from adops_async.vendors.pulsepro import PulseProPaging

pytestmark = pytest.mark.anyio

SPEED = 120
REQUEST_ID = "req-16-paging"


class PagePlan:
    """The next answers to one page (a path, and one query parameter's value), served in turn before the sandbox
    answers that page itself again."""

    def __init__(self, app: Sandbox) -> None:
        self._answers: dict[tuple[str, str, str], list[Response]] = {}
        handle = app.handle

        async def planned(request: Request) -> Response:
            for (path, name, value), queue in self._answers.items():
                if queue and request.path.endswith(path) and request.arg(name) == value:
                    return queue.pop(0)
            return await handle(request)

        app.handle = planned  # type: ignore[method-assign]

    def at(self, path: str, name: str, value: str, *answers: Response) -> None:
        self._answers.setdefault((path, name, value), []).extend(answers)

    def left(self) -> int:
        return sum(len(queue) for queue in self._answers.values())


@dataclass
class Walk:
    """One vendor's list walk: its sandbox, the plan, the ids in the vendor's order and how to list them."""

    vendor: str
    client: Any
    app: Sandbox
    plan: PagePlan
    ids: list[Any]
    path: str
    param: str
    size: int
    listing: Callable[[], AsyncPaginator[Any]]

    def page(self, k: int) -> str:
        """The query value that asks for the ``k``-th page (0-based)."""
        return {"appnexus": str(k * self.size), "pulsepro": str(k + 1), "adnuntius": str(k)}[self.vendor]

    def gets(self) -> int:
        return sum(1 for r in self.app.records if r.method == "GET" and r.path.endswith(self.path))


def empty_page(vendor: str, total: int, k: int, size: int) -> Any:
    """The vendor's own page shape, with an explicitly empty list and the full total announced."""
    if vendor == "appnexus":
        inner = {"status": "OK", "count": total, "start_element": k * size, "num_elements": size, "line-items": []}
        return {"response": {**inner, "dbg_info": {"output_term": "line-items"}}}
    if vendor == "pulsepro":
        return {"count": total, "next": f"/api/v1/inspections?page={k + 2}&page_size={size}", "results": []}
    return {"totalCount": total, "page": k, "pageSize": size, "results": []}


def lost_list(vendor: str, total: int, k: int, size: int) -> Any:
    """The vendor's envelope, total and all, without its item list."""
    if vendor == "appnexus":
        return {"response": {"status": "OK", "count": total}}
    if vendor == "pulsepro":
        return {"count": total, "next": None, "previous": None}
    return {"totalCount": total, "page": k, "pageSize": size}


def answer(vendor: str, body: Any) -> Response:
    header = "x-an-requestid" if vendor == "appnexus" else "x-request-id"
    return Response(200, json.dumps(body).encode(), {"content-type": "application/json", header: REQUEST_ID})


@asynccontextmanager
async def walking(vendor: str) -> AsyncIterator[Walk]:
    """A vendor sandbox with 500 (AppNexus, 5 pages of 100, prefetching) or 50 (5 pages of 10) objects."""
    if vendor == "appnexus":
        appnexus = AppNexusSandbox(speed=SPEED)
        ids: list[Any] = appnexus.seed_line_items(500)
        with serve(appnexus) as url:
            async with AppNexus(username="api-user", password="secret", base_url=url, clock=ScaledClock(SPEED)) as an:
                yield Walk(
                    vendor,
                    an,
                    appnexus,
                    PagePlan(appnexus),
                    ids,
                    "/line-item",
                    "start_element",
                    100,
                    an.line_items.list,
                )
    elif vendor == "pulsepro":
        pulsepro = PulseProSandbox(speed=SPEED, inspections=50)
        with serve(pulsepro) as url:
            async with PulsePro(
                api_key="test-key", base_url=f"{url}/api/v1", clock=pulsepro.client_clock(), page_size=10
            ) as pp:
                ids = list(range(1, 51))
                yield Walk(
                    vendor, pp, pulsepro, PagePlan(pulsepro), ids, "/inspections", "page", 10, pp.inspections.list
                )
    else:
        adnuntius = AdnuntiusSandbox(speed=SPEED)
        ids = [f"adv_{i:03d}" for i in range(50)]
        adnuntius.seed("advertisers", ({"id": i, "name": f"Advertiser {i}"} for i in ids))
        with serve(adnuntius) as url:
            async with Adnuntius(
                context="network_1", username="user@example.com", password="secret", base_url=url, page_size=10
            ) as adn:
                yield Walk(
                    vendor, adn, adnuntius, PagePlan(adnuntius), ids, "/advertisers", "page", 10, adn.advertisers.list
                )


async def walk_into(seen: list[Any], paginator: AsyncIterable[Any]) -> None:
    async for item in paginator:
        seen.append(item.id)


async def drain(ops: AdOps, what: str | dict[str, str]) -> None:
    async with ops.paginate(what) as entities:
        async for _ in entities:
            pass


async def fail_while_reading(ops: AdOps) -> None:
    async with ops.paginate({"adnuntius": "advertisers"}) as entities:
        async for _ in entities:
            raise LookupError("mine")


VENDORS = ["appnexus", "pulsepro", "adnuntius"]
SHAPES = ["{}", "null", "envelope without its list", "a string"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_success_page_without_its_item_list_is_a_decode_error_naming_the_exchange(
    vendor: str, shape: str
) -> None:
    async with walking(vendor) as walk:
        k = 3  # a page AppNexus prefetches, a page the others ask for in turn
        body = {"{}": {}, "null": None, "a string": "oops"}.get(shape) or lost_list(vendor, len(walk.ids), k, walk.size)
        walk.plan.at(walk.path, walk.param, walk.page(k), answer(vendor, body))
        seen: list[Any] = []
        with pytest.raises(DecodeError) as caught:
            await walk_into(seen, walk.listing())
    error = caught.value
    assert type(error) is DecodeError
    assert (error.vendor, error.status, error.method, error.request_id) == (vendor, 200, "GET", REQUEST_ID)
    assert error.url is not None
    assert walk.path in error.url
    assert f"{walk.param}={walk.page(k)}" in error.url
    assert seen == walk.ids[: k * walk.size]  # everything before the broken page, once, in order
    assert walk.plan.left() == 0
    assert walk.app.violations == []


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_page_short_once_is_fetched_again_and_the_walk_is_exact(vendor: str) -> None:
    async with walking(vendor) as walk:
        k = 3
        walk.plan.at(
            walk.path, walk.param, walk.page(k), answer(vendor, empty_page(vendor, len(walk.ids), k, walk.size))
        )
        seen = [item.id async for item in walk.listing()]
    assert seen == walk.ids
    assert walk.gets() == 5 + 1  # five pages, the short one twice
    assert walk.plan.left() == 0
    assert walk.app.violations == []


@pytest.mark.parametrize("vendor", VENDORS)
async def test_a_page_short_twice_raises_incomplete_data_with_expected_and_seen(vendor: str) -> None:
    async with walking(vendor) as walk:
        k = 2
        short = answer(vendor, empty_page(vendor, len(walk.ids), k, walk.size))
        walk.plan.at(walk.path, walk.param, walk.page(k), short, short)
        seen: list[Any] = []
        with pytest.raises(IncompleteData) as caught:
            await walk_into(seen, walk.listing())
    error = caught.value
    assert (error.expected, error.seen) == (len(walk.ids), k * walk.size)
    assert (error.vendor, error.status, error.method, error.request_id) == (vendor, 200, "GET", REQUEST_ID)
    assert seen == walk.ids[: k * walk.size]
    assert walk.plan.left() == 0
    assert walk.app.violations == []


# -- item 5: failures of pages fetched concurrently come out as themselves ---------------------------------------

SYNTAX = {"response": {"error_id": "SYNTAX", "error": "bad filter"}}
UNAUTH = {"response": {"error_id": "UNAUTH", "error": "not yours"}}


@pytest.mark.parametrize(
    ("at_200", "at_300", "raised"),
    [(SYNTAX, UNAUTH, ValidationFailed), (UNAUTH, SYNTAX, PermissionDenied), (None, UNAUTH, PermissionDenied)],
)
async def test_prefetched_pages_that_fail_raise_the_first_failure_in_page_order_as_itself(
    at_200: Any, at_300: Any, raised: type[Exception]
) -> None:
    async with walking("appnexus") as walk:
        for start, body in (("200", at_200), ("300", at_300)):
            if body is not None:
                walk.plan.at(walk.path, "start_element", start, answer("appnexus", body))
        seen: list[Any] = []
        with pytest.raises(raised) as caught:
            await walk_into(seen, walk.listing())
    assert type(caught.value) is raised
    failed_at = 200 if at_200 is not None else 300
    assert seen == walk.ids[:failed_at]  # pages 100-300 were fetched at once; what came before the failure is kept
    assert walk.app.violations == []


async def test_adops_paginate_raises_a_prefetched_page_failure_as_itself() -> None:
    async with walking("appnexus") as walk:
        walk.plan.at(walk.path, "start_element", "200", answer("appnexus", SYNTAX))
        walk.plan.at(walk.path, "start_element", "300", answer("appnexus", UNAUTH))
        appnexus = walk.client
        async with AdOps(appnexus=appnexus) as ops:
            with pytest.raises(ValidationFailed) as caught:
                await drain(ops, "line_items")
    assert type(caught.value) is ValidationFailed
    assert walk.app.violations == []


async def test_adops_paginate_raises_the_callers_own_exception_as_itself() -> None:
    async with walking("adnuntius") as walk:
        adnuntius = walk.client
        async with AdOps(adnuntius=adnuntius) as ops:
            with pytest.raises(LookupError, match="mine"):
                await fail_while_reading(ops)


async def test_adops_paginate_cancelled_stays_cancelled() -> None:
    async with walking("appnexus") as walk:
        appnexus = walk.client
        got = 0
        async with AdOps(appnexus=appnexus) as ops:
            with anyio.CancelScope() as scope:
                async with ops.paginate("line_items") as entities:
                    async for _ in entities:
                        got += 1
                        scope.cancel()
    assert scope.cancelled_caught
    assert got >= 1


async def test_a_merged_report_pull_that_fails_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    app = AdnuntiusSandbox(speed=SPEED)
    app.seed("orders", [{"id": "order_0", "name": "Order 0"}])
    app.seed("lineitems", ({"id": f"li_{i}", "name": f"Line {i}", "order": {"id": "order_0"}} for i in range(200)))
    request = {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z", "group_by": "LINE_ITEM"}
    target = tmp_path / "all.jsonl"
    target.write_text("the previous pull\n")
    app.inject(Fault("status", status=403, path="/stats", body=b'{"code": "error.forbidden", "message": "no"}'))
    with serve(app) as url:
        adn = Adnuntius(context="network_1", username="user@example.com", password="secret", base_url=url)
        async with adn, AdOps(adnuntius=adn) as ops:
            with pytest.raises(PermissionDenied):
                await ops.reports({"adnuntius": request}, merged=target)
    assert target.read_text() == "the previous pull\n"
    assert sorted(os.listdir(tmp_path)) == ["all.jsonl"]


async def test_merge_raises_the_first_failure_of_a_source_that_raised_a_group() -> None:
    async def fail(error: Exception) -> None:
        raise error

    async def grouped() -> AsyncIterator[int]:
        yield 1
        async with anyio.create_task_group() as tg:  # two pages failing at once: an exception group
            tg.start_soon(fail, NotFound("page 2 gone"))
            tg.start_soon(fail, ServerError("page 3 down"))

    async def consume() -> None:
        async with merge({"a": grouped}) as items:
            async for _ in items:
                pass

    with pytest.raises((NotFound, ServerError)) as caught:
        await consume()
    assert type(caught.value) in (NotFound, ServerError)
    if sys.version_info >= (3, 11):
        other = "page 3 down" if type(caught.value) is NotFound else "page 2 gone"
        assert any(other in note for note in caught.value.__notes__)


class _StubResource:
    """Pages of 100 of a 1,000-object collection; the prefetched page 100 fails, page 200 cancels the walk."""

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.paging = AppNexusPaging(plural="line-items")

    async def _page(self, request: PageRequest, priority: Priority) -> Page[Any]:
        start = int(request.params["start_element"])
        if start == 100:
            raise ValidationFailed("prefetched page failed", vendor="appnexus")
        if start == 200:
            self.scope.cancel()
            await anyio.sleep_forever()
        items = [{"id": n} for n in range(start, start + 100)]
        return self.paging.parse(request, {"response": {"count": 1000, "num_elements": 100, "line-items": items}})


async def test_cancelling_a_walk_while_prefetched_pages_fail_stays_cancellation() -> None:
    with anyio.CancelScope() as scope:
        resource = _StubResource(scope)
        ahead = _Prefetcher(resource, Priority.BULK, 4)  # type: ignore[arg-type]
        await AsyncPaginator(ahead.fetch, resource.paging.first({})).collect()
    assert scope.cancelled_caught


# -- unit: the styles on edge shapes -----------------------------------------------------------------------------

STYLES = {
    "offset": (OffsetPaging(size=2), {"count": 9}),
    "page number": (PageNumberPaging(size=2), {"totalCount": 9}),
    "single": (SinglePage(items_key="items"), {}),
    "pulsepro": (PulseProPaging(size=2), {"count": 9, "next": None}),
    "adnuntius": (AdnuntiusPaging(size=2), {"totalCount": 9, "page": 1}),
    "appnexus": (AppNexusPaging(size=2, plural="line-items"), {"response": {"status": "OK", "count": 9}}),
}


@pytest.mark.parametrize("body", [{}, None, "oops", 7, {"results": None}, {"results": "x"}, {"results": {"id": 1}}])
@pytest.mark.parametrize("style", sorted(set(STYLES) - {"appnexus"}))
def test_styles_refuse_a_page_without_an_item_list(style: str, body: Any) -> None:
    paging, _ = STYLES[style]
    with pytest.raises(DecodeError):
        paging.parse(paging.first({}), body)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_styles_refuse_their_own_envelope_without_the_list_but_take_an_empty_list(style: str) -> None:
    paging, envelope = STYLES[style]
    with pytest.raises(DecodeError, match="list"):
        paging.parse(paging.first({}), envelope)
    key = {"single": "items", "appnexus": "line-items"}.get(style, "results")
    empty = {"response": {**envelope["response"], key: []}} if style == "appnexus" else {**envelope, key: []}
    page = paging.parse(paging.first({}), empty)
    assert list(page.items) == []
    assert page.next is None


def test_appnexus_takes_a_missing_list_only_where_its_own_count_says_nothing_is_left() -> None:
    paging = AppNexusPaging(size=2, plural="line-items")
    assert paging.parse(paging.first({}), {"response": {"status": "OK", "count": 0}}).items == []
    at_9 = PageRequest({"start_element": 9, "num_elements": 2}, seen=9)
    assert paging.parse(at_9, {"response": {"status": "OK", "count": 9}}).items == []
    with pytest.raises(DecodeError, match="'line-items' is missing or null"):
        paging.parse(at_9, {"response": {"status": "OK", "count": 10, "line-items": None}})


def test_a_next_of_null_ends_a_linked_walk_and_a_missing_next_key_counts_on() -> None:
    paging = PageNumberPaging(size=2, items_key="results", total_key="count", next_key="next")
    first = paging.first({})
    assert paging.parse(first, {"count": 9, "next": None, "results": [1, 2]}).next is None
    following = paging.parse(first, {"count": 9, "results": [1, 2]}).next
    assert following is not None
    assert (following.params["page"], following.seen) == (2, 2)
    with pytest.raises(DecodeError, match="'next' link that is a number"):
        paging.parse(first, {"count": 9, "next": 3, "results": [1, 2]})


async def test_the_walk_follows_a_total_that_grows_and_ends_at_one_that_shrinks() -> None:
    answers = {
        0: {"results": [1, 2], "count": 4},
        2: {"results": [3, 4], "count": 5},  # one added during the walk: seen passes the first total
        4: {"results": [5], "count": 5},
    }
    style = OffsetPaging(size=2)

    async def fetch(request: PageRequest) -> Page[Any]:
        return style.parse(request, answers[int(request.params["offset"])])

    assert await AsyncPaginator(fetch, style.first({})).collect() == [1, 2, 3, 4, 5]
    answers[2] = {"results": [], "count": 2}  # two removed: the latest total says the walk is whole
    assert await AsyncPaginator(fetch, style.first({})).collect() == [1, 2]
    answers[2] = {"results": [], "count": 3}
    with pytest.raises(IncompleteData) as caught:
        await AsyncPaginator(fetch, style.first({})).collect()
    assert (caught.value.expected, caught.value.seen) == (3, 2)
