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
    """The fields every AppNexus object has."""

    id: int | None = None
    """The object's id, assigned by AppNexus."""
    code: str | None = None
    """Your own identifier for the object (``code``), unique per member and type; ``None`` when unset."""
    name: str | None = None
    """The object's name."""
    state: str | None = None
    """``active`` or ``inactive``."""
    last_modified: str | None = None
    """When the object last changed (``YYYY-MM-DD HH:MM:SS``, UTC), read-only."""


class Member(_Object):
    """``member``: the account (a member), its name and state."""

    active: bool | None = None
    """Whether the member is active."""
    bidder_id: int | None = None
    """The bidder the member buys through."""
    default_currency: str | None = None
    """The member's default currency (ISO 4217 code)."""
    timezone: str | None = None
    """The member's time zone (``America/New_York``); the default of its objects."""
    contact_email: str | None = None
    """The member's contact address."""
    entity_type: str | None = None
    """AppNexus' ``entity_type`` of the member (its business type), kept as sent."""


class Advertiser(_Object):
    """``advertiser``."""

    timezone: str | None = None
    """The advertiser's time zone, the default of its insertion orders and line items."""
    default_currency: str | None = None
    """The advertiser's default currency (ISO 4217 code)."""
    use_insertion_orders: bool | None = None
    """Whether the advertiser's line items sit under insertion orders."""
    profile_id: int | None = None
    """The targeting profile attached to the advertiser, or ``None``."""
    lifetime_budget: float | None = None
    """The lifetime spend budget, in the advertiser's currency; ``None``: unlimited."""
    lifetime_budget_imps: int | None = None
    """The lifetime impression budget; ``None``: unlimited."""
    daily_budget: float | None = None
    """The daily spend budget, in the advertiser's currency; ``None``: unlimited."""
    daily_budget_imps: int | None = None
    """The daily impression budget; ``None``: unlimited."""
    enable_pacing: bool | None = None
    """Whether spend is paced evenly through the day."""
    labels: list[Any] | None = None
    """Reporting labels (``{id, value, name}`` objects), kept as sent."""
    stats: Any = None
    """Statistics AppNexus adds when asked (``?stats=true``), kept as sent."""


class InsertionOrder(_Object):
    """``insertion-order``: an advertiser's budget and flight, holding line items."""

    advertiser_id: int | None = None
    """The advertiser the insertion order belongs to."""
    start_date: str | None = None
    """The flight's start (``YYYY-MM-DD HH:MM:SS``, in the object's time zone), or ``None``."""
    end_date: str | None = None
    """The flight's end (``YYYY-MM-DD HH:MM:SS``, in the object's time zone), or ``None``."""
    timezone: str | None = None
    """The time zone of its dates and budget days."""
    currency: str | None = None
    """Its currency (ISO 4217 code)."""
    budget_intervals: list[Any] | None = None
    """The flights: budget periods with their own dates and budgets, kept as sent."""
    budget_type: str | None = None
    """What its budgets count: ``revenue``, ``impression`` or ``flexible``."""
    line_items: list[Any] | None = None
    """The line items under it (``{id, ...}`` references)."""
    labels: list[Any] | None = None
    """Reporting labels, kept as sent."""
    profile_id: int | None = None
    """Its targeting profile, or ``None``."""


class LineItem(_Object):
    """``line-item``: what is bought, under an insertion order."""

    advertiser_id: int | None = None
    """The advertiser the line item belongs to."""
    line_item_type: str | None = None
    """The line item's type (``standard_v2``, ``guaranteed_delivery``, ...)."""
    start_date: str | None = None
    """The flight's start (``YYYY-MM-DD HH:MM:SS``, in the object's time zone), or ``None``."""
    end_date: str | None = None
    """The flight's end (``YYYY-MM-DD HH:MM:SS``, in the object's time zone), or ``None``."""
    timezone: str | None = None
    """The time zone of its dates and budget days."""
    ad_types: list[str] | None = None
    """The media it buys (``banner``, ``video``, ``native``, ``audio``)."""
    revenue_type: str | None = None
    """How the advertiser is charged (``cpm``, ``cpc``, ``cost_plus_margin``, ...)."""
    revenue_value: float | None = None
    """The amount of ``revenue_type`` (a CPM, a CPC, a margin), in its currency."""
    goal_type: str | None = None
    """What it optimizes for (``none``, ``cpc``, ``cpa``, ...)."""
    currency: str | None = None
    """Its currency (ISO 4217 code)."""
    insertion_orders: list[Any] | None = None
    """The insertion orders it sits under (``{id, ...}`` references)."""
    budget_intervals: list[Any] | None = None
    """The flights: budget periods with their own dates and budgets, kept as sent."""
    creatives: list[Any] | None = None
    """The creatives it serves (``{id, ...}`` references)."""
    profile_id: int | None = None
    """Its targeting profile, or ``None``."""
    pixels: list[Any] | None = None
    """The conversion pixels it counts (``{id, ...}`` references)."""
    supply_strategies: Any = None
    """AppNexus' ``supply_strategies`` (which inventory sources it buys from), kept as sent."""
    valuation: Any = None
    """AppNexus' ``valuation`` (goal and bidding settings), kept as sent."""


class Campaign(_Object):
    """``campaign``: how a line item bids, under it."""

    advertiser_id: int | None = None
    """The advertiser the campaign belongs to."""
    line_item_id: int | None = None
    """The line item it bids for."""
    profile_id: int | None = None
    """Its targeting profile, or ``None``."""
    start_date: str | None = None
    """Its start (``YYYY-MM-DD HH:MM:SS``, in the object's time zone), or ``None``."""
    end_date: str | None = None
    """Its end (``YYYY-MM-DD HH:MM:SS``, in the object's time zone), or ``None``."""
    creatives: list[Any] | None = None
    """The creatives it serves (``{id, ...}`` references)."""
    timezone: str | None = None
    """The time zone of its dates and budget days."""
    inventory_type: str | None = None
    """The inventory it buys (``real_time``, ``direct``, ...)."""
    lifetime_budget: float | None = None
    """The lifetime spend budget; ``None``: unlimited."""
    daily_budget: float | None = None
    """The daily spend budget; ``None``: unlimited."""
    cpm_bid_type: str | None = None
    """How it bids (``base``, ``average``, ``clearing``, ``predicted``, ``margin``, ...)."""
    base_bid: float | None = None
    """The CPM bid when ``cpm_bid_type`` is ``base``."""
    min_bid: float | None = None
    """The lowest CPM an optimized bid may go to, or ``None``."""
    max_bid: float | None = None
    """The highest CPM an optimized bid may go to, or ``None``."""
    priority: int | None = None
    """Its priority against the member's other direct demand (1 to 10)."""


class Creative(_Object):
    """``creative``: an ad."""

    type: str | None = None
    """AppNexus' ``type`` of the creative, kept as sent."""
    advertiser_id: int | None = None
    """The advertiser the creative belongs to, or ``None`` for a publisher's."""
    publisher_id: int | None = None
    """The publisher the creative belongs to, or ``None`` for an advertiser's."""
    brand_id: int | None = None
    """The brand it advertises (AppNexus' brand list), or ``None``."""
    format: str | None = None
    """How it is served (``url-html``, ``url-js``, ``raw-html``, ``image``, ...)."""
    width: int | None = None
    """Width in pixels."""
    height: int | None = None
    """Height in pixels."""
    media_url: str | None = None
    """Where its media (image, script) is hosted, for URL formats."""
    click_url: str | None = None
    """Where a click goes."""
    content: str | None = None
    """Its HTML or JavaScript, for raw formats."""
    audit_status: str | None = None
    """AppNexus' audit verdict (``pending``, ``audited``, ``rejected``, ...)."""
    is_expired: bool | None = None
    """Whether it expired for not serving (it no longer counts against the object limit)."""
    line_items: list[Any] | None = None
    """The line items serving it (``{id, ...}`` references)."""
    campaigns: list[Any] | None = None
    """The campaigns serving it (``{id, ...}`` references)."""
    template: Any = None
    """Its creative template (``{id, ...}``), kept as sent."""
    created_on: str | None = None
    """When it was created (``YYYY-MM-DD HH:MM:SS``, UTC)."""


class Publisher(_Object):
    """``publisher``."""

    timezone: str | None = None
    """The publisher's time zone."""
    currency: str | None = None
    """Its currency (ISO 4217 code)."""
    is_oo: bool | None = None
    """Whether the member owns and operates the publisher (rather than representing it)."""
    reselling_exposure: str | None = None
    """Whether its inventory may be resold to other members (``public`` or ``private``)."""
    default_site_id: int | None = None
    """The site created with the publisher, or ``None``."""
    placements: list[Any] | None = None
    """Its placements (``{id, ...}`` references)."""


class Site(_Object):
    """``site``: a publisher's site, holding placements."""

    url: str | None = None
    """The site's URL."""
    publisher_id: int | None = None
    """The publisher the site belongs to."""
    placements: list[Any] | None = None
    """Its placements (``{id, ...}`` references)."""
    supply_type: str | None = None
    """Where it serves: ``web``, ``mobile_web`` or ``mobile_app``."""


class Placement(_Object):
    """``placement``: a slot on a site."""

    width: int | None = None
    """Width in pixels, or ``None`` for several sizes."""
    height: int | None = None
    """Height in pixels, or ``None`` for several sizes."""
    publisher_id: int | None = None
    """The publisher the placement belongs to."""
    site_id: int | None = None
    """The site it is on."""
    default_creative_id: int | None = None
    """The creative served when nothing else is, or ``None``."""
    reserve_price: float | None = None
    """The lowest CPM it sells for, or ``None``."""
    supported_media_types: list[Any] | None = None
    """The media types it accepts (``{id, name}`` objects), kept as sent."""
    video: Any = None
    """AppNexus' ``video`` settings of the placement, kept as sent."""


class Segment(_Object):
    """``segment``: an audience."""

    member_id: int | None = None
    """The member that owns the segment."""
    advertiser_id: int | None = None
    """The advertiser it is restricted to, or ``None``: the whole member's."""
    short_name: str | None = None
    """Its short, display name."""
    description: str | None = None
    """Its description."""
    category: str | None = None
    """AppNexus' ``category`` of the segment, kept as sent."""
    expire_minutes: int | None = None
    """Minutes a user stays in the segment after being added; ``None``: AppNexus' default."""
    active: bool | None = None
    """Whether users are being added to it."""


class Profile(_Object):
    """``profile``: targeting, used by line items and campaigns."""

    advertiser_id: int | None = None
    """The advertiser the profile belongs to, or ``None``."""
    description: str | None = None
    """Its description."""
    country_action: str | None = None
    """``include`` or ``exclude``: what ``country_targets`` does."""
    country_targets: list[Any] | None = None
    """The countries targeted (``{country}`` objects), kept as sent."""
    segment_targets: list[Any] | None = None
    """The segments targeted (``{id, action, ...}`` objects), kept as sent."""


class User(_Object):
    """``user``: an API or UI user of the member."""

    username: str | None = None
    """The login name."""
    user_type: str | None = None
    """What the user may reach (``member``, ``advertiser``, ``publisher``, ...)."""
    first_name: str | None = None
    """First name."""
    last_name: str | None = None
    """Last name."""
    email: str | None = None
    """E-mail address."""
    entity_id: int | None = None
    """The advertiser or publisher an advertiser or publisher user is limited to, or ``None``."""
    read_only: bool | None = None
    """Whether the user may only read."""
    active: bool | None = None
    """Whether the user may log in."""
