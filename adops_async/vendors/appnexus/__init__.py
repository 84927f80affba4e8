"""AppNexus (Xandr / Microsoft Invest): ``from adops_async.vendors.appnexus import AppNexus``.

See :class:`AppNexus` for the rules it keeps (100 reads + 60 writes per member per minute, 15 in flight, 10 logins
per 5 minutes) and :mod:`._dialect` for how errors and rate signals of every documented era are read.
"""

from ._auth import AppNexusAuth, LoginBudget
from ._client import AppNexus, default_gate
from ._dialect import ERROR_CLASSES, AppNexusDialect
from ._models import (
    Advertiser,
    Campaign,
    Creative,
    InsertionOrder,
    LineItem,
    Member,
    Placement,
    Profile,
    Publisher,
    Segment,
    Site,
    User,
)
from ._reports import AppNexusReportJob, PagedReportJob, ReportFailed, Reports
from ._resources import MAX_PAGE, AppNexusPaging, AppNexusResource

__all__ = [
    "ERROR_CLASSES",
    "MAX_PAGE",
    "Advertiser",
    "AppNexus",
    "AppNexusAuth",
    "AppNexusDialect",
    "AppNexusPaging",
    "AppNexusReportJob",
    "AppNexusResource",
    "Campaign",
    "Creative",
    "InsertionOrder",
    "LineItem",
    "LoginBudget",
    "Member",
    "PagedReportJob",
    "Placement",
    "Profile",
    "Publisher",
    "ReportFailed",
    "Reports",
    "Segment",
    "Site",
    "User",
    "default_gate",
]
