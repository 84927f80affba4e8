"""Custom Reporting routes (``/v2/reports``, API key only), with the vendor's limits (docs/vendors/ooyala.md).

- At most two reports run at once per account. The docs say a report created while two are waiting to complete is
  still accepted, but waits: here it is ``QUEUED`` until a running one ends, and its creation is written down as a
  violation (``at-most-two-running-reports``), so a test can prove a client never made the vendor queue.
- At most 200 reports are stored: creating another drops the oldest (recorded in :attr:`evicted`).
- At most 100,000 rows per result: a report of more rows answers the first 100,000 (and ``rowCount`` says 100,000).
- A result can be fetched only once the report is ``READY``; ``Accept: application/json`` gets
  ``{"metaData", "headers": [{"name", "type"}], "rows"}``, anything else CSV.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from typing import Any

from .._base import Request, Response, route
from ._core import OoyalaCore

__all__ = ["CustomReportRoutes", "CustomRun"]

RUNNING_CAP = 2
STORED_CAP = 200
ROW_CAP = 100_000
_COLUMNS = [("category", "STRING"), ("category_name", "STRING"), ("impression", "INTEGER")]


@dataclass
class CustomRun:
    id: str
    account: str
    name: str
    definition: dict[str, Any]
    created: float
    status: str = "QUEUED"
    started: float | None = None
    failure: str | None = None
    rows: int = 0


class CustomReportRoutes(OoyalaCore):
    """Args (besides :class:`OoyalaCore`'s): ``custom_report_seconds`` (vendor seconds a report runs once started),
    ``custom_report_rows`` (rows a report would have; more than the cap are cut to the cap), ``custom_row_cap`` (the
    vendor's 100,000; lower, a test reaches it with few rows)."""

    def __init__(
        self,
        *,
        custom_report_seconds: float = 2.0,
        custom_report_rows: int = 10,
        custom_row_cap: int = ROW_CAP,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.custom_report_seconds = custom_report_seconds
        self.custom_report_rows = custom_report_rows
        self.custom_row_cap = custom_row_cap
        self.custom: dict[str, CustomRun] = {}
        """Stored custom reports by id, oldest first."""
        self.fail_custom_reports: list[str] = []
        """Reasons for the next custom reports to fail with, one per report."""
        self.evicted: list[str] = []
        self.most_running = 0
        """The most custom reports of one account running at once."""

    def _advance(self, account: str) -> list[CustomRun]:
        """Bring the account's reports up to now: finished runs end, then queued ones start in creation order (as of
        now: the sandbox notices a freed place when it is next asked)."""
        now = self.clock.now()
        mine = [run for run in self.custom.values() if run.account == account]
        for run in mine:
            if run.status == "RUNNING" and (run.started or 0) + self.custom_report_seconds <= now:
                run.status = "FAILED" if run.failure is not None else "READY"
        running = sum(1 for run in mine if run.status == "RUNNING")
        for run in mine:
            if run.status == "QUEUED" and running < RUNNING_CAP:
                run.status, run.started = "RUNNING", now
                running += 1
        self.most_running = max(self.most_running, running)
        return mine

    def custom_rows(self, run: CustomRun) -> list[list[Any]]:
        """The rows of ``run``'s report before the cap (``custom_report_rows`` of them; a subclass may answer by the
        report's definition, its time range)."""
        return [[f"c{i}", f"Category {i}", 1000 + i] for i in range(self.custom_report_rows)]

    def _mine(self, request: Request) -> tuple[str, CustomRun | None]:
        account = self.account_of(request) or "anonymous"
        self._advance(account)
        run = self.custom.get(request.params.get("id", ""))
        return account, run if run is not None and run.account == account else None

    @route("POST", "/v2/reports")
    @route("POST", "/v2/reports/")
    async def submit_custom_report(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            body = None
        definition = body.get("reportDefinition") if isinstance(body, dict) else None
        name = body.get("reportName") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name or len(name) > 255 or not isinstance(definition, dict):
            return self.error(400, "ValidationError", "reportName (1-255 characters) and reportDefinition required")
        missing = [k for k in ("startDateTime", "endDateTime", "metrics") if not definition.get(k)]
        if missing or len(definition.get("dimensions") or []) > 8:
            return self.error(400, "ValidationError", f"missing {missing} or more than eight dimensions")
        account = self.account_of(request) or "anonymous"
        mine = self._advance(account)
        running = sum(1 for run in mine if run.status == "RUNNING")
        if len(mine) >= STORED_CAP:
            oldest = min(mine, key=lambda run: run.created)
            del self.custom[oldest.id]
            self.evicted.append(oldest.id)
        run = CustomRun(str(uuid.uuid4()), account, name, definition, self.clock.now())
        run.rows = min(len(self.custom_rows(run)), self.custom_row_cap)
        if self.fail_custom_reports:
            run.failure = self.fail_custom_reports.pop(0)
        if running >= RUNNING_CAP:
            self.violation("at-most-two-running-reports", f"report {run.id} queued behind {running} running", account)
        self.custom[run.id] = run
        self._advance(account)  # it starts at once when fewer than two run
        host = request.headers.get("host", "api.videoplaza.com")
        return Response(201, b"", {"location": f"http://{host}/v2/reports/{run.id}"})

    @route("GET", "/v2/reports/{id}")
    async def custom_report(self, request: Request) -> Response:
        _, run = self._mine(request)
        if run is None:
            return self.error(404, "NotFoundError", "no such report")
        answer: dict[str, Any] = {
            "id": run.id,
            "name": run.name,
            "status": run.status,
            "creationDate": int(run.created * 1000),
            "reportDefinition": run.definition,
        }
        if run.failure is not None and run.status == "FAILED":
            answer["message"] = run.failure
        return Response.json(answer)

    @route("DELETE", "/v2/reports/{id}")
    async def delete_custom_report(self, request: Request) -> Response:
        account, run = self._mine(request)
        if run is None:
            return self.error(404, "NotFoundError", "no such report")
        del self.custom[run.id]
        self._advance(account)
        return Response(204)

    @route("GET", "/v2/reports/{id}/result")
    async def custom_report_result(self, request: Request) -> Response:
        _, run = self._mine(request)
        if run is None:
            return self.error(404, "NotFoundError", "no such report")
        if run.status != "READY":
            return self.error(400, "BadRequestError", f"report {run.id} is {run.status}, not READY")
        rows = self.custom_rows(run)[: run.rows]
        if "application/json" in request.headers.get("accept", ""):
            meta = {
                "creationDate": int(run.created * 1000),
                "name": run.name,
                "rowCount": run.rows,
                "reportDefinition": run.definition,
            }
            headers = [{"name": name, "type": kind} for name, kind in _COLUMNS]
            body = (
                f'{{"metaData":{json.dumps(meta)},"headers":{json.dumps(headers)},"rows":['
                + ",".join(json.dumps(row) for row in rows)
                + "]}"
            )
            return Response(200, body.encode(), {"content-type": "application/json"})
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow([name for name, _ in _COLUMNS])
        writer.writerows(rows)
        return Response(200, out.getvalue().encode(), {"content-type": "text/plain"})
