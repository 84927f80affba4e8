"""Adnuntius acceptance, end to end against the strict sandbox (judged by what the sandbox saw): on a real socket, or in
process on a virtual clock where a rate limit must bite whatever the machine's load (``tests/asgi.py: in_process``)."""

from __future__ import annotations

import anyio
import httpx
import pytest

from adops_async import ValidationFailed
from adops_async.gates import VirtualClock
from adops_async.sandbox import serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.vendors.adnuntius import Adnuntius

from ..asgi import in_process

pytestmark = pytest.mark.anyio

USER, PASSWORD = "user@example.com", "secret"


def client(base_url: str, **options: object) -> Adnuntius:
    return Adnuntius(context="network_1", username=USER, password=PASSWORD, base_url=base_url, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("page_base", "below_base", "echo_page"),
    [(0, "clamp", True), (1, "clamp", False), (1, "empty", False)],
)
async def test_5000_objects_pulled_exactly_once_whatever_the_page_base(
    page_base: int, below_base: str, echo_page: bool
) -> None:
    # A rate limit that bites during the pull, 4 requests per 18 s: in process on a virtual clock the 11 pages take
    # no time of their own, so it bites whatever the machine's load (on a real socket at speed 60 it did not always).
    app = AdnuntiusSandbox(rate_limit=(4, 18.0), page_base=page_base, below_base=below_base, echo_page=echo_page)
    app.seed("advertisers", ({"id": f"adv_{i:05d}", "name": f"Advertiser {i}"} for i in range(5000)))
    async with VirtualClock().running() as clock:
        http = in_process(app, clock)
        async with client("http://adnuntius.test", page_size=500, http=http, clock=clock) as adn:
            ids = [a.id async for a in adn.advertisers.list()]
    assert len(ids) == 5000
    assert len(set(ids)) == 5000
    assert app.cooldowns >= 1, "the limit should have bitten at least once"
    assert app.violations == []
    assert app.responses_429 == app.cooldowns  # sequential pull: one refused request per pause, none inside one


@pytest.mark.parametrize(("max_in_flight", "gets", "limit"), [(1, 200, (10, 3.0)), (4, 160, (10, 12.0))])
async def test_burst_of_concurrent_gets_pauses_the_whole_client(
    max_in_flight: int, gets: int, limit: tuple[int, float]
) -> None:
    # In process on a virtual clock, requests take no time of their own: the limit is far below the client's
    # throughput on any machine, and 200 gets are 20 limits' worth (on a real socket at speed 60 it took 1000 real
    # round trips to be sure the client outran the limit at all).
    app = AdnuntiusSandbox(rate_limit=limit)
    app.seed("lineitems", ({"id": f"li_{i}", "name": f"Line {i}", "order": None} for i in range(50)))
    results: list[str] = []
    async with VirtualClock().running() as clock:
        http = in_process(app, clock)
        async with client("http://adnuntius.test", max_in_flight=max_in_flight, http=http, clock=clock) as adn:

            async def get(i: int) -> None:
                item = await adn.line_items.get(f"li_{i % 50}")
                assert item.id is not None
                results.append(item.id)

            async with anyio.create_task_group() as tg:
                for i in range(gets):
                    tg.start_soon(get, i)
            assert adn.gate.stats().responses_429 == app.responses_429
    assert len(results) == gets
    assert app.cooldowns >= 2
    # A violation is a request sent on a connection that had been told to wait. With one request in flight (the
    # default) there are none; with n in flight, only requests admitted before the 429 arrived can race it out.
    assert len(app.violations) <= (max_in_flight - 1) * app.cooldowns
    # Every 429 pauses the whole client: only requests already in flight when a pause began can be refused.
    assert app.responses_429 <= app.cooldowns * max_in_flight
    if max_in_flight == 1:
        assert app.responses_429 == app.cooldowns


async def test_token_expiry_mid_pull_is_refreshed_without_a_second_password_login() -> None:
    app = AdnuntiusSandbox(speed=60)
    app.seed("orders", ({"id": f"o_{i:04d}", "name": f"Order {i}"} for i in range(1000)))
    seen: list[str] = []
    with serve(app) as base_url:
        async with client(base_url, page_size=100) as adn:
            async for order in adn.orders.list():
                seen.append(str(order.id))
                if len(seen) == 450:
                    app.expire_tokens()  # an hour passes: the access token is dead, the refresh token is not
            assert adn.logins == 1
    assert len(seen) == len(set(seen)) == 1000
    assert app.grants == {"password": 1, "refresh_token": 1}
    assert app.count("GET", "/api/v1/orders") == 11  # 10 pages + the one refused with 401 and sent again


async def test_proactive_refresh_before_expiry() -> None:
    # Tokens live 2 s at speed 1; the client refreshes 1.9 s before expiry, i.e. after 0.1 s. The second list comes
    # after the margin (the sleep below) and long before expiry, even if a loaded machine stalls the first for 1.5 s.
    app = AdnuntiusSandbox(speed=1, token_lifetime=2.0)
    app.seed("sites", ({"id": f"s_{i}", "name": f"Site {i}"} for i in range(10)))
    with serve(app) as base_url:
        async with client(base_url, refresh_margin=1.9) as adn:
            assert len(await adn.sites.list().collect()) == 10
            await anyio.sleep(0.1)  # let the token age past the margin (its lifetime, not an order of events)
            assert len(await adn.sites.list().collect()) == 10
            assert adn.logins == 1
    assert app.grants == {"password": 1, "refresh_token": 1}
    assert all(r.status != 401 for r in app.records)


async def test_batch_upsert_with_one_invalid_object_stores_nothing() -> None:
    app = AdnuntiusSandbox()
    app.seed("teams", [{"id": "team_1", "name": "Team"}])
    batch = [
        {"id": "adv_1", "name": "Good", "team": {"id": "team_1"}},
        {"id": "adv_2", "name": "", "team": {"id": "team_1"}},
        {"id": "adv_3", "name": "Also good"},
    ]
    with serve(app) as base_url:
        async with client(base_url) as adn:
            with pytest.raises(ValidationFailed) as caught:
                await adn.advertisers.upsert_many(batch)
            assert list(caught.value.fields) == ["name"]
            assert "adv_2" in caught.value.fields["name"][0]
            assert "{{" not in str(caught.value)
            assert await adn.advertisers.list().collect() == []
            stored = await adn.advertisers.upsert_many([b for b in batch if b["name"]])
            assert [a.id for a in stored] == ["adv_1", "adv_3"]
    assert set(app.objects("advertisers")) == {"adv_1", "adv_3"}


async def test_asset_upload_round_trips_bytes_exactly() -> None:
    app = AdnuntiusSandbox()
    app.seed("creatives", [{"id": "creative_1", "name": "Leaderboard"}])
    content = bytes(range(256)) * 40 + b"\r\n--boundary-lookalike\r\n\x00\xff"
    with serve(app) as base_url:
        async with client(base_url) as adn:
            asset = await adn.assets.upload(
                "creative_1", content, asset_id="asset_1", file_name="leaderboard.png", mime_type="image/png"
            )
            assert asset.file_size_bytes == len(content)
            again = await adn.assets.get_asset("creative_1", "asset_1")
            assert again.cdn_id == asset.cdn_id
        async with httpx.AsyncClient(base_url=base_url) as plain:
            downloaded = (await plain.get(f"/cdn/{asset.cdn_id}")).content
    assert downloaded == content
    assert app.files[str(asset.cdn_id)] == content
