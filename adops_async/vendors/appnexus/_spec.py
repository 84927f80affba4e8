"""AppNexus in the vendor registry (:mod:`adops_async.vendors`): name, client, normalized mapping, resources,
reports, delivery report and sandbox."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...core.reports import ReportJob
from .._spec import DeliverySpec, ReportOption, ReportSpec, SandboxSpec, VendorSpec, resources
from ._client import AppNexus

if TYPE_CHECKING:
    from ...sandbox import Sandbox

__all__ = ["APPNEXUS", "DELIVERY_COLUMNS"]


async def _run_report(client: Any, options: Mapping[str, Any]) -> ReportJob:
    job: ReportJob = await client.reports.run(**options)
    return job


#: The raw columns of the delivery report the sync pulls.
DELIVERY_COLUMNS = (
    "day",
    "advertiser_id",
    "advertiser_name",
    "insertion_order_id",
    "insertion_order_name",
    "line_item_id",
    "line_item_name",
    "creative_id",
    "creative_name",
    "imps",
    "clicks",
    "booked_revenue",
)


async def _delivery(
    client: Any, start: datetime, end: datetime, options: Mapping[str, Any], report_ids: list[str]
) -> AsyncGenerator[dict[str, Any], None]:
    spec: dict[str, Any] = {
        "report_type": "network_analytics",
        "columns": list(DELIVERY_COLUMNS),
        # Asked by whole day (the sync never splits an AppNexus window): the span is the window's days.
        "start_date": start.date().isoformat(),
        "end_date": end.date().isoformat(),  # exclusive, as the API's
        "timezone": "UTC",
        **options,
    }
    job = await client.reports.run(**spec)
    report_ids.append(str(job.id))
    async with aclosing(job.rows()) as rows:  # checks the body and the poll's row_count
        async for row in rows:
            yield row


def _sandbox(speed: float) -> Sandbox:
    from ...sandbox.appnexus import AppNexusSandbox

    app = AppNexusSandbox(speed=speed, report_rows=20_000, report_delay=5.0)
    app.seed_line_items(12_000, advertisers=40)
    for advertiser in range(1, 41):  # seed_line_items numbers its advertisers from 1
        app.add("insertion-order", name=f"Insertion order {advertiser}", advertiser_id=advertiser)
    return app


def _delivery_sandbox(speed: float, rows: int) -> Sandbox:
    from ...sandbox._delivery import DeliveryFigures
    from ...sandbox.appnexus import AppNexusSandbox

    app = AppNexusSandbox(speed=speed, report_delay=2.0)
    app.delivery = DeliveryFigures("appnexus", rows=rows)
    return app


APPNEXUS = VendorSpec(
    name="appnexus",
    client=AppNexus,
    credentials=(("username", "password"),),
    resources=resources(
        "advertisers",
        "insertion_orders",
        "line_items",
        "campaigns",
        "creatives",
        "publishers",
        "sites",
        "placements",
        "segments",
        "profiles",
        "users",
        "members",
    ),
    kinds={
        "advertisers": "advertisers",
        "campaigns": "insertion_orders",
        "line_items": "line_items",
        "creatives": "creatives",
    },
    fields={"status": ("state",), "start": ("start_date",), "end": ("end_date",), "budget": ("lifetime_budget",)},
    report=ReportSpec(
        run=_run_report,
        options={
            "report_type": ReportOption("text", "e.g. network_analytics", required=True),
            "columns": ReportOption("list", "comma-separated, e.g. day,imps,clicks", required=True),
            "report_interval": ReportOption("text", "e.g. last_7_days (or start_date and end_date)"),
            "start_date": ReportOption("text", "YYYY-MM-DD (with end_date, instead of report_interval)"),
            "end_date": ReportOption("text", "YYYY-MM-DD"),
            "timezone": ReportOption("text", "e.g. UTC"),
            "filters": ReportOption("json", 'a JSON list, e.g. [{"advertiser_id": 1}]'),
            "orders": ReportOption("json", 'a JSON list, e.g. ["day"]'),
            "params": ReportOption("json", 'query parameters as a JSON object, e.g. {"advertiser_id": 1}'),
        },
    ),
    delivery=DeliverySpec(
        raw_columns=DELIVERY_COLUMNS,
        fields={
            "day": "day",
            "advertiser_id": "advertiser_id",
            "advertiser_name": "advertiser_name",
            "campaign_id": "insertion_order_id",
            "campaign_name": "insertion_order_name",
            "line_item_id": "line_item_id",
            "line_item_name": "line_item_name",
            "creative_id": "creative_id",
            "creative_name": "creative_name",
            "impressions": "imps",
            "clicks": "clicks",
            "spend": "booked_revenue",
        },
        pull=_delivery,
    ),
    sandbox=SandboxSpec(
        build=_sandbox,
        settings=lambda app, url: {
            "username": "api-user",
            "password": "secret",
            "base_url": url,
            "clock": app.client_clock(),
        },
        hint='curl -d \'{"auth":{"username":"api-user","password":"secret"}}\' URL/auth',
        demo_pull="line_items",
        report_example={"report_type": "network_analytics", "columns": ["day", "advertiser_id", "imps", "clicks"]}
        | {"report_interval": "last_7_days"},
        delivery=_delivery_sandbox,
    ),
)
