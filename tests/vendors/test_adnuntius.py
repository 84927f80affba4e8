"""Adnuntius client details against the sandbox: auth variants, errors, resources, paging style, stats."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from adops_async import AdOpsError, AuthError, NotFound, RateLimited
from adops_async.core.paging import PageRequest
from adops_async.sandbox import Fault, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.vendors.adnuntius import Adnuntius, AdnuntiusDialect, AdnuntiusPaging, filter_by, render, where

pytestmark = pytest.mark.anyio


def test_translatable_messages_render_with_params() -> None:
    text = "Referenced object {{type}} {{id}} not found"
    assert render({"text": text, "params": {"id": "lineitem_1", "type": "Campaign"}}) == (
        "Referenced object Campaign lineitem_1 not found"
    )
    assert render({"text": text, "params": [{"id": "li"}, {"type": "X"}]}) == "Referenced object X li not found"
    assert render({"text": "{{missing}} stays", "params": {}}) == "{{missing}} stays"


def test_429_without_header_uses_the_seconds_in_the_body() -> None:
    dialect = AdnuntiusDialect()
    request = httpx.Request("GET", "https://api.adnuntius.com/api/v1/orders")
    body = {"type": "ErrorMessage", "code": "x", "text": "wait {{seconds}} seconds", "params": {"seconds": "7"}}
    info = dialect.error_for(httpx.Response(429, json=body, request=request), body)
    assert info is not None
    assert info.error_class is RateLimited
    assert info.retry_after == 7.0  # the pipeline closes the gate for this long (tests/core/test_client.py)
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    with_date = httpx.Response(429, headers={"Retry-After": date}, request=request)
    info = dialect.error_for(with_date, None)
    assert info is not None
    assert info.retry_after is not None
    assert 28 <= info.retry_after <= 31


def test_paging_style_stops_and_detects_bases() -> None:
    style = AdnuntiusPaging(size=2)
    first = style.first({"context": "n"})
    page = style.parse(first, {"page": 1, "totalCount": 3, "results": [{"id": "a"}, {"id": "b"}]})
    assert page.next is not None
    assert page.next.params["page"] == 2
    last = style.parse(page.next, {"page": 2, "totalCount": 3, "results": [{"id": "c"}]})
    assert last.next is None
    assert style.parse(PageRequest({"page": 0}), [{"id": "x"}]).next is None  # a bare list is the whole answer
    assert where("a=1", " ", "b>2") == "a=1;b>2"
    assert filter_by("name", like="foo") == {"filterBy": "name", "filterByLike": "foo"}
    with pytest.raises(ValueError, match="exactly one"):
        filter_by("name")


async def test_auth_variants_two_factor_masquerade_api_key_and_bad_password() -> None:
    app = AdnuntiusSandbox(
        users={"plain@x": "pw", "tfa@x": "pw2", "other@x": "pw3"}, two_factor={"tfa@x": "123456"}, api_keys={"KEY"}
    )
    app.seed("sites", [{"id": "s1", "name": "Site"}])
    with serve(app) as base_url:
        async with Adnuntius(
            context="network_1", username="tfa@x", password="pw2", two_factor_code=lambda: "123456", base_url=base_url
        ) as a:
            assert (await a.sites.get("s1")).name == "Site"
        async with Adnuntius(context="network_1", username="tfa@x", password="pw2", base_url=base_url) as a:
            with pytest.raises(AuthError, match="two-factor"):
                await a.sites.get("s1")
        async with Adnuntius(
            context="network_1", username="plain@x", password="pw", masquerade_as="other@x", base_url=base_url
        ) as a:
            await a.sites.get("s1")
            assert app.records[-1].account == "other@x"
        async with Adnuntius(context="network_1", api_key="KEY", base_url=base_url) as a:
            assert await a.sites.exists("s1")
        async with Adnuntius(
            context="network_1", username="plain@x", password="wrong-password", base_url=base_url
        ) as a:
            with pytest.raises(AuthError) as caught:
                await a.sites.get("s1")
            assert "wrong-password" not in str(caught.value)
            assert "Bad credentials for plain@x" in str(caught.value)
    assert app.grants == {"2fa": 1, "password": 1}


async def test_resources_upsert_hidden_get_many_exists_archive_delete() -> None:
    app = AdnuntiusSandbox()
    with serve(app) as base_url:
        async with Adnuntius(
            context="network_1", username="user@example.com", password="secret", base_url=base_url
        ) as adn:
            item = await adn.line_items.upsert({"id": "li_1", "name": "One", "labels": ["a", "b"]})
            assert item.warnings == ["Line item li_1 has no order and will not deliver"]
            assert item.object_state == "ACTIVE"
            again = await adn.line_items.upsert({"id": "li_1", "name": "One", "labels": ["a", "b"]})
            assert again.update_time == item.update_time  # idempotent: the same call changes nothing
            changed = await adn.line_items.update("li_1", {"labels": []})
            assert changed.labels == []
            assert changed.name == "One"
            await adn.line_items.upsert({"id": "li_2", "name": "Two"})
            await adn.line_items.archive("li_2")
            assert [i.id for i in await adn.line_items.list().collect()] == ["li_1"]
            assert len(await adn.line_items.list(include_hidden=True).collect()) == 2
            assert (await adn.line_items.get("li_2")).object_state == "HIDDEN"  # by id, hidden objects are returned
            assert [i.id for i in await adn.line_items.get_many(["li_2", "nope", "li_1"])] == ["li_2", "li_1"]
            assert await adn.line_items.exists("li_1")
            assert not await adn.line_items.exists("nope")
            with pytest.raises(NotFound, match="lineitems nope not found"):
                await adn.line_items.get("nope")
            with pytest.raises(AdOpsError, match="cannot be deleted"):
                await adn.line_items.delete("li_1")
            with pytest.raises(AdOpsError, match="cannot be deleted"):
                await adn.resource("lineitems", allow_delete=True).delete("li_1")  # the sandbox refuses it
            folder = await adn.resource("folders").upsert({"name": "Any resource"})
            assert folder.id is not None
            assert len(folder.id) == 16
    assert {r.status for r in app.records if r.path.startswith("/api/v1")} <= {200, 400, 404, 405}


async def test_upsert_is_retried_after_a_reset_and_429_body_without_header() -> None:
    app = AdnuntiusSandbox(speed=60, rate_limit=(1, 6.0), retry_after_style="body")
    with serve(app) as base_url:
        async with Adnuntius(
            context="network_1", username="user@example.com", password="secret", base_url=base_url
        ) as adn:
            app.inject(Fault("reset", path="/api/v1/orders/o1"))
            order = await adn.orders.upsert({"id": "o1", "name": "Order"})  # idempotent: sent again after a reset
            assert order.name == "Order"
            assert (await adn.orders.get("o1")).id == "o1"  # the limit of 1 per 0.1 s bites; body says the wait
    assert app.responses_429 >= 1
    assert app.violations == []


async def test_stats_typed_and_flattened() -> None:
    app = AdnuntiusSandbox()
    app.seed("orders", [{"id": "o1", "name": "Order 1"}])
    app.seed("lineitems", [{"id": f"li{i}", "name": f"L{i}", "order": {"id": "o1"}} for i in range(3)])
    with serve(app) as base_url:
        async with Adnuntius(
            context="network_1", username="user@example.com", password="secret", base_url=base_url
        ) as adn:
            result = await adn.stats("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", group_by="LINE_ITEM")
            job = await adn.reports.run("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
            rows = [row async for row in job.rows()]
    assert result.totals is not None
    assert result.totals.impressions == sum(r["impressions"] for r in rows)
    assert len(rows) == 3
    assert rows[0]["order_id"] == "o1"
    assert rows[0]["lineItem_id"] == "li0"
    assert rows[0]["cost_currency"] == "NOK"


def test_where_clause_decodes_the_docs_url_spelling_only_around_operators() -> None:
    assert where("executionState+in+RUNNING,ENDED") == "executionState in RUNNING,ENDED"
    assert where("objectState+not+in+ACTIVE,INACTIVE", "description+is+null") == (
        "objectState not in ACTIVE,INACTIVE;description is null"
    )
    assert where("description+is+not+null") == "description is not null"
    assert where("updateTime>2+hours+ago") == "updateTime>2 hours ago"
    assert where("name=A+B", "name!=in+out") == "name=A+B;name!=in+out"  # a + inside a value stays


@pytest.mark.parametrize(("page_base", "below_base"), [(0, "clamp"), (1, "clamp"), (1, "empty")])
async def test_locations_walk_every_hit_once_whatever_the_page_base(page_base: int, below_base: str) -> None:
    app = AdnuntiusSandbox(page_base=page_base, below_base=below_base)
    app.seed_locations({"id": i, "type": "CITY", "name": f"Oslo {i}", "context": "Norway"} for i in range(23))
    app.seed_locations([{"id": 99, "type": "CITY", "name": "Bergen", "context": "Norway"}])
    with serve(app) as base_url:
        async with Adnuntius(
            context="network_1", username="user@example.com", password="secret", base_url=base_url, page_size=5
        ) as adn:
            ids = [loc.id async for loc in adn.locations("oslo")]
    assert ids == list(range(23))
    assert app.count("GET", "/api/v1/location") == 5 + (page_base == 1)  # a 1-based server costs one page more
