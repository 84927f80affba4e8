"""Adnuntius conformance: the documented example payloads (``fixtures/adnuntius``, each naming its page) parse
through the models, are written back by ``to_payload()`` exactly as read, and the sandbox answers in their shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adops_async.core.models import VendorModel
from adops_async.core.paging import PageRequest
from adops_async.sandbox import serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.vendors import adnuntius
from adops_async.vendors.adnuntius import Adnuntius, Location, LocationPaging, StatsResult

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures" / "adnuntius"
USER, PASSWORD = "user@example.com", "secret"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def every_fixture() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def test_every_fixture_names_its_page() -> None:
    assert len(every_fixture()) == 16
    for name in every_fixture():
        meta = fixture(name)
        assert meta["source"].startswith("https://docs.adnuntius.com/adnuntius-advertising/admin-api/")
        assert meta["source_file"].startswith("github.com/Adnuntius/documentation @110e699 ")


@pytest.mark.parametrize("name", every_fixture())
def test_documented_payload_parses_and_round_trips_exactly(name: str) -> None:
    meta = fixture(name)
    body = meta["body"]
    if meta["shape"] == "object":
        model: type[VendorModel] = getattr(adnuntius, meta["model"])
        assert model.model_validate(body).to_payload() == body
    elif meta["shape"] == "list":
        model = getattr(adnuntius, meta["model"])
        assert [model.model_validate(item).to_payload() for item in body["results"]] == body["results"]
        assert body["totalCount"] == len(body["results"])
    elif meta["shape"] == "stats":
        result = StatsResult.model_validate(body)
        assert result.to_payload() == body
        rows = list(result.rows())
        assert [(r["order_id"], r["lineItem_id"], r["impressions"], r["cost_currency"]) for r in rows] == [
            ("lkvk7qf1y9y...", "8z6bvgphm...", 0, "NOK")
        ]
    else:
        assert meta["shape"] == "location"
        hits = [Location.model_validate(hit) for hit in body["searchResults"]]
        assert [h.to_payload() for h in hits] == body["searchResults"]
        page = LocationPaging(size=50).parse(PageRequest({"q": "Stockholm", "page": 0, "pageSize": 50}), body)
        assert len(page.items) == body["totalHits"] == 12
        assert page.next is None


def test_references_keep_the_form_they_were_written_in() -> None:
    body = fixture("creative_post_body")["body"]
    creative = adnuntius.Creative.model_validate(body)
    assert creative.layout is not None
    assert creative.layout.id == "layout_1"  # a bare id reads as a reference
    assert creative.line_item is not None
    assert creative.line_item.id == "lineitem_1"
    payload = creative.to_payload()
    assert payload["layout"] == "layout_1"  # and is written back bare
    assert adnuntius.Creative(layout=adnuntius.Ref.to("layout_1")).to_payload() == {"layout": {"id": "layout_1"}}


async def test_sandbox_answers_the_documented_creative_post_with_the_documented_response() -> None:
    # The creatives page posts a body with bare ids and answers it with expanded references, filled defaults and
    # read-only fields. The sandbox must give the same answer, but for who made it and when.
    app = AdnuntiusSandbox()
    app.seed("lineitems", [{"id": "lineitem_1", "name": "My Line Item"}])
    app.seed("layouts", [{"id": "layout_1", "name": "My Layout"}])
    documented = fixture("creative_post_response")["body"]
    with serve(app) as base_url:
        async with Adnuntius(context="network_1", username=USER, password=PASSWORD, base_url=base_url) as adn:
            sent = fixture("creative_post_body")["body"]
            answer = (await adn.request("POST", "api/v1/creatives/creative_1", params=adn.scoped(), payload=sent)).data
    who = {"createUser", "updateUser", "createTime", "updateTime"}
    assert set(answer) == set(documented)
    assert {k: v for k, v in answer.items() if k not in who} == {k: v for k, v in documented.items() if k not in who}
    for field in ("createUser", "updateUser"):
        assert set(answer[field]) == set(documented[field]) == {"id", "url", "name"}
        assert answer[field]["url"] == f"/api/v1/users/{USER}"
    assert adnuntius.Creative.model_validate(answer).to_payload() == answer


async def test_sandbox_lists_location_and_stats_in_the_documented_shapes() -> None:
    app = AdnuntiusSandbox()
    documented = fixture("location_get")["body"]
    app.seed_locations(documented["searchResults"])
    app.seed_locations([{"id": 1, "type": "CITY", "name": "Oslo", "context": "Norway, Europe"}])
    app.seed("orders", [{"id": "order_1", "name": "Testorder"}])
    app.seed("lineitems", [{"id": "li_1", "name": "TestLineitem1", "order": {"id": "order_1"}}])
    app.seed("segments", [fixture("segments_get")["body"]["results"][0]])
    with serve(app) as base_url:
        async with Adnuntius(context="network_1", username=USER, password=PASSWORD, base_url=base_url) as adn:
            found = await adn.request("GET", "api/v1/location", params={"q": "Stockholm"})
            stats = await adn.request("GET", "api/v1/stats", params=adn.scoped({"startDate": "a", "endDate": "b"}))
            segments = await adn.request("GET", "api/v1/segments", params=adn.scoped())
    location = found.data
    assert {k: location[k] for k in ("totalHits", "pageStart", "pageEnd")} == {
        "totalHits": 12,
        "pageStart": 1,
        "pageEnd": 12,
    }
    assert location["searchResults"] == documented["searchResults"]
    assert location["aggregations"]["types"] == documented["aggregations"]["types"]
    chunk = stats.data["chunks"][0]
    assert set(chunk) == {"order", "chunks", "totals"}
    assert set(chunk["order"]) >= {"id", "name", "url"}
    assert set(chunk["chunks"][0]["lineItem"]) >= {"id", "name", "url"}
    StatsResult.model_validate(stats.data)
    listed = segments.data
    assert set(fixture("segments_get")["body"]) <= set(listed)
    assert set(listed["results"][0]) == set(fixture("segments_get")["body"]["results"][0])
