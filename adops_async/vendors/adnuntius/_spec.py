"""Adnuntius in the vendor registry (:mod:`adops_async.vendors`): name, client, normalized mapping, resources,
reports, delivery report and sandbox."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ...core.client import BaseClient
from ...core.errors import IncompleteData
from ...core.reports import ReportJob
from .._spec import DeliverySpec, ReportOption, ReportSpec, SandboxSpec, VendorSpec, resources
from ._client import Adnuntius

if TYPE_CHECKING:
    from ...sandbox import Sandbox

__all__ = ["ADNUNTIUS", "DELIVERY_COLUMNS"]


async def _run_report(client: Any, options: Mapping[str, Any]) -> ReportJob:
    job: ReportJob = await client.reports.run(**options)
    return job


#: The raw columns of the delivery report (``/api/v1/stats`` leaves) the sync pulls.
DELIVERY_COLUMNS = (
    "advertiser_id",
    "advertiser_name",
    "order_id",
    "order_name",
    "lineItem_id",
    "lineItem_name",
    "creative_id",
    "creative_name",
    "impressions",
    "clicks",
    "ctr",
    "rendered",
    "viewables",
    "uniqueUsers",
    "cost_amount",
    "cost_currency",
    "eCpm_amount",
    "eCpm_currency",
)


async def _delivery(
    client: Any, start: datetime, end: datetime, options: Mapping[str, Any], report_ids: list[str]
) -> AsyncGenerator[dict[str, Any], None]:
    utc = timezone.utc
    report = await client.reports.run(start.replace(tzinfo=utc), end.replace(tzinfo=utc), **options)
    report_ids.append("stats")
    seen = {"impressions": 0, "clicks": 0}
    async with aclosing(report.rows()) as rows:
        async for row in rows:
            for name in seen:
                seen[name] += int(row.get(name) or 0)
            yield row
    totals = report.result.totals if report.result is not None else None
    if totals is None:
        return
    # The answer's own totals are the vendor's count: leaves that do not add up to them are not the whole window.
    for name, count in seen.items():
        expected = int(getattr(totals, name))
        if count != expected:
            raise IncompleteData(
                f"the stats' leaves add up to {count} {name} where their totals say {expected}",
                expected=expected,
                seen=count,
                vendor="adnuntius",
                code="totals",
            )


def _account(client: BaseClient) -> str | None:
    context = getattr(client, "context", None)
    return str(context) if context else None


def _sandbox(speed: float) -> Sandbox:
    from ...sandbox.adnuntius import AdnuntiusSandbox

    app = AdnuntiusSandbox(speed=speed, rate_limit=(12, 60.0))  # tight: the demo shows its 429 cooldowns
    app.seed("orders", ({"id": f"order_{i}", "name": f"Order {i}"} for i in range(50)))
    app.seed(
        "lineitems",
        (
            {
                "id": f"li_{i}",
                "name": f"Line item {i}",
                "order": {"id": f"order_{i % 50}"},
                "startDate": "2026-01-01T00:00:00Z",
                "endDate": "2026-12-31T00:00:00Z",
                "objectState": "ACTIVE",
            }
            for i in range(5_000)
        ),
    )
    return app


def _delivery_sandbox(speed: float, rows: int) -> Sandbox:
    from ...sandbox._delivery import DeliveryFigures
    from ...sandbox.adnuntius import AdnuntiusSandbox

    app = AdnuntiusSandbox(speed=speed)
    app.delivery = DeliveryFigures("adnuntius", rows=rows, currency="NOK")
    return app


ADNUNTIUS = VendorSpec(
    name="adnuntius",
    client=Adnuntius,
    # context (the network id) is required: a login without it cannot reach any object.
    credentials=(("username", "password", "context"), ("api_key", "context")),
    resources=resources(
        "advertisers",
        "orders",
        "line_items",
        "creatives",
        "assets",
        "sites",
        "ad_units",
        "users",
        "teams",
        "networks",
        "tiers",
        "layouts",
        "segments",
    ),
    kinds={"advertisers": "advertisers", "campaigns": "orders", "line_items": "line_items", "creatives": "creatives"},
    fields={
        "status": ("object_state", "objectState"),
        "start": ("start_date", "startDate"),
        "end": ("end_date", "endDate"),
        "budget": (),
    },
    report=ReportSpec(
        run=_run_report,
        options={
            "start": ReportOption("text", "ISO date-time, e.g. 2026-01-01T00:00:00Z", required=True),
            "end": ReportOption("text", "ISO date-time", required=True),
            "group_by": ReportOption("text", "ORDER, LINE_ITEM, ADVERTISER, CREATIVE or daily"),
            "all": ReportOption("text", "lineItem, order, creative, advertiser or adUnit"),
            "orderId": ReportOption("text", "only this order"),
            "currency": ReportOption("text", "e.g. EUR"),
        },
    ),
    delivery=DeliverySpec(
        raw_columns=DELIVERY_COLUMNS,
        fields={
            "advertiser_id": "advertiser_id",
            "advertiser_name": "advertiser_name",
            "campaign_id": "order_id",
            "campaign_name": "order_name",
            "line_item_id": "lineItem_id",
            "line_item_name": "lineItem_name",
            "creative_id": "creative_id",
            "creative_name": "creative_name",
            "impressions": "impressions",
            "clicks": "clicks",
            "spend": "cost_amount",
            "currency": "cost_currency",
        },
        pull=_delivery,
        account=_account,
    ),
    sandbox=SandboxSpec(
        build=_sandbox,
        settings=lambda app, url: {
            "username": "user@example.com",
            "password": "secret",
            "context": "network_1",
            "base_url": url,
        },
        hint="curl -H 'Content-Type: application/json' -d "
        '\'{"grant_type":"password","scope":"ng_api","username":"user@example.com","password":"secret"}\' '
        "URL/api/authenticate",
        demo_pull="line_items",
        report_example={"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z", "group_by": "LINE_ITEM"},
        delivery=_delivery_sandbox,
    ),
)
