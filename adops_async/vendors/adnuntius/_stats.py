"""Adnuntius stats: the synchronous ``GET /api/v1/stats`` (docs/vendors/adnuntius.md), typed, and flattened into rows.

The answer nests ``chunks``: each chunk names an entity (``order``, ``lineItem``, ``creative``, ``advertiser``,
``adUnit`` ...) as a reference, holds metrics (``impressions``, ``clicks``, ``cost{currency,amount}`` ...) and may
hold deeper ``chunks`` and its own ``totals``. :meth:`StatsReport.rows` walks to the leaves and yields one flat row per
leaf, keyed ``order_id``, ``order_name``, ``lineItem_id``, ..., ``impressions``, ``cost_amount``, ``cost_currency``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ...core.errors import DecodeError
from ...core.models import VendorModel
from ...core.reports import ReportJob

if TYPE_CHECKING:
    from ._client import Adnuntius

__all__ = ["StatsChunk", "StatsMetrics", "StatsReport", "StatsResult", "iso_utc"]

_METRICS = frozenset(
    {
        "impressions",
        "clicks",
        "ctr",
        "rendered",
        "visibles",
        "viewables",
        "viewability",
        "visibility",
        "uniqueUsers",
        "impressionsPerUniqueUser",
        "averageAuctionRank",
        "cost",
        "eCpm",
    }
)


def iso_utc(value: datetime | str) -> str:
    """An ISO-8601 UTC string as Adnuntius wants (``2024-01-01T00:00:00.000Z``); a naive datetime is taken as UTC,
    and an aware one is converted (ADN-TOOLS refuses non-UTC input; we convert instead)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


class StatsMetrics(VendorModel):
    """The metrics of a stats chunk or of its totals, as Adnuntius names them; metrics not declared here are kept as
    extras under the vendor's names."""

    impressions: int = 0
    """Impressions counted (``impressions``)."""
    clicks: int = 0
    """Clicks counted (``clicks``)."""
    ctr: float | None = None
    """Adnuntius' ``ctr`` (click-through rate), kept as sent; ``None`` when absent."""
    rendered: int | None = None
    """Adnuntius' ``rendered`` count (ads rendered), kept as sent; ``None`` when absent."""
    viewables: int | None = None
    """Adnuntius' ``viewables`` count (viewable impressions), kept as sent; ``None`` when absent."""
    unique_users: int | None = Field(default=None, alias="uniqueUsers")
    """Adnuntius' ``uniqueUsers``, kept as sent; ``None`` when absent."""
    cost: dict[str, Any] | None = None
    """Adnuntius' ``cost``: ``{"currency", "amount"}``; ``None`` when absent."""
    e_cpm: dict[str, Any] | None = Field(default=None, alias="eCpm")
    """Adnuntius' ``eCpm`` (effective cost per thousand): ``{"currency", "amount"}``; ``None`` when absent."""


class StatsChunk(StatsMetrics):
    """One group: its entity reference (an extra field such as ``order``), metrics, and maybe deeper chunks."""

    chunks: list[StatsChunk] = Field(default_factory=list)
    """The deeper groups, when the query grouped by more than one entity."""
    totals: StatsMetrics | None = None
    """The group's own totals, when the vendor sent them."""

    def entities(self) -> dict[str, Mapping[str, Any]]:
        """The references that name this chunk (``{"order": {"id": ..., "name": ...}}``)."""
        extra = self.model_extra or {}
        return {k: v for k, v in extra.items() if isinstance(v, Mapping) and "id" in v and k not in _METRICS}


class StatsResult(VendorModel):
    """The answer of ``GET /api/v1/stats``: the top-level groups and the grand totals."""

    chunks: list[StatsChunk] = Field(default_factory=list)
    """The top-level groups (one per entity of the first grouping)."""
    totals: StatsMetrics | None = None
    """The totals over everything the query matched, when the vendor sent them."""

    def rows(self) -> Iterator[dict[str, Any]]:
        """One flat dict per leaf chunk (see the module docs)."""
        for chunk in self.chunks:
            yield from _leaves(chunk, {})


def _leaves(chunk: StatsChunk, prefix: dict[str, Any]) -> Iterator[dict[str, Any]]:
    row = dict(prefix)
    for name, ref in chunk.entities().items():
        row[f"{name}_id"] = ref.get("id")
        row[f"{name}_name"] = ref.get("name")
    if chunk.chunks:
        for inner in chunk.chunks:
            yield from _leaves(inner, row)
        return
    raw = chunk.model_dump(by_alias=True, exclude={"chunks", "totals"})
    for key, value in raw.items():
        if key not in _METRICS:
            continue
        if isinstance(value, Mapping):
            for sub, sub_value in value.items():
                row[f"{key}_{sub}"] = sub_value
        else:
            row[key] = value
    yield row


class StatsReport(ReportJob):
    """``await client.reports.run(...)``: the stats query as a report job (``rows()``, ``save(path)``)."""

    vendor = "adnuntius"

    def __init__(self, client: Adnuntius, params: Mapping[str, Any]) -> None:
        self._client = client
        self._params = dict(params)
        self.id = "stats"
        self.result: StatsResult | None = None
        """The typed answer, once :meth:`fetch` has run; ``None`` before."""

    async def fetch(self) -> StatsResult:
        """``GET /api/v1/stats`` once (later calls answer from :attr:`result`). A body that is not the stats shape is a
        :class:`~adops_async.DecodeError`, never an empty report."""
        if self.result is None:
            reply = await self._client.request("GET", "/api/v1/stats", params=self._client.scoped(self._params))
            if not isinstance(reply.data, Mapping):
                raise DecodeError(
                    "the stats answer is not a JSON object",
                    vendor="adnuntius",
                    status=reply.status,
                    method="GET",
                    url=self._client.redactor.url(reply.response.request.url),
                    request_id=self._client.dialect.request_id(reply.response),
                )
            self.result = StatsResult.model_validate(reply.data)
        return self.result

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        for row in (await self.fetch()).rows():
            yield row


class StatsReports:
    """``client.reports.run(start, end, ...)``: the library's common report interface over the stats API.

    Adnuntius answers stats synchronously, so the job is ready at once; ``rows()`` flattens ``chunks``.
    """

    def __init__(self, client: Adnuntius) -> None:
        self._client = client

    async def run(
        self,
        start: datetime | str,
        end: datetime | str,
        *,
        group_by: str | None = None,
        all: str | None = None,
        **filters: Any,
    ) -> StatsReport:
        """The stats of ``start`` to ``end`` as a report job; ``async for row in job.rows()`` yields flat rows.

        Args:
            start: the first instant, a ``datetime`` or an ISO string (``2026-01-01T00:00:00Z``); sent in UTC.
            end: the end of the period, as ``start``.
            group_by: ``ORDER``, ``LINE_ITEM``, ``ADVERTISER``, ``CREATIVE`` or ``daily``.
            all: one row per ``lineItem``, ``order``, ``creative``, ``advertiser`` or ``adUnit``.
            **filters: any other query parameter of ``/api/v1/stats``, e.g. ``orderId=``, ``currency=``.
        """
        params: dict[str, Any] = {"startDate": iso_utc(start), "endDate": iso_utc(end), **filters}
        if group_by:
            params["groupBy"] = group_by
        if all:
            params["all"] = all
        return StatsReport(self._client, params)
