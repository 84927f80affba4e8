"""JSON routes: the Ad API (``/v1``), the Reporting API 2.0 and targeting templates (docs/vendors/ooyala.md).

With ``app.delivery`` set (a :class:`~adops_async.sandbox._delivery.DeliveryFigures`), a report filtered by a
``TIME_PERIOD`` with ``start`` and ``end`` answers those days' deterministic delivery, one row per creative and day.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from .._base import Request, Response, route
from .._delivery import DeliveryFigures, DeliveryLine, parse_day
from ._core import OoyalaCore

__all__ = ["JsonRoutes", "ReportRun"]

DEFINITIONS = [
    {
        "id": "56de9277498ed663342784c7",
        "name": "Campaign performance by creative",
        "created": None,
        "type": "default",
        "filters": [{"type": "CAMPAIGN", "id": None}],
    }
]
HEADERS = ["Ad", "Impressions", "Click-throughs", "CTR", "Completion_rate"]
_VIDEO = (".mp4", ".mov", ".webm", ".flv", ".avi", ".mpg", ".mpeg", ".wmv", ".m4v")


@dataclass
class ReportRun:
    id: str
    started: float
    rows: int
    failure: str | None = None
    lines: list[DeliveryLine] | None = field(default=None, repr=False)
    """The delivery rows it answers, when the sandbox serves delivery figures."""


class JsonRoutes(OoyalaCore):
    """Args (besides :class:`OoyalaCore`'s): ``report_seconds`` (vendor seconds a report job runs),
    ``report_rows`` (rows per report), ``template_quota`` (targeting templates per account)."""

    def __init__(
        self, *, report_seconds: float = 2.0, report_rows: int = 10, template_quota: int = 5, **options: Any
    ) -> None:
        super().__init__(**options)
        self.report_seconds = report_seconds
        self.report_rows = report_rows
        self.template_quota = template_quota
        self.fail_reports: list[str] = []
        """Reasons for the next report jobs to fail with, one per job."""
        self.reports: dict[str, ReportRun] = {}
        self.delivery: DeliveryFigures | None = None
        self.ads: dict[str, dict[str, Any]] = {}
        self.assets: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}

    # -- Ad API ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _json_body(request: Request) -> Any:
        try:
            return request.json()
        except ValueError:
            return None

    def _check_ad(self, ad: Any) -> Response | None:
        if not isinstance(ad, dict):
            return self.error(400, "BadRequestError", "expected a JSON ad")
        missing = [name for name in ("name", "goalId") if not ad.get(name)]
        return self.error(400, "ValidationError", f"required: {', '.join(missing)}") if missing else None

    @route("POST", "/v1/ads")
    async def create_ad(self, request: Request) -> Response:
        ad = self._json_body(request)
        problem = self._check_ad(ad)
        if problem is not None:
            return problem
        ad = {"enabled": False, **ad, "id": str(uuid.uuid4())}
        self.ads[ad["id"]] = ad
        return Response.json(ad, 201, {"location": f"/v1/ads/{ad['id']}"})

    @route("GET", "/v1/ads/{id}")
    async def get_ad(self, request: Request) -> Response:
        ad = self.ads.get(request.params["id"])
        return Response.json(ad) if ad is not None else self.error(404, "NotFoundError", "no such ad")

    @route("PUT", "/v1/ads")
    async def put_ad(self, request: Request) -> Response:
        ad = self._json_body(request)
        problem = self._check_ad(ad)
        if problem is not None:
            return problem
        if ad.get("id") not in self.ads:
            return self.error(404, "NotFoundError", "no such ad")
        self.ads[ad["id"]] = ad  # all fields must be set: what is missing is gone
        return Response.json(ad)

    def _create_asset(self, kind: str, request: Request) -> Response:
        """``POST /v1/assets/video`` or ``/v1/assets/resource``: a JSON ``{"name", "downloadUri"}`` body, or the
        bytes as ``application/octet-stream`` named by ``?fileName=`` (the docs' example quotes it: ``'x.mp4'``)."""
        if request.headers.get("content-type", "").startswith("application/octet-stream"):
            name = (request.arg("fileName") or "").strip("'\"")
            if not name:
                return self.error(400, "ValidationError", "fileName is required with an octet-stream body")
            source = f"{len(request.body)} bytes" if request.body else ""
        else:
            body = self._json_body(request) or {}
            name, source = str(body.get("name") or ""), str(body.get("downloadUri") or "")
        has_extension = "." in name.strip(".") and not name.endswith(".")
        if kind == "video" and not name.lower().endswith(_VIDEO):
            return self.error(400, "ValidationError", "a video name with its extension and a source are required")
        if not has_extension or not source:
            return self.error(400, "ValidationError", "a file name with its extension and a source are required")
        asset_id = str(uuid.uuid4())
        status = "INITIAL" if kind == "video" else "NOT_AVAILABLE"  # resources are never transcoded
        self.assets[asset_id] = {"name": name, "source": source, "kind": kind, "transcondingStatus": status}
        return Response(201, b"", {"location": f"/v1/assets/{asset_id}"})

    @route("POST", "/v1/assets/video")
    async def create_video_asset(self, request: Request) -> Response:
        return self._create_asset("video", request)

    @route("POST", "/v1/assets/resource")
    async def create_resource_asset(self, request: Request) -> Response:
        return self._create_asset("resource", request)

    @route("GET", "/v1/assets/{id}")
    async def get_asset(self, request: Request) -> Response:
        """The documented metadata: ``{"name", "id", "transcondingStatus"}`` (the vendor's spelling)."""
        asset = self.assets.get(request.params["id"])
        if asset is None:
            return self.error(404, "NotFoundError", "no such asset")
        return Response.json(
            {"name": asset["name"], "id": request.params["id"], "transcondingStatus": asset["transcondingStatus"]}
        )

    # -- Reporting API 2.0 -------------------------------------------------------------------------------------------

    @route("GET", "/api/2.0/report-definition")
    async def definitions(self, request: Request) -> Response:
        return Response.json(DEFINITIONS)

    @route("GET", "/api/2.0/report-definition/{id}")
    async def definition(self, request: Request) -> Response:
        found = [d for d in DEFINITIONS if d["id"] == request.params["id"]]
        return Response.json(found[0]) if found else self.error(404, "NotFoundError", "no such report definition")

    @route("POST", "/api/2.0/report")
    async def run_report(self, request: Request) -> Response:
        body = self._json_body(request)
        if not isinstance(body, dict) or body.get("id") not in {d["id"] for d in DEFINITIONS}:
            return self.error(400, "ValidationError", "unknown report definition id")
        run = ReportRun(uuid.uuid4().hex[:24], self.clock.now(), self.report_rows)
        period = [f for f in body.get("filters") or [] if isinstance(f, dict) and f.get("type") == "TIME_PERIOD"]
        if self.delivery is not None and period and period[0].get("start") and period[0].get("end"):
            run.lines = list(self.delivery.lines_between(parse_day(period[0]["start"]), parse_day(period[0]["end"])))
        if self.fail_reports:
            run.failure = self.fail_reports.pop(0)
        self.reports[run.id] = run
        return Response(202, b"", {"location": f"/api/2.0/report/job/{run.id}"})

    @route("GET", "/api/2.0/report/job/{id}")
    async def report_job(self, request: Request) -> Response:
        run = self.reports.get(request.params["id"])
        if run is None:
            return self.error(404, "NotFoundError", "no such report job")
        if self.clock.now() - run.started < self.report_seconds:
            return Response.json({"jobId": run.id, "status": "PROCESSING"})
        if run.failure is not None:
            return Response.json({"jobId": run.id, "status": "FAILED", "message": run.failure})
        return Response.json({"jobId": run.id, "status": "DONE"}, 201, {"location": f"/api/2.0/report/{run.id}"})

    @route("GET", "/api/2.0/report/{id}")
    async def report(self, request: Request) -> Response:
        run = self.reports.get(request.params["id"])
        if run is None or run.failure is not None or self.clock.now() - run.started < self.report_seconds:
            return self.error(404, "NotFoundError", "no such report")
        if run.lines is not None:
            rows = ",".join(
                json.dumps([x.creative_id, x.impressions, x.clicks, round(x.clicks / x.impressions, 4), 0.5])
                for x in run.lines
            )
        else:
            rows = ",".join(
                json.dumps([f"ad-{i}", 1000 + i, i % 97, round((i % 97) / (1000 + i), 4), 0.5]) for i in range(run.rows)
            )
        body = f'{{"id":"{run.id}","headers":{json.dumps(HEADERS)},"rows":[{rows}]}}'
        return Response(200, body.encode(), {"content-type": "application/json"})

    # -- targeting templates -----------------------------------------------------------------------------------------

    @route("GET", "/api/2.0/targeting-template/usage")
    async def template_usage(self, request: Request) -> Response:
        return Response.json(
            {"active": len(self.templates), "max": self.template_quota, "messageTitle": "", "messageBody": ""}
        )

    @route("GET", "/api/2.0/targeting-template")
    async def list_templates(self, request: Request) -> Response:
        return Response.json(list(self.templates.values()))

    @route("POST", "/api/2.0/targeting-template")
    async def create_template(self, request: Request) -> Response:
        body = self._json_body(request)
        if not isinstance(body, dict) or not body.get("name"):
            return self.error(400, "ValidationError", "name is required")
        used = len(self.templates)
        if used >= self.template_quota:
            share = 100 * used // max(1, self.template_quota)
            return self.error(
                403,
                "ForbiddenError",
                f"You have used {used} ({share}%) of your {self.template_quota} templates. "
                "Please remove obsolete templates in order to create new ones.",
            )
        template = {
            "id": uuid.uuid4().hex,
            "name": body["name"],
            "siteId": "site-1",
            "created": "2016-03-22T14:34:40.000+0000",
        }
        self.templates[template["id"]] = template
        return Response.json(template)

    @route("PUT", "/api/2.0/targeting-template/{id}")
    async def put_template(self, request: Request) -> Response:
        template = self.templates.get(request.params["id"])
        body = self._json_body(request)
        if template is None:
            return self.error(404, "NotFoundError", "no such template")
        if not isinstance(body, dict) or not body.get("name"):
            return self.error(400, "ValidationError", "name is required")
        template["name"] = body["name"]  # only the name can change
        return Response(204)

    @route("DELETE", "/api/2.0/targeting-template/{id}")
    async def delete_template(self, request: Request) -> Response:
        if self.templates.pop(request.params["id"], None) is None:
            return self.error(404, "NotFoundError", "no such template")
        return Response(204)


class ForecastRoutes(JsonRoutes):
    """``/api/2.0/forecast``: inventory and campaign jobs that run ``report_seconds``, cancel, results."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.forecasts: dict[str, tuple[str, ReportRun, dict[str, Any]]] = {}
        self.cancelled: set[str] = set()

    async def _forecast(self, kind: str, request: Request) -> Response:
        body = self._json_body(request)
        dates = [body.get("startDate"), body.get("endDate")] if isinstance(body, dict) else []
        if kind == "inventory" and not all(isinstance(d, int) for d in dates):
            return self.error(400, "ValidationError", "startDate and endDate are epoch milliseconds")
        run = ReportRun(uuid.uuid4().hex[:24], self.clock.now(), 0)
        self.forecasts[run.id] = (kind, run, body if isinstance(body, dict) else {})
        return Response(202, b"", {"location": f"/api/2.0/forecast/job/{run.id}"})

    @route("POST", "/api/2.0/forecast/inventory")
    async def forecast_inventory(self, request: Request) -> Response:
        return await self._forecast("inventory", request)

    @route("POST", "/api/2.0/forecast/campaign")
    async def forecast_campaign(self, request: Request) -> Response:
        return await self._forecast("campaign", request)

    @route("GET", "/api/2.0/forecast/job/{id}")
    async def forecast_job(self, request: Request) -> Response:
        found = self.forecasts.get(request.params["id"])
        if found is None:
            return self.error(404, "NotFoundError", "no such forecast job")
        kind, run, _ = found
        if run.id in self.cancelled:
            return Response.json({"jobId": run.id, "status": "CANCELLED", "message": "cancelled by the user"})
        if self.clock.now() - run.started < self.report_seconds:
            return Response.json({"jobId": run.id, "status": "PROCESSING"})
        return Response(201, b"", {"location": f"/api/2.0/forecast/report/{kind}/{run.id}"})

    @route("POST", "/api/2.0/forecast/job/{id}/cancel")
    async def forecast_cancel(self, request: Request) -> Response:
        if request.params["id"] not in self.forecasts:
            return self.error(404, "NotFoundError", "no such forecast job")
        self.cancelled.add(request.params["id"])
        return Response(200)

    @route("GET", "/api/2.0/forecast/report/{kind}/{id}")
    async def forecast_result(self, request: Request) -> Response:
        found = self.forecasts.get(request.params["id"])
        if (
            found is None
            or found[0] != request.params["kind"]
            or self.clock.now() - found[1].started < self.report_seconds
        ):
            return self.error(404, "NotFoundError", "no such forecast")
        kind, run, body = found
        days = (
            max(1, (int(body.get("endDate", 0)) - int(body.get("startDate", 0))) // 86_400_000)
            if kind == "inventory"
            else 1
        )
        total = 1000 * days
        return Response.json(
            {
                "jobId": run.id,
                "name": body.get("name"),
                "totalInventory": {"total": total, "inventoryByDate": {}},
                "unusedInventory": {"total": total // 2, "inventoryByDate": {}},
            }
        )
