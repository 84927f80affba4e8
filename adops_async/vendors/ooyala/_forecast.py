"""Forecast jobs (``/api/2.0/forecast``, JSON; docs/vendors/ooyala.md): inventory and campaign forecasts, cancel.

Dates in forecast requests are epoch MILLISECONDS (not ISO strings as elsewhere). A forecast is a job like a report:
``202`` + ``Location``; ``GET /forecast/job/{id}`` answers ``200`` while QUEUED/PREPARING_SIMULATION/PROCESSING (and
when FAILED), ``201`` when done, ``404`` for an unknown id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ...core.errors import DecodeError
from ._dialect import JSON_CODEC
from ._reports import OoyalaReportJob

if TYPE_CHECKING:
    from ._client import OoyalaPulse

__all__ = ["Forecasts", "epoch_ms"]

PATH = "api/2.0/forecast"


def epoch_ms(moment: datetime | int) -> int:
    """Epoch milliseconds, the forecast API's date format; a naive datetime is taken as UTC."""
    if isinstance(moment, int):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


class Forecasts:
    """Submit inventory or campaign forecasts; each returns a job (``await job.wait()``, ``await job.fetch()``)."""

    def __init__(self, client: OoyalaPulse) -> None:
        self.client = client
        """The client every request goes through."""

    async def _submit(self, kind: str, body: Mapping[str, Any], result_params: Mapping[str, Any]) -> OoyalaReportJob:
        reply = await self.client.request("POST", f"{PATH}/{kind}", payload=dict(body), codec=JSON_CODEC)
        location = reply.headers.get("location")
        if not location:
            raise DecodeError("the forecast was accepted without a Location", vendor="ooyala")
        job_id = location.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        job_url = location if "/job/" in location else f"{PATH}/job/{quote(job_id, safe='')}"
        return OoyalaReportJob(self.client, job_url, f"{PATH}/report/{kind}/{quote(job_id, safe='')}", result_params)

    async def inventory(
        self,
        start: datetime | int,
        end: datetime | int,
        *,
        name: str | None = None,
        format_types: Sequence[str] = (),
        device_containers: Sequence[str] = (),
        targeting: Mapping[str, Any] | None = None,
        traffic_estimate: Any = None,
    ) -> OoyalaReportJob:
        """An inventory forecast between ``start`` and ``end``; its result is ``{totalInventory, unusedInventory}``."""
        body: dict[str, Any] = {"startDate": epoch_ms(start), "endDate": epoch_ms(end)}
        optional = {
            "name": name,
            "formatTypes": list(format_types) or None,
            "deviceContainers": list(device_containers) or None,
            "targeting": dict(targeting) if targeting is not None else None,
            "trafficEstimate": traffic_estimate,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return await self._submit("inventory", body, {})

    async def campaign(self, campaign: Mapping[str, Any], *, exclude_competing_goals: bool = False) -> OoyalaReportJob:
        """A campaign forecast (the campaign with nested goals and ads, dates in epoch milliseconds)."""
        params = {"exclude-competing-goals": "true"} if exclude_competing_goals else {}
        return await self._submit("campaign", campaign, params)

    async def cancel(self, job: OoyalaReportJob | str) -> None:
        """``POST /forecast/job/{id}/cancel``."""
        job_id = job.id if isinstance(job, OoyalaReportJob) else job
        await self.client.request("POST", f"{PATH}/job/{quote(job_id, safe='')}/cancel", codec=JSON_CODEC)
