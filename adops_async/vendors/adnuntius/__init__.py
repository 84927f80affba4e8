"""Adnuntius (``api.adnuntius.com``): Bearer tokens, network context, idempotent upserts, 429 + Retry-After.

See docs/vendors/adnuntius.md for the sources behind every rule declared here.
"""

from ._auth import AdnuntiusAuth, TwoFactorCodeProvider
from ._client import DEFAULT_MAX_IN_FLIGHT, Adnuntius, default_gate
from ._dialect import AdnuntiusDialect, messages_of, render
from ._models import (
    AdnuntiusObject,
    AdUnit,
    Advertiser,
    Asset,
    Creative,
    Layout,
    LineItem,
    Location,
    Money,
    Network,
    ObjectState,
    Order,
    Ref,
    Segment,
    Site,
    Team,
    Tier,
    TranslatableMessage,
    User,
)
from ._paging import AdnuntiusPaging, LocationPaging, filter_by, where, where_clause
from ._resources import AdnuntiusResource, AssetResource, new_id
from ._stats import StatsChunk, StatsMetrics, StatsReport, StatsReports, StatsResult, iso_utc

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "AdUnit",
    "Adnuntius",
    "AdnuntiusAuth",
    "AdnuntiusDialect",
    "AdnuntiusObject",
    "AdnuntiusPaging",
    "AdnuntiusResource",
    "Advertiser",
    "Asset",
    "AssetResource",
    "Creative",
    "Layout",
    "LineItem",
    "Location",
    "LocationPaging",
    "Money",
    "Network",
    "ObjectState",
    "Order",
    "Ref",
    "Segment",
    "Site",
    "StatsChunk",
    "StatsMetrics",
    "StatsReport",
    "StatsReports",
    "StatsResult",
    "Team",
    "Tier",
    "TranslatableMessage",
    "TwoFactorCodeProvider",
    "User",
    "default_gate",
    "filter_by",
    "iso_utc",
    "messages_of",
    "new_id",
    "render",
    "where",
    "where_clause",
]
