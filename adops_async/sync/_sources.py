"""Each vendor's delivery report for one window: how it is pulled, which raw columns it has, how it normalizes.

The per-vendor mapping is documented in ``docs/sync.md``. A pull raises an :class:`AdOpsError` whenever the window is
not whole: the report download's checks (:func:`adops_async.core.reports.download`), the vendor's own row count
(AppNexus ``row_count``) or totals (Adnuntius ``totals``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

from ..core.client import BaseClient
from ..core.errors import IncompleteData
from ._model import Span, Window

__all__ = ["SOURCES", "Pull", "Source"]


@dataclass
class Pull:
    """One attempt at a window: its rows as the vendor sent them, and the vendor's ids of the reports behind them."""

    report_ids: list[str] = field(default_factory=list)


Puller = Callable[[BaseClient, Window, Span, Mapping[str, Any], Pull], AsyncGenerator[dict[str, Any], None]]


@dataclass(frozen=True)
class Source:
    """A vendor's delivery report.

    Args:
        vendor: the client's vendor name.
        raw_columns: the columns of the vendor's raw table (others go to its ``adops_extra`` JSON column).
        fields: normalized ``delivery`` column -> the raw column it comes from.
        pull: the rows of one window's span (an async generator): the whole window, or a part of it.
        account: the ``account`` of the client's rows (``None`` when the client does not know it).
        splits: whether the vendor's report takes a time range finer than a day, so a window whose report does not
            finish in time or hits the vendor's row cap is pulled again as two halves (see ``docs/sync.md``).
    """

    vendor: str
    raw_columns: tuple[str, ...]
    fields: Mapping[str, str]
    pull: Puller
    account: Callable[[BaseClient], str | None] = lambda client: None
    splits: bool = False


# -- AppNexus ----------------------------------------------------------------------------------------------------

APPNEXUS_COLUMNS = (
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


async def _appnexus(
    client: BaseClient, window: Window, span: Span, options: Mapping[str, Any], pull: Pull
) -> AsyncGenerator[dict[str, Any], None]:
    # Asked by day (the sync never splits an AppNexus window): ``span`` is the whole window.
    spec: dict[str, Any] = {
        "report_type": "network_analytics",
        "columns": list(APPNEXUS_COLUMNS),
        "start_date": window.start.isoformat(),
        "end_date": window.end.isoformat(),  # exclusive, as the API's
        "timezone": "UTC",
        **options,
    }
    job = await getattr(client, "reports").run(**spec)  # noqa: B009 - the client's type is the vendor's
    pull.report_ids.append(str(job.id))
    async with aclosing(job.rows()) as rows:  # checks the body and the poll's row_count
        async for row in rows:
            yield row


# -- Ooyala Pulse ------------------------------------------------------------------------------------------------


async def _ooyala(
    client: BaseClient, window: Window, span: Span, options: Mapping[str, Any], pull: Pull
) -> AsyncGenerator[dict[str, Any], None]:
    reports = getattr(client, "reports")  # noqa: B009
    definition = options.get("definition_id") or (await reports.definitions())[0].id
    period = {"type": "TIME_PERIOD", "start": span.start.isoformat(), "end": span.end.isoformat()}
    job = await reports.run(definition, [*options.get("filters", ()), period])
    pull.report_ids.append(str(job.id))
    if "give_up_after" in options:  # else rows() waits as long as the client's default
        await job.wait(give_up_after=options["give_up_after"])
    async with aclosing(job.rows()) as rows:  # checks the body; the result carries no row count
        async for row in rows:
            yield row


# -- Adnuntius ---------------------------------------------------------------------------------------------------

ADNUNTIUS_COLUMNS = (
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


async def _adnuntius(
    client: BaseClient, window: Window, span: Span, options: Mapping[str, Any], pull: Pull
) -> AsyncGenerator[dict[str, Any], None]:
    reports = getattr(client, "reports")  # noqa: B009 - the client is typed as the base class here
    report = await reports.run(
        span.start.replace(tzinfo=timezone.utc), span.end.replace(tzinfo=timezone.utc), **options
    )
    pull.report_ids.append("stats")
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


def _adnuntius_account(client: BaseClient) -> str | None:
    context = getattr(client, "context", None)
    return str(context) if context else None


SOURCES: Mapping[str, Source] = {
    "appnexus": Source(
        vendor="appnexus",
        raw_columns=APPNEXUS_COLUMNS,
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
        pull=_appnexus,
    ),
    "ooyala": Source(
        vendor="ooyala",
        raw_columns=("Ad", "Impressions", "Click-throughs", "CTR", "Completion_rate"),
        fields={"creative_id": "Ad", "impressions": "Impressions", "clicks": "Click-throughs"},
        pull=_ooyala,
        splits=True,
    ),
    "adnuntius": Source(
        vendor="adnuntius",
        raw_columns=ADNUNTIUS_COLUMNS,
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
        pull=_adnuntius,
        account=_adnuntius_account,
        splits=True,
    ),
}
