"""Booking lookups by id answer the documented ``<collection>`` shape (issue 17): ``get``, ``exists``, ``update``,
``goals.get``, ``clients.get`` and ``get_many`` work against it on a real socket, and a bare bean still reads."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adops_async import NotFound
from adops_async.sandbox import serve
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.ooyala import OoyalaPulse

pytestmark = pytest.mark.anyio

KEY = "sandbox-key"
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def served() -> Iterator[tuple[OoyalaSandbox, str]]:
    app = OoyalaSandbox()  # the documented shape is the default
    with serve(app) as url:
        yield app, url


async def test_the_sandbox_answers_a_lookup_by_id_as_a_collection(served: tuple[OoyalaSandbox, str]) -> None:
    app, url = served
    first, second = app.seed("campaign", 2)
    async with httpx.AsyncClient(base_url=url, headers={"x-o-api-key": KEY}) as http:
        one = await http.get(f"/api/1.0/campaign/by_campaign_id;id={first}")
        two = await http.get(f"/api/1.0/campaign/by_campaign_id;id={first};id={second}")
    assert one.status_code == 200
    assert one.text.split("?>", 1)[1].lstrip().startswith("<collection><campaignBean>")
    assert two.text.count("<campaignBean>") == 2


async def test_get_exists_update_goals_clients_against_the_collection_shape(
    served: tuple[OoyalaSandbox, str],
) -> None:
    app, url = served
    async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
        advertiser = await pulse.clients.create({"name": "Royco", "type": "ADVERTISER", "email": "ads@royco.test"})
        assert advertiser.id is not None
        campaign = await pulse.campaigns.create({"name": "C", "advertiserId": advertiser.id, "priority": 7})
        assert campaign.id is not None
        goal = await pulse.goals.create(
            {
                "campaignId": campaign.id,
                "start": "2016-09-29T03:49:45",
                "goalValue": 10,
                "type": "IMPRESSION",
                "variant": "NORMAL",
            }
        )
        assert goal.id is not None

        got = await pulse.campaigns.get(campaign.id)
        assert (got.id, got.name, got.priority, got.advertiser_id) == (campaign.id, "C", 7, advertiser.id)
        assert await pulse.campaigns.exists(campaign.id) is True
        assert await pulse.campaigns.exists(MISSING) is False
        updated = await pulse.campaigns.update(campaign.id, {"description": "autumn"})
        assert (updated.description, updated.priority, updated.name) == ("autumn", 7, "C")
        stored = app.beans["campaign"][campaign.id]
        assert (stored["description"], stored["priority"], stored["advertiserId"]) == ("autumn", "7", advertiser.id)
        assert (await pulse.goals.get(goal.id)).goal_value == 10
        assert (await pulse.goals.update(goal.id, {"goal_value": 20})).variant == "NORMAL"
        assert app.beans["goal"][goal.id]["variant"] == "NORMAL"
        assert (await pulse.clients.get(advertiser.id)).email == "ads@royco.test"
        assert await pulse.goals.exists(MISSING) is False
        with pytest.raises(NotFound):
            await pulse.clients.get(MISSING)
        both = await pulse.campaigns.get_many([campaign.id, MISSING])
        assert [c.id for c in both] == [campaign.id]
        assert await pulse.campaigns.get_many([MISSING]) == []
    assert app.violations == []


async def test_a_bare_bean_and_an_empty_collection_read_too() -> None:
    bare = OoyalaSandbox(by_id="bean", missing_by_id="empty")
    with serve(bare) as url:
        [campaign_id] = bare.seed("campaign", 1)
        async with OoyalaPulse(api_key=KEY, base_url=url) as pulse:
            assert (await pulse.campaigns.get(campaign_id)).name == "campaign 0"
            assert (await pulse.campaigns.update(campaign_id, {"priority": 9})).name == "campaign 0"
            assert await pulse.campaigns.exists(MISSING) is False  # an empty <collection/>
            with pytest.raises(NotFound) as caught:
                await pulse.campaigns.get(MISSING)
    assert caught.value.status == 200
    assert caught.value.url is not None
    assert MISSING in caught.value.url
    assert bare.beans["campaign"][campaign_id]["priority"] == "9"
