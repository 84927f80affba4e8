"""Ooyala Pulse (videoplaza): Booking (XML), Ad API, Reporting 2.0; one request in flight per client.

async with OoyalaPulse(api_key="...") as pulse:
    campaign = await pulse.campaigns.update(campaign_id, {"name": "Spring"})   # GET, merge, PUT
    job = await pulse.reports.run(definition_id, [{"type": "CAMPAIGN", "id": campaign_id}])
    async for row in job.rows():
        ...
"""

from ._adapi import Ads, Assets
from ._auth import ApiKeyAuth, SessionLogin
from ._booking import BookingResource, Campaigns, Clients, Goals
from ._client import OoyalaPulse
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
    "Forecasts",
    "Goal",
    "Goals",
    "OoyalaDialect",
    "OoyalaPulse",
    "OoyalaReportJob",
    "Phone",
    "ReportDefinition",
    "ReportFailed",
    "Reports",
    "Rules",
    "SessionLogin",
    "TargetingTemplate",
    "TargetingTemplates",
    "TemplateQuotaExceeded",
    "TemplateUsage",
    "epoch_ms",
]
