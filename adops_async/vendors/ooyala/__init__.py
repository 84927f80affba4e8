"""Ooyala Pulse (videoplaza): Booking (XML), Ad API, Reporting 2.0; one request in flight per client.

async with OoyalaPulse(api_key="...") as pulse:
    campaign = await pulse.campaigns.update(campaign_id, {"name": "Spring"})   # GET, merge, PUT
    job = await pulse.reports.run(definition_id, [{"type": "CAMPAIGN", "id": campaign_id}])
    async for row in job.rows():
        ...
    custom = await pulse.custom_reports.run("Revenue by category", {"startDateTime": ..., "metrics": ["revenue"]})
    async for row in custom.rows():   # two run at once per account; more wait for a slot
        ...
"""

from ._adapi import Ads, Assets
from ._auth import ApiKeyAuth, SessionLogin
from ._booking import BookingResource, Campaigns, Clients, Goals
from ._client import OoyalaPulse
from ._custom_reports import CustomReportJob, CustomReports, ReportTruncated
from ._dialect import OoyalaDialect, ReportFailed, TemplateQuotaExceeded
from ._forecast import Forecasts, epoch_ms
from ._models import (
    Ad,
    Address,
    Asset,
    Budget,
    Campaign,
    Client,
    Creative,
    Goal,
    Phone,
    ReportDefinition,
    Rules,
    TargetingTemplate,
    TemplateUsage,
)
from ._reports import OoyalaReportJob, Reports
from ._templates import TargetingTemplates

__all__ = [
    "Ad",
    "Address",
    "Ads",
    "ApiKeyAuth",
    "Asset",
    "Assets",
    "BookingResource",
    "Budget",
    "Campaign",
    "Campaigns",
    "Client",
    "Clients",
    "Creative",
    "CustomReportJob",
    "CustomReports",
    "Forecasts",
    "Goal",
    "Goals",
    "OoyalaDialect",
    "OoyalaPulse",
    "OoyalaReportJob",
    "Phone",
    "ReportDefinition",
    "ReportFailed",
    "ReportTruncated",
    "Reports",
    "Rules",
    "SessionLogin",
    "TargetingTemplate",
    "TargetingTemplates",
    "TemplateQuotaExceeded",
    "TemplateUsage",
    "epoch_ms",
]
