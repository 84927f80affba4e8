"""Typed models of the main AppNexus services (fields per docs/vendors/appnexus.md; the XDOC field tables, trimmed).

AppNexus field names are already snake_case, so no aliases are needed. Every field is optional (a ``fields=`` filter
returns only some) and unknown fields are kept, so an object read and written back loses nothing. Timestamps stay
strings (``"YYYY-MM-DD HH:MM:SS"``, UTC unless noted) so they round-trip exactly.
"""

from __future__ import annotations

from typing import Any

from ...core.models import VendorModel

__all__ = [
    "Advertiser",
    "Campaign",
    "Creative",
    "InsertionOrder",
    "LineItem",
    "Member",
    "Placement",
    "Profile",
    "Publisher",
    "Segment",
    "Site",
    "User",
]


class _Object(VendorModel):
    id: int | None = None
    code: str | None = None
    name: str | None = None
    state: str | None = None
    last_modified: str | None = None


class Member(_Object):
    """``member``: the account (a member), its name and state."""

    active: bool | None = None
    bidder_id: int | None = None
    default_currency: str | None = None
    timezone: str | None = None
    contact_email: str | None = None
    entity_type: str | None = None


class Advertiser(_Object):
    """``advertiser``."""

    timezone: str | None = None
    default_currency: str | None = None
    use_insertion_orders: bool | None = None
    profile_id: int | None = None
    lifetime_budget: float | None = None
    lifetime_budget_imps: int | None = None
    daily_budget: float | None = None
    daily_budget_imps: int | None = None
    enable_pacing: bool | None = None
    labels: list[Any] | None = None
    stats: Any = None


class InsertionOrder(_Object):
    """``insertion-order``: an advertiser's budget and flight, holding line items."""

    advertiser_id: int | None = None
    start_date: str | None = None
    end_date: str | None = None
    timezone: str | None = None
    currency: str | None = None
    budget_intervals: list[Any] | None = None
    budget_type: str | None = None
    line_items: list[Any] | None = None
    labels: list[Any] | None = None
    profile_id: int | None = None


class LineItem(_Object):
    """``line-item``: what is bought, under an insertion order."""

    advertiser_id: int | None = None
    line_item_type: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    timezone: str | None = None
    ad_types: list[str] | None = None
    revenue_type: str | None = None
    revenue_value: float | None = None
    goal_type: str | None = None
    currency: str | None = None
    insertion_orders: list[Any] | None = None
    budget_intervals: list[Any] | None = None
    creatives: list[Any] | None = None
    profile_id: int | None = None
    pixels: list[Any] | None = None
    supply_strategies: Any = None
    valuation: Any = None


class Campaign(_Object):
    """``campaign``: how a line item bids, under it."""

    advertiser_id: int | None = None
    line_item_id: int | None = None
    profile_id: int | None = None
    start_date: str | None = None
    end_date: str | None = None
    creatives: list[Any] | None = None
    timezone: str | None = None
    inventory_type: str | None = None
    lifetime_budget: float | None = None
    daily_budget: float | None = None
    cpm_bid_type: str | None = None
    base_bid: float | None = None
    min_bid: float | None = None
    max_bid: float | None = None
    priority: int | None = None


class Creative(_Object):
    """``creative``: an ad."""

    type: str | None = None
    advertiser_id: int | None = None
    publisher_id: int | None = None
    brand_id: int | None = None
    format: str | None = None
    width: int | None = None
    height: int | None = None
    media_url: str | None = None
    click_url: str | None = None
    content: str | None = None
    audit_status: str | None = None
    is_expired: bool | None = None
    line_items: list[Any] | None = None
    campaigns: list[Any] | None = None
    template: Any = None
    created_on: str | None = None


class Publisher(_Object):
    """``publisher``."""

    timezone: str | None = None
    currency: str | None = None
    is_oo: bool | None = None
    reselling_exposure: str | None = None
    default_site_id: int | None = None
    placements: list[Any] | None = None


class Site(_Object):
    """``site``: a publisher's site, holding placements."""

    url: str | None = None
    publisher_id: int | None = None
    placements: list[Any] | None = None
    supply_type: str | None = None


class Placement(_Object):
    """``placement``: a slot on a site."""

    width: int | None = None
    height: int | None = None
    publisher_id: int | None = None
    site_id: int | None = None
    default_creative_id: int | None = None
    reserve_price: float | None = None
    supported_media_types: list[Any] | None = None
    video: Any = None


class Segment(_Object):
    """``segment``: an audience."""

    member_id: int | None = None
    advertiser_id: int | None = None
    short_name: str | None = None
    description: str | None = None
    category: str | None = None
    expire_minutes: int | None = None
    active: bool | None = None


class Profile(_Object):
    """``profile``: targeting, used by line items and campaigns."""

    advertiser_id: int | None = None
    description: str | None = None
    country_action: str | None = None
    country_targets: list[Any] | None = None
    segment_targets: list[Any] | None = None


class User(_Object):
    """``user``: an API or UI user of the member."""

    username: str | None = None
    user_type: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    entity_id: int | None = None
    read_only: bool | None = None
    active: bool | None = None
