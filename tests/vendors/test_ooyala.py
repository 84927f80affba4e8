"""Ooyala Pulse against its strict sandbox on a real socket: Booking XML, read-modify-write, auth modes, errors,
the Ad API, reports and targeting-template errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta, timezone

import anyio
import httpx
import pytest

from adops_async import (
    AuthError,
    DecodeError,
    Gate,
    MaxInFlight,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    RetryPolicy,
    ValidationFailed,
)
from adops_async.core.dialect import ErrorInfo
from adops_async.sandbox import Fault, serve
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.ooyala import Campaign, OoyalaDialect, OoyalaPulse, ReportFailed, Rules, TemplateQuotaExceeded
from adops_async.vendors.ooyala._reports import json_table_rows

pytestmark = pytest.mark.anyio

KEY = "sandbox-key"
FULL = {
    "name": "Royco_2016_10",
    "advertiser_id": "20020002-f299-489a-a9e1-362bfbe0c676",
    "agencyId": "30030003-f299-489a-a9e1-362bfbe0c676",
    "budget": {"value": 1500.5},
    "custom_id": "RC-10",
    "description": "autumn push",
    "enabled": True,
    "exclusive": True,
    "priority": 7,
    "goal_type": "IMPRESSION",
    "vast_enabled": True,
    "end": "2016-10-30T00:00:00+0200",
    "someFutureField": "kept",
}


@pytest.fixture
def sandbox() -> Iterator[tuple[OoyalaSandbox, str]]:
    app = OoyalaSandbox(report_seconds=0.05)
    with serve(app) as url:
        yield app, url


@pytest.fixture
async def pulse(sandbox: tuple[OoyalaSandbox, str]) -> AsyncIterator[OoyalaPulse]:
    async with OoyalaPulse(api_key=KEY, base_url=sandbox[1]) as client:
        yield client


async def test_booking_crud_lists_and_matrix_urls(sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse) -> None:
    app, _ = sandbox
    created = await pulse.campaigns.create(Campaign(name="Royco", enabled=True))
    assert created.id
    assert created.name == "Royco"
    got = await pulse.campaigns.get(created.id)
    assert (got.name, got.enabled, got.include_in_forecast, got.status) == ("Royco", True, True, "UPCOMING")
    one = await pulse.campaigns.list(state="ENABLED").collect()  # a one-item <collection> is still a list
    assert [c.id for c in one] == [created.id]
    assert await pulse.campaigns.list(state="DISABLED").collect() == []
    assert len(await pulse.campaigns.list(status="UPCOMING").collect()) == 1
    assert any(r.path == f"/api/1.0/campaign/by_campaign_id;id={created.id}" for r in app.records)
    await pulse.campaigns.delete(created.id)
    with pytest.raises(NotFound, match="not found") as caught:  # an XML error body
        await pulse.campaigns.get(created.id)
    assert caught.value.code == "NotFoundError"
    assert caught.value.vendor == "ooyala"
    assert not await pulse.campaigns.exists(created.id)
    with pytest.raises(ValidationFailed, match="required: name"):
        await pulse.campaigns.create({"description": "no name"})
    assert app.violations == []


async def test_update_merges_so_no_field_is_cleared(sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse) -> None:
    app, _ = sandbox
    created = await pulse.campaigns.create(FULL)
    assert created.id is not None
    before = app.beans["campaign"][created.id].copy()
    updated = await pulse.campaigns.update(created.id, {"name": "Renamed"})
    after = app.beans["campaign"][created.id]
    assert after["name"] == "Renamed"
    assert {k: v for k, v in after.items() if k != "name"} == {k: v for k, v in before.items() if k != "name"}
    assert after["someFutureField"] == "kept"
    assert after["budget"] == {"value": "1500.5"}
    assert updated.name == "Renamed"
    assert updated.priority == 7
    assert [r.method for r in app.records[-2:]] == ["GET", "PUT"]
    # The sandbox really does clear what a PUT leaves out: replace() is the explicit full write.
    await pulse.campaigns.replace({"id": created.id, "name": "Only a name"})
    assert set(app.beans["campaign"][created.id]) == {"id", "name"}


async def test_goals_clients_rules_notifications(sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse) -> None:
    advertiser = await pulse.clients.create({"name": "Royco", "type": "ADVERTISER", "email": "ads@royco.test"})
    assert advertiser.id is not None
    campaign = await pulse.campaigns.create({"name": "C", "advertiserId": advertiser.id})
    assert campaign.id is not None
    notes = await pulse.campaigns.notifications(campaign.id)
    assert [n["message"] for n in notes] == ["The campaign has no goals"]
    goal = await pulse.goals.create(
        {
            "campaignId": campaign.id,
            "start": "2016-09-29T03:49:45",
            "goalValue": 1000,
            "type": "IMPRESSION",
            "variant": "NORMAL",
            "name": "G",
        }
    )
    assert goal.id is not None
    assert [g.id for g in await pulse.goals.of_campaign(campaign.id).collect()] == [goal.id]
    assert (await pulse.goals.update(goal.id, {"goal_value": 2000})).goal_value == 2000
    assert (await pulse.goals.get(goal.id)).start == datetime(2016, 9, 29, 3, 49, 45)
    assert await pulse.campaigns.notifications(campaign.id) == []
    assert [c.id for c in await pulse.clients.of_campaign(campaign.id).collect()] == [advertiser.id]
    assert len(await pulse.clients.list().collect()) == 1
    rules = Rules(parent_id=campaign.id, tags=[{"resourceId": "t1", "ruleType": "ALL_OF", "variableType": "TAG"}])
    await pulse.campaigns.set_rules(campaign.id, rules)
    read = await pulse.campaigns.rules(campaign.id)
    assert read.parent_id == campaign.id
    assert read.tags == [{"resourceId": "t1", "ruleType": "ALL_OF", "variableType": "TAG"}]
    assert (await pulse.goals.rules(goal.id)).parent_id == goal.id


def test_dates_read_both_offsets_and_write_the_vendor_form() -> None:
    plus2 = timezone(timedelta(hours=2))
    for text in ("2016-10-30T00:00:00+0200", "2016-10-30T00:00:00+02:00"):
        assert Campaign.model_validate({"end": text}).end == datetime(2016, 10, 30, tzinfo=plus2)
    assert Campaign.model_validate({"end": "2016-10-30T00:00:00+0200"}).to_payload() == {
        "end": "2016-10-30T00:00:00+0200"
    }


def _info(status: int, body: bytes, *, legacy: bool = False) -> ErrorInfo | None:
    response = httpx.Response(status, content=body, request=httpx.Request("GET", "https://api.videoplaza.com/x"))
    return OoyalaDialect(legacy=legacy).error_for(response, None)


def test_error_bodies_json_xml_and_empty() -> None:
    forbidden = _info(403, b'{"type":"ForbiddenError","message":"Not your campaign"}')
    assert forbidden is not None
    assert forbidden.error_class is PermissionDenied
    assert (forbidden.message, forbidden.code) == ("Not your campaign", "ForbiddenError")
    quota = _info(403, b'{"type":"ForbiddenError","message":"You have used 5 (100%) of your 5 templates. Remove."}')
    assert quota is not None
    assert quota.error_class is TemplateQuotaExceeded
    xml = _info(404, b"<error><type>NotFoundError</type><message>gone</message></error>")
    assert xml is not None
    assert (xml.error_class, xml.message) == (NotFound, "gone")
    empty = _info(401, b"")
    assert empty is not None
    assert empty.error_class is AuthError
    assert not empty.renew_auth
    legacy = _info(401, b"", legacy=True)
    assert legacy is not None
    assert legacy.renew_auth
    assert _info(302, b"") is None
    assert _info(201, b"") is None


async def test_bad_api_key_is_permanent(sandbox: tuple[OoyalaSandbox, str]) -> None:
    app, url = sandbox
    async with OoyalaPulse(api_key="wrong-key-123", base_url=url) as pulse:
        with pytest.raises(AuthError) as caught:
            await pulse.campaigns.list().collect()
    assert app.count() == 1  # no retry, no login
    assert "wrong-key-123" not in str(caught.value) + repr(caught.value)


async def test_ads_and_assets(sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse) -> None:
    app, _ = sandbox
    ad = await pulse.ads.create(
        {"name": "A", "goalId": "g-1", "weight": 3, "creative": {"type": "standard", "insertionPoint": "preroll"}}
    )
    assert ad.id is not None
    assert ad.enabled is False
    updated = await pulse.ads.update(ad.id, {"name": "B"})
    assert app.ads[ad.id] == {"id": ad.id, "name": "B", "goalId": "g-1", "weight": 3, "enabled": False,
                              "creative": {"type": "standard", "insertionPoint": "preroll"}}  # fmt: skip
    assert updated.creative is not None
    assert updated.creative.insertion_point == "preroll"
    by_uri = await pulse.assets.upload_video("clip.mp4", download_uri="https://cdn.test/clip.mp4")
    by_bytes = await pulse.assets.upload_video("clip.mov", data=b"\x00" * 64)
    assert set(app.assets) == {by_uri, by_bytes}
    with pytest.raises(ValidationFailed, match="extension"):
        await pulse.assets.upload_video("clip", download_uri="https://cdn.test/clip")


async def test_legacy_login_is_refused_without_leaking_the_password(sandbox: tuple[OoyalaSandbox, str]) -> None:
    app, url = sandbox
    async with OoyalaPulse(username="sandbox", password="not-the-password", base_url=url) as pulse:
        with pytest.raises(AuthError) as caught:
            await pulse.campaigns.list().collect()
    assert "not-the-password" not in str(caught.value) + repr(caught.value)
    assert app.logins == 0
    assert app.count() == 1


async def test_reports_small_failed_and_unknown(sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse) -> None:
    app, _ = sandbox
    definitions = await pulse.reports.definitions()
    assert definitions[0].name == "Campaign performance by creative"
    job = await pulse.reports.run(definitions[0].id, [{"type": "CAMPAIGN", "id": "c-1"}])
    await job.wait(first=0.01)
    rows = [row async for row in job.rows()]
    assert len(rows) == 10
    assert rows[1] == {"Ad": "ad-1", "Impressions": 1001, "Click-throughs": 1, "CTR": 0.001, "Completion_rate": 0.5}
    app.fail_reports.append("Report too large: narrow the time period")
    failing = await pulse.reports.run(definitions[0].id)
    with pytest.raises(ReportFailed, match="narrow the time period"):
        await failing.wait(first=0.01)
    with pytest.raises(NotFound):
        await pulse.reports.job("nope").check()


async def test_template_quota_is_a_typed_error(sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse) -> None:
    app, _ = sandbox
    app.template_quota = 2
    first = await pulse.templates.create("one")
    await pulse.templates.create("two")
    assert (await pulse.templates.usage()).active == 2
    with pytest.raises(QuotaExceeded, match=r"You have used 2 \(100%\) of your 2 templates") as caught:
        await pulse.templates.create("three")
    assert isinstance(caught.value, PermissionDenied)
    assert caught.value.status == 403
    await pulse.templates.rename(first, "uno")
    await pulse.templates.delete(first.id or "")
    assert [t.name for t in await pulse.templates.list().collect()] == ["two"]


async def test_server_errors_are_retried_for_reads_only(sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse) -> None:
    app, _ = sandbox
    app.inject(Fault("status", status=503, count=1, path="/api/1.0/campaign"))
    assert await pulse.campaigns.list().collect() == []
    app.inject(Fault("status", status=503, count=1, path="/api/1.0/campaign"))
    with pytest.raises(Exception, match="503"):
        await pulse.campaigns.create({"name": "x"})  # a create may have happened: never sent twice


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_report_rows_parse_across_any_chunk_boundary() -> None:
    body = b'{"id":"r","headers":["a","b"],"rows":[["x, ]",1],["y",[2,3]] , ["z",null]]}'
    expected = [{"a": "x, ]", "b": 1}, {"a": "y", "b": [2, 3]}, {"a": "z", "b": None}]
    for size in (1, 2, 7, len(body)):
        assert [row async for row in json_table_rows(_chunks(body, size))] == expected
    flipped = b'{"rows":[[1,2]],"headers":["a","b"]}'
    assert [row async for row in json_table_rows(_chunks(flipped, 3))] == [{"a": 1, "b": 2}]


async def test_forecasts_use_epoch_ms_and_can_be_cancelled(
    sandbox: tuple[OoyalaSandbox, str], pulse: OoyalaPulse
) -> None:
    app, _ = sandbox
    start = datetime(2016, 10, 1, tzinfo=timezone.utc)
    job = await pulse.forecasts.inventory(start, start + timedelta(days=3), name="Q4", format_types=["PREROLL"])
    sent = next(body for _, _, body in app.forecasts.values())
    assert (sent["startDate"], sent["endDate"]) == (1475280000000, 1475539200000)
    await job.wait(first=0.01)
    result = await job.fetch()
    assert result["totalInventory"]["total"] == 3000
    assert result["name"] == "Q4"
    doomed = await pulse.forecasts.campaign({"name": "C", "goals": []})
    await pulse.forecasts.cancel(doomed)
    with pytest.raises(ReportFailed, match="cancelled"):
        await doomed.wait(first=0.01)


async def test_the_sandbox_catches_a_client_that_breaks_the_rule(sandbox: tuple[OoyalaSandbox, str]) -> None:
    """The proof behind every "zero violations": without the serial gate, overlaps are seen and refused."""
    app, url = sandbox
    loose = Gate(MaxInFlight(8))
    async with OoyalaPulse(api_key=KEY, base_url=url, gate=loose, retry=RetryPolicy(attempts=1)) as pulse:
        outcomes: list[str] = []

        async def call() -> None:
            try:
                await pulse.campaigns.list().collect()
                outcomes.append("ok")
            except RateLimited:
                outcomes.append("refused")

        async with anyio.create_task_group() as tg:
            for _ in range(16):
                tg.start_soon(call)
    assert app.violations
    assert {v.rule for v in app.violations} == {"one-request-at-a-time"}
    assert outcomes.count("refused") == len(app.violations)


async def test_a_short_max_age_renews_at_half_life_not_on_every_call() -> None:
    app = OoyalaSandbox(token_ttl=30, renew_after=None)
    with serve(app) as url:
        async with OoyalaPulse(username="sandbox", password="sandbox-password", base_url=url) as pulse:
            for _ in range(5):
                await pulse.clients.list().collect()
    assert app.logins == 1


async def test_report_rows_decode_a_character_split_across_chunks_and_refuse_a_body_without_rows() -> None:
    body = '{"id":"r","headers":["Ad"],"rows":[["Crème brûlée"],["日本"]]}'.encode()
    for size in (1, 2, 3):
        assert [row async for row in json_table_rows(_chunks(body, size))] == [{"Ad": "Crème brûlée"}, {"Ad": "日本"}]
    for wrong in (b"", b"null", b"{}", b'{"headers":["a"]}', b'{"rows":{}}'):
        with pytest.raises(DecodeError, match=r"rows list|malformed"):
            [row async for row in json_table_rows(_chunks(wrong, 2))]
