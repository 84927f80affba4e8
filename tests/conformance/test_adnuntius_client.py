"""The vendor's own Python client (PyPI ``adnuntius``, ADN-TOOLS) drives its documented flows against the Adnuntius
sandbox over a real socket: material nobody on this project wrote judges the sandbox, and through it our client.

The vendor client is synchronous (``requests``), so each flow runs in a worker thread while the test's event loop
(asyncio or trio) reads the same sandbox with our client. The flows follow the vendor's examples
(``test/example_line_item.py``, ``test/example_query.py``) and its ``ApiClient`` methods; see
``tests/conformance/README.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import pytest

from adops_async import NotFound
from adops_async.sandbox import serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.vendors.adnuntius import Adnuntius, filter_by, where

adnuntius_api = pytest.importorskip("adnuntius.api", reason="the `test` extra installs the vendor client")
adnuntius_util = pytest.importorskip("adnuntius.util")

pytestmark = pytest.mark.anyio

USER, PASSWORD, API_KEY, NETWORK = "user@example.com", "secret", "key-0123456789", "network_1"
T = TypeVar("T")


async def in_thread(flow: Callable[[], T]) -> T:
    """Run a synchronous vendor-client flow off the event loop (the sandbox serves from its own thread)."""
    return await anyio.to_thread.run_sync(flow)


def vendor(base_url: str, **options: Any) -> Any:
    """The vendor's ``Api`` as its examples build it: location ends in ``/api``, the network as ``context``."""
    if "api_key" in options:
        return adnuntius_api.Api(None, None, f"{base_url}/api", context=NETWORK, **options)
    return adnuntius_api.Api(USER, PASSWORD, f"{base_url}/api", context=NETWORK, **options)


def ours(base_url: str) -> Adnuntius:
    return Adnuntius(username=USER, password=PASSWORD, base_url=base_url, context=NETWORK)


def image_layout(app: AdnuntiusSandbox) -> None:
    app.seed(
        "layouts",
        [
            {"id": "layout_text", "name": "Text", "assetConstraints": []},
            {"id": "layout_image", "name": "Image", "assetConstraints": [{"tag": "Image", "mimeTypes": ["PNG"]}]},
        ],
    )


async def test_line_item_example_flow_creative_and_asset_upload(tmp_path: Path) -> None:
    # example_line_item.py: create a line item, find the "Image" layout, create a creative on it, upload an asset,
    # link it through the layout's first asset tag, then list the line items.
    app = AdnuntiusSandbox()
    image_layout(app)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    asset_file = tmp_path / "example_asset.png"
    asset_file.write_bytes(png)
    make_id, date_to_string, id_reference = (
        adnuntius_util.generate_alphanum_id,
        adnuntius_util.date_to_string,
        adnuntius_util.id_reference,
    )

    def example() -> dict[str, Any]:
        api = vendor(base_url)
        lineitem = api.line_items.update(
            {
                "id": make_id(),
                "name": "Example Line Item 2",
                "userState": "APPROVED",
                "startDate": date_to_string(datetime(2025, 3, 1)),
                "endDate": date_to_string(datetime(2025, 3, 1) + timedelta(weeks=1)),
                "objectives": {"IMPRESSION": 1000000},
                "bidSpecification": {"cpm": {"currency": "AUD", "amount": 10.0}},
                "smoothed": True,
            }
        )
        layouts = api.layouts.query()["results"]
        layout = layouts[[lay["name"] for lay in layouts].index("Image")]
        creative = api.creatives.update(
            {
                "id": make_id(),
                "name": "Creative for Example 2",
                "lineItem": id_reference(lineitem),
                "constraintsToUrls": {"destination": "www.example.com/board"},
                "layout": id_reference(layout),
                "width": 728,
                "height": 90,
            }
        )
        asset = api.assets.upload_resource(creative["id"], make_id(), str(asset_file), "image/png")
        linked = api.creatives.update(
            {
                "id": creative["id"],
                "lineItem": id_reference(lineitem),
                "constraintsToAssets": {layout["assetConstraints"][0]["tag"]: asset["id"]},
            }
        )
        listed = api.line_items.query()["results"]
        return {"lineitem": lineitem, "creative": linked, "asset": asset, "listed": listed}

    with serve(app) as base_url:
        seen = await in_thread(example)
        vendor_logins = app.grants["password"]
        lineitem, creative, asset = seen["lineitem"], seen["creative"], seen["asset"]
        async with ours(base_url) as adn:
            again = await adn.creatives.get(creative["id"])
            assets = await adn.assets.of_creative(creative["id"]).collect()
        async with httpx.AsyncClient(base_url=base_url) as plain:
            stored_bytes = (await plain.get(f"/cdn/{asset['cdnId']}")).content
    assert [item["id"] for item in seen["listed"]] == [lineitem["id"]]
    assert lineitem["startDate"] == "2025-03-01T00:00:00Z"
    assert creative["layout"] == {"id": "layout_image", "url": "/api/v1/layouts/layout_image", "name": "Image"}
    assert creative["lineItem"] == {
        "id": lineitem["id"],
        "url": f"/api/v1/lineitems/{lineitem['id']}",
        "name": "Example Line Item 2",
    }
    assert creative["constraintsToAssets"] == {
        "Image": {"id": asset["id"], "url": f"/api/v1/assets/{creative['id']}/{asset['id']}"}
    }
    assert creative["constraintsToUrls"] == {"destination": "www.example.com/board"}  # a partial update kept it
    assert (asset["fileName"], asset["mimeType"], asset["fileSizeBytes"]) == (
        "example_asset.png",
        "image/png",
        len(png),
    )
    assert stored_bytes == png
    assert again.constraints_to_assets == creative["constraintsToAssets"]
    assert [a.id for a in assets] == [asset["id"]]
    assert app.violations == []
    assert vendor_logins == 1  # one login for the whole flow (the vendor keeps its token per Api)


@pytest.mark.parametrize("page_base", [0, 1])
async def test_query_example_pages_from_1_with_stats_per_order(page_base: int) -> None:
    # example_query.py: page = 1, pageSize 25, loop while (page - 1) * 25 < totalCount, daily stats per order.
    # Against a 1-based server it sees every order; against a 0-based one (the docs' base) page 1 is the second
    # page, so the example never sees the first 25: the sandbox serves both, and our client gets all 60 from both.
    app = AdnuntiusSandbox(page_base=page_base)
    orders = [f"order_{i:02d}" for i in range(60)]
    app.seed("orders", ({"id": o, "name": f"Order {o}"} for o in orders))
    app.seed("lineitems", ({"id": f"li_{o}", "name": f"Line {o}", "order": {"id": o}} for o in orders))
    half_hour, half_hour_round_up = adnuntius_util.half_hour, adnuntius_util.half_hour_round_up
    date_to_string = adnuntius_util.date_to_string

    def example() -> tuple[list[str], dict[str, int], int]:
        api = vendor(base_url)
        page, page_size, total_count = 1, 25, None
        processed: list[str] = []
        impressions: dict[str, int] = {}
        while total_count is None or (page - 1) * page_size < total_count:
            result = api.orders.query({"page": page, "pageSize": page_size})
            if total_count is None:
                total_count = result["totalCount"]
            for order in result["results"]:
                processed.append(order["id"])
                now = datetime(2025, 3, 8, 12, 17)
                stats = api.stats.query(
                    args={
                        "orderId": order["id"],
                        "startDate": date_to_string(half_hour(now - timedelta(days=7))),
                        "endDate": date_to_string(half_hour_round_up(now)),
                        "currency": "NOK",
                        "groupBy": "daily",
                    }
                )
                impressions[order["id"]] = stats["totals"]["impressions"]
            page += 1
        assert total_count is not None
        return processed, impressions, total_count

    with serve(app) as base_url:
        processed, impressions, total = await in_thread(example)
        async with ours(base_url) as adn:
            ours_all = [o.id async for o in adn.orders.list()]
            report = await adn.stats("2025-03-01T12:00:00Z", "2025-03-08T12:30:00Z", orderId="order_07")
    assert total == 60
    assert processed == (orders if page_base == 1 else orders[25:])
    assert ours_all == orders
    # Each order's totals are its own line item's, not the network's.
    assert report.totals is not None
    assert impressions.get("order_07", report.totals.impressions) == report.totals.impressions
    assert len(set(impressions.values())) > 1
    assert app.violations == []


async def test_auth_refresh_api_key_and_two_factor() -> None:
    app = AdnuntiusSandbox(users={USER: PASSWORD, "2fa@example.com": "pw2"}, two_factor={"2fa@example.com": "123456"})
    app.api_keys.add(API_KEY)
    app.seed("advertisers", [{"id": "adv_1", "name": "Advertiser 1"}])

    def password_then_refresh() -> list[str]:
        api = vendor(base_url)
        names = [api.advertisers.get("adv_1")["name"]]
        # 50 minutes pass for the vendor client (its refresh point) and an hour for the server's tokens.
        api.auth_time = time.time() - 60 * 51
        app.expire_tokens()
        names.append(api.advertisers.get("adv_1")["name"])
        return names

    def api_key() -> Any:
        return vendor(base_url, api_key=API_KEY).advertisers.query()["totalCount"]

    def two_factor() -> Any:
        api = adnuntius_api.Api("2fa@example.com", "pw2", f"{base_url}/api", context=NETWORK)
        api.two_factor_code_provider = lambda: "123456"
        return api.advertisers.get("adv_1")["id"]

    with serve(app) as base_url:
        assert await in_thread(password_then_refresh) == ["Advertiser 1", "Advertiser 1"]
        assert app.grants == {"password": 1, "refresh_token": 1}
        assert await in_thread(api_key) == 1
        assert app.grants == {"password": 1, "refresh_token": 1}  # an API key is no grant
        assert await in_thread(two_factor) == "adv_1"
    assert app.grants == {"password": 1, "refresh_token": 1, "2fa": 1}
    assert [r.status for r in app.records if r.path == "/api/authenticate"] == [200, 200, 401]  # 2FA's first step
    assert all(r.status != 401 for r in app.records if r.path.startswith("/api/v1/"))


async def test_get_exists_and_a_missing_endpoint() -> None:
    # exists(): HEAD, and after a 404 an OPTIONS on the collection (no context): a 404 there too means the endpoint
    # is missing, and the vendor client raises instead of answering False. Ours must do the same.
    app = AdnuntiusSandbox()
    app.seed("lineitems", [{"id": "li_1", "name": "Line 1"}])

    def flow() -> tuple[Any, bool, bool, str]:
        api = vendor(base_url)
        item = api.line_items.get("li_1")
        with pytest.raises(RuntimeError) as caught:
            api.api_client("lineitemz").exists("li_1")
        return item, api.line_items.exists("li_1"), api.line_items.exists("li_missing"), str(caught.value)

    with serve(app) as base_url:
        item, present, absent, refused = await in_thread(flow)
        vendor_options = app.count("OPTIONS")
        async with ours(base_url) as adn:
            assert await adn.line_items.exists("li_1") is True
            assert await adn.line_items.exists("li_missing") is False
            with pytest.raises(NotFound):
                await adn.resource("lineitemz").exists("li_1")
    assert (item["name"], present, absent) == ("Line 1", True, False)
    assert "HEAD" in refused
    assert "response 404" in refused
    assert vendor_options == 2  # one probe after each 404 HEAD
    assert [(r.method, r.path, r.status) for r in app.records if r.method == "OPTIONS"][2:] == [
        ("OPTIONS", "/api/v1/lineitems", 200),
        ("OPTIONS", "/api/v1/lineitemz", 404),
    ]


async def test_filters_where_and_filter_by_like() -> None:
    # The filters page's examples: ad units whose name contains "footer"; line items that started running after a
    # date; line items RUNNING or ENDED. The vendor client sends spaces (requests encodes them as the docs' "+").
    app = AdnuntiusSandbox()
    app.seed(
        "adunits",
        [
            {"id": "au_1", "name": "site - Footer 728"},
            {"id": "au_2", "name": "site - header"},
            {"id": "au_3", "name": "footer-mobile"},
        ],
    )
    states = {"li_1": ("RUNNING", "2021-03-01"), "li_2": ("ENDED", "2020-12-01"), "li_3": ("PAUSED", "2021-02-01")}
    app.seed(
        "lineitems",
        (
            {"id": i, "name": i, "executionState": s, "startedRunningDate": f"{d}T00:00:00Z"}
            for i, (s, d) in states.items()
        ),
    )

    def flow() -> list[list[str]]:
        api = vendor(base_url)
        queries: list[tuple[Any, dict[str, str]]] = [
            (api.ad_units, {"filterBy": "name", "filterByLike": "footer"}),
            (api.line_items, {"where": "startedRunningDate>2021-01-01"}),
            (api.line_items, {"where": "startedRunningDate>2021-01-01;startedRunningDate<2021-02-15"}),
            (api.line_items, {"where": "executionState in RUNNING,ENDED"}),
            (api.line_items, {"where": "executionState not in RUNNING,ENDED"}),
        ]
        return [[r["id"] for r in endpoint.query(args)["results"]] for endpoint, args in queries]

    with serve(app) as base_url:
        assert await in_thread(flow) == [["au_1", "au_3"], ["li_1", "li_3"], ["li_3"], ["li_1", "li_2"], ["li_3"]]
        async with ours(base_url) as adn:
            footers = [a.id async for a in adn.ad_units.list(**filter_by("name", like="footer"))]
            not_footers = [a.id async for a in adn.ad_units.list(**filter_by("name", not_like="footer"))]
            # the docs' URL spelling, as a user copies it from the filters page
            either = [i.id async for i in adn.line_items.list(where="executionState+in+RUNNING,ENDED")]
            between = [
                i.id
                async for i in adn.line_items.list(
                    where=where("startedRunningDate>2021-01-01", "startedRunningDate<2021-02-15")
                )
            ]
            never = [i.id async for i in adn.line_items.list(where=where("description+is+null", "name!=li_1"))]
    assert footers == ["au_1", "au_3"]
    assert not_footers == ["au_2"]
    assert either == ["li_1", "li_2"]
    assert between == ["li_3"]
    assert never == ["li_2", "li_3"]
    assert all(r.status == 200 for r in app.records if r.path.startswith("/api/v1/"))


async def test_delete_defaults_copy_info_and_location() -> None:
    app = AdnuntiusSandbox(deletable={"lineitems"})
    image_layout(app)
    app.seed("lineitems", [{"id": "li_1", "name": "Line 1", "labels": ["a"]}, {"id": "li_2", "name": "Line 2"}])
    app.seed("creatives", [{"id": "cr_1", "name": "C1", "layout": "layout_image"}, {"id": "cr_2", "name": "C2"}])
    app.seed_locations(
        {"id": i, "type": "CITY", "name": f"Stockholm {i}", "context": "Sweden, Europe"} for i in range(7)
    )

    def flow() -> dict[str, Any]:
        api = vendor(base_url)
        copied = api.line_items.copy("li_1")
        return {
            "defaults": api.creatives.defaults(),
            "copied": copied,
            "info": api.creative_info.query({"id": "cr_2;cr_1;cr_missing"}),
            "location": api.api_client("location").query({"q": "stockholm", "pageSize": 5}),
            "deleted": api.line_items.delete("li_2"),
        }

    sent: list[httpx.URL] = []

    async def log(request: httpx.Request) -> None:
        sent.append(request.url)

    with serve(app) as base_url:
        seen = await in_thread(flow)
        async with (
            httpx.AsyncClient(event_hooks={"request": [log]}) as http,
            Adnuntius(context="network_1", username=USER, password=PASSWORD, base_url=base_url, http=http) as adn,
        ):
            defaults = await adn.creatives.defaults()
            mine = await adn.line_items.copy("li_1", {"name": "Line 1 (copy)"})
            places = [p.id async for p in adn.locations("Stockholm")]
            few = await adn.locations("Stockholm", pageSize=3).collect()
            await adn.resource("lineitems", allow_delete=True).delete(seen["copied"]["id"])
    assert seen["defaults"] == {
        "objectState": "ACTIVE",
        "userState": "APPROVED",
        "dimensionType": "FIXED",
        "type": "INTERNAL",
        "copyrightStatus": "UNSPECIFIED",
        "source": "DIRECT",
    }
    assert defaults.to_payload() == seen["defaults"]
    copied = seen["copied"]
    assert copied["id"] not in ("li_1", "li_2")
    assert (copied["name"], copied["labels"]) == ("Line 1", ["a"])
    assert (mine.name, mine.labels) == ("Line 1 (copy)", ["a"])
    assert [c["id"] for c in seen["info"]["results"]] == ["cr_2", "cr_1"]
    location = seen["location"]
    assert (location["totalHits"], location["pageStart"], location["pageEnd"]) == (7, 1, 5)
    assert places == list(range(7))
    assert [p.id for p in few] == list(range(7))
    assert seen["deleted"] is None  # 204
    assert set(app.objects("lineitems")) == {"li_1", mine.id}
    deletes = [url for url in sent if url.path.startswith("/api/v1/lineitems/") and url.path.count("/") == 4]
    assert [u.params.get("context") for u in sent if "copy" in u.path] == [NETWORK]
    assert [str(u.params) for u in deletes if u.path.endswith(seen["copied"]["id"])] == [""]
    assert [r.method for r in app.records if r.method == "DELETE"] == ["DELETE", "DELETE"]
