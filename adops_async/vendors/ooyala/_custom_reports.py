"""The Custom Reporting API (``/v2/reports``, JSON, ``x-o-api-key``): reports defined from scratch, beside
Reporting 2.0's predefined ones (docs/vendors/ooyala.md, "Custom Reporting").

``POST /v2/reports`` with ``{"reportName", "reportDefinition": {startDateTime, endDateTime, timeGranularity,
dimensions, metrics, filters}}`` answers ``201`` + ``Location: .../v2/reports/<id>``; ``GET /v2/reports/<id>`` tells
its status; once it is ``READY``, ``GET /v2/reports/<id>/result`` with ``Accept: application/json`` answers
``{"metaData": {..., "rowCount"}, "headers": [{"name", "type"}], "rows": [[...], ...]}``.

The vendor's limits, and what this module does about each:
- at most two reports run at once per account (more are accepted but wait, queued, at the vendor): :meth:`run`
  takes one of two places of a :class:`~adops_async.core.jobs.JobQuota` first, so concurrent runs wait in the
  client;
- at most 200 reports are stored (the oldest is dropped): with at most two in flight, none is dropped under a
  caller who still waits for it;
- at most 100,000 rows per result: a result of exactly that many rows may be cut short, so :meth:`rows` raises
  :class:`ReportTruncated` after its last row unless told ``allow_truncated=True`` (then :attr:`truncated` says so).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from typing_extensions import Self

from ...core.errors import DecodeError, IncompleteData
from ...core.jobs import JobQuota, JobTicket
from ...core.policies import Priority
from ...core.reports import BodyFormat, ReportJob, download, error_context, poll
from ._dialect import JSON_CODEC, ReportFailed
from ._reports import json_table_rows

if TYPE_CHECKING:
    from ._client import OoyalaPulse

__all__ = ["ROW_CAP", "RUNNING_CAP", "SLOT_HOLD", "STORED_CAP", "CustomReportJob", "CustomReports", "ReportTruncated"]

CUSTOM = "v2/reports"
RUNNING_CAP = 2
"""Custom reports that run at once per account."""
ROW_CAP = 100_000
"""Rows a Custom Reporting result holds at most."""
STORED_CAP = 200
"""Custom reports an account keeps; a new one beyond drops the oldest."""
SLOT_HOLD = 7200.0
"""Seconds a shared running-report slot lasts without a poll of its report (a dead process's slots lapse)."""
_BODY = BodyFormat("JSON", frozenset({"application/json"}), end="json")


class ReportTruncated(IncompleteData):
    """A Custom Reporting result reached the vendor's 100,000-row cap: the rows beyond it, if any, are missing.

    Raised after the last row; narrow the report (a shorter time range, fewer dimensions, more filters) or read it
    with ``rows(allow_truncated=True)``.
    """


class CustomReportJob(ReportJob):
    """A submitted custom report: :meth:`wait` polls it, :meth:`rows` streams its result, :meth:`cancel` deletes it.

    It holds one of the account's two running-report slots from its submission until it is seen ``READY``,
    ``FAILED`` or cancelled (also when the caller's wait is cancelled or gives up).
    """

    vendor = "ooyala"

    def __init__(self, reports: CustomReports, id: str, slot: JobTicket | None) -> None:
        self.reports = reports
        """The :class:`CustomReports` that submitted it (and holds its slot)."""
        self.client = reports.client
        """The client every request goes through."""
        self.id = id
        self.url = f"{CUSTOM}/{quote(id, safe='')}"
        """The report's path: ``v2/reports/<id>``."""
        self.state = "SUBMITTED"
        """The vendor's status from the last poll (``SUBMITTED`` until the first)."""
        self.done = False
        """Whether the report reached an end state (``READY``, ``FAILED``) or was cancelled."""
        self.truncated: bool | None = None
        """Once the rows were read: whether the result reached the 100,000-row cap."""
        self._slot = slot
        self._failure: ReportFailed | None = None

    def __repr__(self) -> str:
        return f"<CustomReportJob {self.id} {self.state}>"

    async def _finish(self) -> None:
        if self._slot is not None:
            await self._slot.finished()
            self.reports._running.discard(self)

    async def check(self) -> bool:
        """Ask once: ``True`` when ``READY``; raise :class:`ReportFailed` when it failed."""
        if self._failure is not None:
            raise self._failure
        if self.done:
            return True
        reply = await self.client.request("GET", self.url, codec=JSON_CODEC, priority=Priority.BULK)
        body = reply.data if isinstance(reply.data, Mapping) else {}
        self.state = str(body.get("status") or "UNKNOWN").upper()
        if self.state == "READY":
            self.done = True
            await self._finish()
            return True
        if self.state in ("FAILED", "ERROR", "CANCELLED", "CANCELED"):
            reason = body.get("message") or body.get("reason") or body.get("error") or "no reason given"
            self._failure = ReportFailed(
                f"custom report {self.id} {self.state.lower()}: {reason}",
                vendor="ooyala",
                status=reply.status,
                code=self.state,
            )
            await self._finish()
            raise self._failure
        if self._slot is not None:
            await self._slot.renew()
        return False

    async def wait(self, *, first: float = 1.0, longest: float = 30.0, give_up_after: float = 3600.0) -> Self:
        """Poll until ``READY`` (backoff from ``first`` to ``longest`` seconds); raise on a failure or timeout.

        A wait that ends any other way (cancelled, timed out) gives the running-report slot back: the report may
        still run at the vendor, which then queues the next one rather than refusing it.
        """

        async def ready() -> bool | None:
            return True if await self.check() else None

        try:
            await poll(
                ready,
                self.client.clock,
                first=first,
                longest=longest,
                give_up_after=give_up_after,
                what=f"custom report {self.id}",
                vendor="ooyala",
            )
        except BaseException:
            await self._finish()
            raise
        return self

    async def cancel(self) -> None:
        """Delete the report at the vendor (``DELETE /v2/reports/<id>``) and give its slot back."""
        try:
            await self.client.request("DELETE", self.url, codec=JSON_CODEC)
        finally:
            await self._finish()

    async def rows(self, *, allow_truncated: bool = False) -> AsyncIterator[dict[str, Any]]:
        """Each row as ``{column name: value}`` (waits for ``READY`` first).

        The result is downloaded whole and checked first (see :class:`~adops_async.core.reports.ReportJob`); after
        the last row, fewer or more rows than its ``metaData.rowCount`` raise :class:`IncompleteData`, and a result
        of 100,000 rows raises :class:`ReportTruncated` unless ``allow_truncated`` (see :attr:`truncated`).
        """
        if not self.done:
            await self.wait()
        meta: dict[str, Any] = {}
        seen = 0
        async with download(self.client, f"{self.url}/result", _BODY, codec=JSON_CODEC, priority=Priority.BULK) as body:
            async for row in json_table_rows(body.chunks(), context=body.context, meta=meta):
                seen += 1
                yield row
            if "rowCount" not in meta:
                raise DecodeError("the custom report result states no metaData.rowCount", **body.context)
            body.check_rows(seen, meta["rowCount"])
            self.truncated = seen >= self.reports.row_cap
            if self.truncated and not allow_truncated:
                raise ReportTruncated(
                    f"the custom report has {seen} rows, the vendor's cap: rows beyond it may be missing; narrow the"
                    " report, or read it with rows(allow_truncated=True)",
                    expected=None,
                    seen=seen,
                    **error_context(body.context, "row-cap"),
                )


class CustomReports:
    """``/v2/reports``: run a custom report, or pick one up by id.

    Args:
        client: the client whose gate every request passes.
        slots: the account's running-report slots (default: two, in this process). Give every client of one
            account the same :class:`~adops_async.core.jobs.JobQuota`, or one with the same ``RedisStore`` and key.
    """

    def __init__(self, client: OoyalaPulse, slots: JobQuota | None = None) -> None:
        self.client = client
        """The client whose gate every request passes."""
        self.slots = slots or JobQuota(RUNNING_CAP)
        """The account's running-report slots."""
        self.row_cap = ROW_CAP
        """Rows a result holds at most: the vendor's 100,000 (a sandbox's lower cap, in tests)."""
        self._running: set[CustomReportJob] = set()

    async def _check_running(self) -> None:
        """While a run waits for a slot: ask this client's running reports, so a finished one nobody polls frees
        its slot (a failure is kept for its own caller)."""
        for job in list(self._running):
            with contextlib.suppress(ReportFailed):
                await job.check()

    async def run(self, name: str, definition: Mapping[str, Any]) -> CustomReportJob:
        """Submit a report named ``name`` (at most 255 characters) defined by ``definition``: ``startDateTime``,
        ``endDateTime`` (ISO 8601 with an offset), ``timeGranularity``, ``dimensions`` (at most eight), ``metrics``,
        ``filters``. Waits first for one of the account's two running-report slots."""
        slot = await self.slots.acquire(self.client.clock, on_wait=self._check_running)
        try:
            reply = await self.client.request(
                "POST",
                CUSTOM,
                payload={"reportName": name, "reportDefinition": dict(definition)},
                codec=JSON_CODEC,
            )
            location = reply.headers.get("location") or ""
            report_id = location.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
            if not location or report_id == "reports":
                raise DecodeError(
                    "the custom report was accepted without a Location naming it",
                    vendor="ooyala",
                    status=reply.status,
                    method="POST",
                    url=self.client.redactor.url(reply.response.request.url),
                )
        except BaseException:
            await slot.finished()
            raise
        job = CustomReportJob(self, report_id, slot)
        self._running.add(job)
        return job

    def job(self, report_id: str) -> CustomReportJob:
        """A handle on a report submitted earlier (for example by another process); it holds no slot."""
        return CustomReportJob(self, report_id, None)
