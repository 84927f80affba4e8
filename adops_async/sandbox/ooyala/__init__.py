"""A strict Ooyala Pulse sandbox: Booking (XML), Ad API, Reporting 2.0, Custom Reporting and targeting templates.

app = OoyalaSandbox(speed=60, report_seconds=30)
with serve(app) as base_url:
    async with OoyalaPulse(api_key="sandbox-key", base_url=base_url) as pulse:
        ...
assert app.violations == []   # nobody broke the one-request rule
"""

from __future__ import annotations

from typing import Any

from ._booking import BookingRoutes
from ._core import OoyalaCore, SessionToken
from ._custom import CustomReportRoutes, CustomRun
from ._json import DEFINITIONS, ForecastRoutes, JsonRoutes, ReportRun

__all__ = [
    "DEFINITIONS",
    "CustomReportRoutes",
    "CustomRun",
    "ForecastRoutes",
    "JsonRoutes",
    "OoyalaCore",
    "OoyalaSandbox",
    "ReportRun",
    "SessionToken",
]


class OoyalaSandbox(BookingRoutes, CustomReportRoutes, ForecastRoutes):
    """Everything at once; see :class:`OoyalaCore`, :class:`BookingRoutes`, :class:`JsonRoutes` and
    :class:`CustomReportRoutes` for the options.

    Faults: ``app.inject(Fault("status", status=503, path="/api/1.0/campaign"))`` and the other kinds of
    :class:`~adops_async.sandbox.Fault`; ``app.fail_reports.append(reason)`` fails the next report job.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
