"""Ooyala Pulse in the vendor registry (:mod:`adops_async.vendors`): name, client, normalized mapping, resources,
reports, delivery report and sandbox."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Mapping
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...core.reports import ReportJob
from .._spec import DeliverySpec, ListCall, ReportOption, ReportSpec, ResourceSpec, SandboxSpec, VendorSpec
from ._client import OoyalaPulse

if TYPE_CHECKING:
    from ...sandbox import Sandbox

__all__ = ["OOYALA"]


async def _goals(client: Any, filters: Mapping[str, Any]) -> AsyncIterator[Any]:
    # The Booking API lists goals per campaign only: one request for the campaigns, then one per campaign.
    async for campaign in client.campaigns.list(**filters):
        async for goal in client.goals.of_campaign(campaign.id):
            yield goal


def _of_campaign(attribute: str, *, required: bool) -> ListCall:
    """Goals (and, optionally, clients) are listed campaign by campaign: ``campaign_id=ID``."""

    def list_of(client: Any, filters: Mapping[str, str]) -> AsyncIterable[Any]:
        resource = getattr(client, attribute)
        extra = sorted(set(filters) - {"campaign_id"})
        if extra:
            raise ValueError(f"ooyala {attribute} take only campaign_id=ID, not {', '.join(extra)}")
        if "campaign_id" in filters:
            result: AsyncIterable[Any] = resource.of_campaign(filters["campaign_id"])
            return result
        if required:
            raise ValueError(
                f"ooyala lists {attribute} per campaign: adops list ooyala {attribute} campaign_id=ID "
                "(adops list ooyala campaigns shows the ids)"
            )
        listed: AsyncIterable[Any] = resource.list()
        return listed

    return list_of


async def _report_definitions(client: Any, filters: Mapping[str, str]) -> AsyncIterator[Any]:
    if filters:
        raise ValueError("ooyala report_definitions take no filters")
    for definition in await client.reports.definitions():
        yield definition


async def _run_report(client: Any, options: Mapping[str, Any]) -> ReportJob:
    """Run a report; without ``definition_id`` (the demo, ``--sandbox``) the account's first definition."""
    definition = options.get("definition_id") or (await client.reports.definitions())[0].id
    filters = options.get("filters", [{"type": "TIME_PERIOD", "dynamicTimePeriodType": "LAST_7_DAYS"}])
    flags = {name: options[name] for name in ("use_names", "repeat_dimension_values") if name in options}
    job: ReportJob = await client.reports.run(definition, filters, **flags)
    return job


async def _custom_delivery(
    client: Any, start: datetime, end: datetime, options: Mapping[str, Any], report_ids: list[str]
) -> AsyncGenerator[dict[str, Any], None]:
    """The span as a Custom Reporting report (``options["custom"]``: its definition without the time range), which
    holds 100,000 rows at most: a result that reaches the cap raises ``ReportTruncated`` (code ``row-cap``) after its
    last row, and the sync splits the window (docs/sync.md)."""
    span = {"startDateTime": f"{start.isoformat()}+00:00", "endDateTime": f"{end.isoformat()}+00:00"}
    name = f"adops sync {start:%Y-%m-%dT%H:%M}..{end:%Y-%m-%dT%H:%M} UTC"
    job = await client.custom_reports.run(name, {**options["custom"], **span})
    report_ids.append(str(job.id))
    if "give_up_after" in options:
        await job.wait(give_up_after=options["give_up_after"])
    async with aclosing(job.rows()) as rows:  # checks the body and its metaData.rowCount
        async for row in rows:
            yield row


async def _delivery(
    client: Any, start: datetime, end: datetime, options: Mapping[str, Any], report_ids: list[str]
) -> AsyncGenerator[dict[str, Any], None]:
    if "custom" in options:
        async with aclosing(_custom_delivery(client, start, end, options, report_ids)) as custom:
            async for row in custom:
                yield row
        return
    reports = client.reports
    definition = options.get("definition_id") or (await reports.definitions())[0].id
    period = {"type": "TIME_PERIOD", "start": start.isoformat(), "end": end.isoformat()}
    job = await reports.run(definition, [*options.get("filters", ()), period])
    report_ids.append(str(job.id))
    if "give_up_after" in options:  # else rows() waits as long as the client's default
        await job.wait(give_up_after=options["give_up_after"])
    async with aclosing(job.rows()) as rows:  # checks the body; the result carries no row count
        async for row in rows:
            yield row


def _sandbox(speed: float) -> Sandbox:
    from ...sandbox.ooyala import OoyalaSandbox

    app = OoyalaSandbox(speed=speed, report_seconds=10.0, report_rows=5_000)
    for c in range(40):
        campaign_id = f"00000000-0000-4000-8000-{c:012d}"
        app.beans["campaign"][campaign_id] = {
            "id": campaign_id,
            "name": f"Campaign {c}",
            "advertiserId": "20020002-f299-489a-a9e1-362bfbe0c676",
            "enabled": "true",
            "status": "ACTIVE",
            "budget": {"value": str(1000 * (c + 1))},
        }
        for g in range(5):
            goal_id = f"00000000-0000-4000-9000-{c * 5 + g:012d}"
            app.beans["goal"][goal_id] = {
                "id": goal_id,
                "campaignId": campaign_id,
                "name": f"Goal {c}.{g}",
                "start": "2026-01-01T00:00:00+0200",
                "goalValue": "10000",
                "type": "IMPRESSION",
                "variant": "NORMAL",
            }
    return app


def _delivery_sandbox(speed: float, rows: int) -> Sandbox:
    from ...sandbox._delivery import DeliveryFigures
    from ...sandbox.ooyala import OoyalaSandbox

    app = OoyalaSandbox(speed=speed, report_seconds=2.0)
    app.delivery = DeliveryFigures("ooyala", rows=rows)
    return app


def _settings(app: Sandbox, url: str) -> dict[str, Any]:
    return {"api_key": "sandbox-key", "base_url": url}


def _delivery_settings(app: Sandbox, url: str) -> dict[str, Any]:
    # Report polls wait in vendor seconds: on the sandbox's clock they shrink with its speed.
    return {**_settings(app, url), "clock": app.client_clock()}


OOYALA = VendorSpec(
    name="ooyala",
    client=OoyalaPulse,
    credentials=(("api_key",), ("username", "password")),
    resources={
        "campaigns": ResourceSpec.plain(
            "campaigns", note="status=ACTIVE|RECENT|UPCOMING, state=ARCHIVED|DISABLED|ENABLED"
        ),
        "goals": ResourceSpec(
            "goals", _of_campaign("goals", required=True), ResourceSpec.plain("goals").get, "list: campaign_id=ID"
        ),
        "clients": ResourceSpec(
            "clients", _of_campaign("clients", required=False), ResourceSpec.plain("clients").get, "campaign_id=ID"
        ),
        "ads": ResourceSpec.plain("ads", listing=False, note="get only"),
        "report_definitions": ResourceSpec(
            "reports", _report_definitions, None, "list only: the definition_id= values"
        ),
    },
    kinds={"advertisers": "clients", "campaigns": "campaigns", "line_items": _goals, "creatives": "ads"},
    fields={"status": ("status", "enabled"), "start": ("start",), "end": ("end",), "budget": ("budget",)},
    report=ReportSpec(
        run=_run_report,
        options={
            "definition_id": ReportOption("text", "adops list ooyala report_definitions shows them", required=True),
            "filters": ReportOption(
                "json", 'a JSON list, e.g. [{"type": "TIME_PERIOD", "dynamicTimePeriodType": "LAST_7_DAYS"}]'
            ),
            "use_names": ReportOption("bool", "names instead of ids"),
            "repeat_dimension_values": ReportOption("bool", "default true"),
        },
    ),
    delivery=DeliverySpec(
        raw_columns=("Ad", "Impressions", "Click-throughs", "CTR", "Completion_rate"),
        fields={"creative_id": "Ad", "impressions": "Impressions", "clicks": "Click-throughs"},
        pull=_delivery,
        splits=True,
    ),
    sandbox=SandboxSpec(
        build=_sandbox,
        settings=_settings,
        hint="curl -H 'x-o-api-key: sandbox-key' URL/api/1.0/campaign",
        demo_pull="line_items",
        delivery=_delivery_sandbox,
        delivery_settings=_delivery_settings,
    ),
)
