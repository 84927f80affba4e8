"""AppNexus reports: ``POST /report``, poll ``GET /report?id=``, then download ``GET /report-download?id=``
(docs/vendors/appnexus.md).

Quirks handled here:

* a report taking more than 15 minutes times out on the API's side, so polling gives up at 15 minutes too;
* when older ready reports exist, the poll answer may stack several under ``"reports"`` and drop the top-level
  ``execution_status`` (mathemads-nexusadspy PR #21): ours is picked by id;
* a failed report has a status other than ``pending``/``processing``/``queued``/``ready`` (the exact string is not
  documented), which raises :class:`ReportFailed` instead of polling until the timeout;
* the poll answer's ``row_count`` (a string) is the number of rows the download must have (for a paginated report,
  this page's rows): the download is compared with it;
* a user's report is refused while 5 of the reports the user submitted in the last 15 minutes are pending or
  processing: :meth:`Reports.submit` waits for a place in the client's ``report_slots`` (a
  :class:`~adops_async.core.jobs.JobQuota`) before it posts, and the job gives its place back once a poll says it
  ended (ready or failed); a job nobody polls keeps it for the 15 minutes the API counts it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from ...core.errors import AdOpsError, DecodeError, GateWaitTooLong, QuotaStoreUnavailable, TransportError
from ...core.jobs import JobTicket
from ...core.policies import Priority
from ...core.reports import BodyFormat, ReportJob, csv_rows, download, poll
from ._dialect import envelope

if TYPE_CHECKING:
    from ._client import AppNexus

__all__ = ["AppNexusReportJob", "PagedReportJob", "ReportFailed", "Reports"]

_WAITING = frozenset({"pending", "processing", "queued", "running", "new"})

#: "Reports that take more than 15 min time out."
REPORT_TIMEOUT = 900.0

_DELIMITERS = {"csv": ",", "excel": "\t"}
#: What ``report-download`` may be declared as: CSV, or TSV for ``format="excel"``; an HTML page is not a report.
_BODY = BodyFormat(
    "CSV",
    frozenset(
        {
            "text/csv",
            "application/csv",
            "text/tab-separated-values",
            "application/vnd.ms-excel",
            "text/plain",
            "application/octet-stream",
        }
    ),
    end="line",
)


class ReportFailed(AdOpsError):
    """The API says the report failed (or timed out on its side)."""


class AppNexusReportJob(ReportJob):
    """A submitted report. ``await job.wait()`` until ready, then ``async for row in job.rows()``."""

    vendor = "appnexus"

    def __init__(self, client: AppNexus, report_id: str, *, format: str = "csv", slot: JobTicket | None = None) -> None:
        self.client = client
        """The client that submitted the report."""
        self.id = report_id
        self.format = format
        """The download format asked for (``csv``, ...)."""
        self.slot = slot
        """Its place among the user's pending reports, given back when a poll says the report ended."""
        self.status = "pending"
        """The API's ``execution_status`` from the last poll (``pending`` until the first)."""
        self.info: dict[str, Any] = {}
        """The report's description from the last poll (``row_count``, ``url``, ``created_on``, ...)."""

    def __repr__(self) -> str:
        return f"<AppNexusReportJob {self.id} {self.status}>"

    async def check(self) -> bool:
        """Ask once whether the report is ready; raise :class:`ReportFailed` if the API gave up on it."""
        reply = await self.client.request("GET", "report", params={"id": self.id}, priority=Priority.BULK)
        body = envelope(reply.data)
        status, info = _status_of(body, self.id)
        self.status = status
        self.info = info
        if status in _WAITING:
            return False
        if self.slot is not None:
            await self.slot.finished()
        if status == "ready":
            return True
        raise ReportFailed(
            f"report {self.id} ended with execution_status {status!r}",
            vendor=self.client.vendor,
            status=reply.status,
            code=status,
        )

    async def wait(self, *, first: float = 2.0, longest: float = 30.0, give_up_after: float = REPORT_TIMEOUT) -> None:
        """Poll with backoff (``first`` seconds, x1.5 each time, at most ``longest``) until ready (clock seconds: vendor
        seconds on a :class:`~adops_async.ScaledClock`)."""

        async def ready() -> bool | None:
            return True if await self.check() else None

        await poll(
            ready,
            self.client.clock,
            first=first,
            longest=longest,
            give_up_after=give_up_after,
            what=f"AppNexus report {self.id}",
            vendor=self.client.vendor,
        )

    async def rows(self) -> AsyncGenerator[dict[str, Any], None]:
        """Download ``report-download`` whole and checked (see :class:`ReportJob`), then parse its rows; raise
        :class:`~adops_async.core.errors.IncompleteData` after the last row when they are not the job's
        ``row_count``."""
        delimiter = _DELIMITERS.get(self.format)
        if delimiter is None:
            raise ValueError(f"rows() reads csv or excel (tab-separated) reports, not {self.format!r}")
        expected = _row_count(self.info)
        async with download(self.client, "report-download", _BODY, params={"id": self.id}) as body:
            seen = 0
            async for row in csv_rows(body.chunks(), delimiter=delimiter, context=body.context):
                seen += 1
                yield row
            body.check_rows(seen, expected)


def _no_report(exc: BaseException) -> bool:
    """Whether a failed ``POST /report`` surely created no report: nothing was sent, or the API answered an error."""
    if isinstance(exc, (GateWaitTooLong, QuotaStoreUnavailable)):
        return True
    return isinstance(exc, AdOpsError) and not isinstance(exc, TransportError) and exc.status is not None


def _row_count(info: Mapping[str, Any]) -> int | None:
    """The job's ``row_count`` (a string in the API's answer), or ``None`` when it gives none."""
    value = info.get("row_count")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _status_of(body: Mapping[str, Any], report_id: str) -> tuple[str, dict[str, Any]]:
    status = body.get("execution_status")
    report = body.get("report")
    info = dict(report) if isinstance(report, Mapping) else {}
    if isinstance(status, str):
        return status.lower(), info
    stacked = body.get("reports")
    if isinstance(stacked, Sequence) and not isinstance(stacked, str):
        for entry in stacked:
            if isinstance(entry, Mapping) and report_id in (entry.get("id"), entry.get("report_id")):
                found = entry.get("execution_status") or entry.get("status")
                if isinstance(found, str):
                    return found.lower(), dict(entry)
                return ("ready" if entry.get("url") else "pending"), dict(entry)
        return "pending", info  # ours is not listed yet
    raise DecodeError(f"report {report_id}: poll answer has no execution_status", vendor="appnexus")


class Reports:
    """``an.reports``: run reports and get jobs that stream their rows."""

    def __init__(self, client: AppNexus) -> None:
        self.client = client
        """The client every report request goes through."""

    async def submit(
        self,
        *,
        report_type: str,
        columns: Sequence[str],
        report_interval: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        orders: Sequence[Mapping[str, Any] | str] | None = None,
        format: str = "csv",
        timezone: str | None = None,
        params: Mapping[str, Any] | None = None,
        slot_wait: float | None = None,
        **extra: Any,
    ) -> AppNexusReportJob:
        """``POST /report`` and return the (pending) job. ``params`` go in the query (``advertiser_id=``).

        First waits for a place among the user's pending reports (the client's ``report_slots``), at most
        ``slot_wait`` seconds if given (then :class:`~adops_async.GateWaitTooLong`, nothing sent).
        """
        if (report_interval is None) == (start_date is None):
            raise ValueError("give either report_interval or start_date (and end_date), not both and not neither")
        if not columns:
            raise ValueError("columns is required")
        spec: dict[str, Any] = {"report_type": report_type, "columns": list(columns), "format": format, **extra}
        if report_interval is not None:
            spec["report_interval"] = report_interval
        else:
            spec["start_date"] = start_date
            if end_date is not None:
                spec["end_date"] = end_date
        for key, value in (("filters", filters), ("orders", orders), ("timezone", timezone)):
            if value is not None:
                spec[key] = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value
        clock = self.client.clock
        deadline = None if slot_wait is None else clock.now() + slot_wait
        slot = await self.client.report_slots.acquire(clock, deadline=deadline)
        try:
            reply = await self.client.request("POST", "report", params=dict(params or {}), payload={"report": spec})
        except BaseException as exc:
            if _no_report(exc):
                await slot.finished()
            else:  # it may have reached the API: it counts there for the whole window
                await slot.started()
            raise
        await slot.started()
        report_id = envelope(reply.data).get("report_id")
        if not isinstance(report_id, str) or not report_id:
            raise DecodeError("POST /report answered without a report_id", vendor=self.client.vendor)
        return AppNexusReportJob(self.client, report_id, format=format, slot=slot)

    async def run(
        self,
        *,
        report_type: str,
        columns: Sequence[str],
        report_interval: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        orders: Sequence[Mapping[str, Any] | str] | None = None,
        format: str = "csv",
        timezone: str | None = None,
        params: Mapping[str, Any] | None = None,
        slot_wait: float | None = None,
        give_up_after: float = REPORT_TIMEOUT,
        page_rows: int | None = None,
        **extra: Any,
    ) -> AppNexusReportJob | PagedReportJob:
        """Submit a report and wait until it is ready (polling with backoff, at most the API's 15 minutes).

        Then ``async for row in job.rows()`` or ``await job.save(path)``.

        Args:
            report_type: e.g. ``"network_analytics"``.
            columns: the report's columns, e.g. ``["day", "imps", "clicks"]``.
            report_interval: e.g. ``"last_7_days"``; or give ``start_date`` (and ``end_date``) instead.
            start_date: ``YYYY-MM-DD``, instead of ``report_interval``.
            end_date: ``YYYY-MM-DD``.
            filters: e.g. ``[{"advertiser_id": 1}]``.
            orders: the sort, e.g. ``["day"]``.
            format: ``"csv"`` or ``"excel"`` (tab-separated); ``rows()`` reads both.
            timezone: e.g. ``"UTC"``.
            params: query parameters of ``POST /report``, e.g. ``{"advertiser_id": 1}``.
            slot_wait: the longest to wait for a place under the report throttle (``report_slots``); ``None``: as
                long as it takes.
            give_up_after: seconds of polling before giving up (the API's own limit is 15 minutes).
            page_rows: a report too large for one 15-minute run (about a million rows) is fetched as pages of this
                many rows, each its own report with ``offset``/``num_elements``, behind the same ``rows()`` (the
                documented report pagination; it needs ``orders`` covering every dimension, so pages neither overlap
                nor skip).
            **extra: any other field of the report's JSON, sent as given.
        """
        spec: dict[str, Any] = {
            "report_type": report_type,
            "columns": columns,
            "report_interval": report_interval,
            "start_date": start_date,
            "end_date": end_date,
            "filters": filters,
            "orders": orders,
            "format": format,
            "timezone": timezone,
            "params": params,
            "slot_wait": slot_wait,
            **extra,
        }
        if page_rows is not None:
            if page_rows < 1:
                raise ValueError("page_rows must be at least 1")
            if not orders:
                raise ValueError("report pagination needs orders= covering every dimension of the report")
            return PagedReportJob(self, spec, page_rows, give_up_after)
        job = await self.submit(**spec)
        await job.wait(give_up_after=give_up_after)
        return job


class PagedReportJob(ReportJob):
    """A large report fetched page by page (``offset`` += ``num_elements`` until a page comes back short)."""

    vendor = "appnexus"

    def __init__(self, reports: Reports, spec: Mapping[str, Any], page_rows: int, give_up_after: float) -> None:
        self._reports = reports
        self._spec = dict(spec)
        self.page_rows = page_rows
        """Rows asked for per page (``num_elements``)."""
        self._give_up_after = give_up_after
        self.pages = 0
        """Pages fetched so far."""
        self.id = "paged"

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        offset = 0
        while True:
            job = await self._reports.submit(**self._spec, offset=offset, num_elements=self.page_rows)
            await job.wait(give_up_after=self._give_up_after)
            self.pages += 1
            count = 0
            async with aclosing(job.rows()) as rows:
                async for row in rows:
                    count += 1
                    yield row
            if count < self.page_rows:
                return
            offset += self.page_rows
