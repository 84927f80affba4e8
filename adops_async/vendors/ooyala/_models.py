"""Typed Ooyala Pulse entities (docs/vendors/ooyala.md).

Booking beans arrive as XML, so every value is text until the model reads it (``"true"`` -> ``True``, ``"5"`` -> 5).
Every model keeps fields it does not name (``extra="allow"``): an update writes the whole bean back, and a field this
library does not know must survive the round trip, or the vendor clears it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer

from ...core.models import VendorModel

__all__ = [
    "Ad",
    "Address",
    "Asset",
    "Budget",
    "Campaign",
    "Client",
    "Creative",
    "Goal",
    "Phone",
    "ReportDefinition",
    "Rules",
    "TargetingTemplate",
    "TemplateUsage",
    "VpDateTime",
]


def _vp(name: str) -> Any:
    """A field the vendor spells ``name``: readable by either name, written under the vendor's, and typed so that
    ``Campaign(advertiser_id=...)`` type-checks (a plain ``alias`` would make ``advertiserId`` the init name)."""
    return Field(None, validation_alias=name, serialization_alias=name)


def _read_date(value: Any) -> Any:
    # The Booking API writes "2016-10-30T00:00:00+0200"; ISO 8601 wants "+02:00". Accept both, and "Z".
    if isinstance(value, str) and len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit() and "T" in value:
        return f"{value[:-2]}:{value[-2:]}"
    return value


def _write_date(value: datetime) -> str:
    # Written back the way the vendor writes it (offset without a colon); a naive time stays naive.
    return value.strftime("%Y-%m-%dT%H:%M:%S%z")


VpDateTime = Annotated[datetime, BeforeValidator(_read_date), PlainSerializer(_write_date, return_type=str)]
"""A Pulse timestamp: reads ``+0200``, ``+02:00``, ``Z`` or no offset; writes ``2016-10-30T00:00:00+0200``."""


class Budget(VendorModel):
    """A campaign's budget."""

    value: float | None = None
    """The amount, in the account's currency."""


class Campaign(VendorModel):
    """``campaignBean``: only ``name`` is required (later docs: ``advertiserId`` too); ``status`` may only be set
    to ``ARCHIVED``; ``cpmHigh``, ``cpmLow``, ``start`` and ``end`` are read-only."""

    id: str | None = None
    """The campaign's id (a UUID), set by Pulse; sent on update only."""
    name: str | None = None
    """The campaign's name (at most 250 characters)."""
    advertiser_id: str | None = _vp("advertiserId")
    """``advertiserId``: the advertiser (a client) it is for."""
    agency_id: str | None = _vp("agencyId")
    """``agencyId``: the agency (a client) that booked it, or ``None``."""
    brand_id: str | None = _vp("brandId")
    """``brandId``: the brand (a client) it advertises, or ``None``."""
    budget: Budget | None = None
    """The campaign's budget."""
    custom_id: str | None = _vp("customId")
    """``customId``: your own id of the campaign."""
    description: str | None = None
    """A description."""
    enabled: bool | None = None
    """Whether it may deliver (default ``False``)."""
    exclusive: bool | None = None
    """Pulse's ``exclusive`` flag of the campaign (default ``False``), kept as sent."""
    front_load_factor: int | None = _vp("frontLoadFactor")
    """``frontLoadFactor``: how far delivery is pushed toward the start (0 to 100, in steps of 10)."""
    goal_total: float | None = _vp("goalTotal")
    """``goalTotal``: the total of its goals."""
    goal_type: str | None = _vp("goalType")
    """``goalType``: ``IMPRESSION``, ``MIXED`` or ``SHARE_OF_VOICE``."""
    include_in_forecast: bool | None = _vp("includeInForecast")
    """``includeInForecast``: whether forecasts count it (default ``True``)."""
    priority: int | None = None
    """Its priority, 1 to 10."""
    status: str | None = None
    """``ACTIVE``, ``RECENT``, ``UPCOMING`` or ``ARCHIVED``; only ``ARCHIVED`` may be set."""
    vast_enabled: bool | None = _vp("vastEnabled")
    """``vastEnabled``: Pulse's VAST flag of the campaign, kept as sent."""
    start: VpDateTime | None = None
    """When it starts, read-only (ignored on write)."""
    end: VpDateTime | None = None
    """When it ends, read-only (ignored on write)."""


class Goal(VendorModel):
    """``goalBean``: ``campaignId``, ``start``, ``goalValue``, ``type`` and ``variant`` are required."""

    id: str | None = None
    """The goal's id (a UUID), set by Pulse; sent on update only."""
    name: str | None = None
    """The goal's name."""
    campaign_id: str | None = _vp("campaignId")
    """``campaignId``: the campaign it belongs to (required)."""
    budget: Budget | None = None
    """The goal's budget."""
    custom_id: str | None = _vp("customId")
    """``customId``: your own id of the goal."""
    description: str | None = None
    """A description."""
    start: VpDateTime | None = None
    """When it starts delivering (required)."""
    end: VpDateTime | None = None
    """When it stops delivering, or ``None``."""
    format_type: str | None = _vp("formatType")
    """``formatType``: where the ad plays (``PREROLL`` by default, ``MIDROLL``, ``POSTROLL``, ``OVERLAY``, ...)."""
    front_load_factor: int | None = _vp("frontLoadFactor")
    """``frontLoadFactor``: how far delivery is pushed toward the start (0 to 100)."""
    goal_value: float | None = _vp("goalValue")
    """``goalValue``: impressions to deliver, or for ``SHARE_OF_VOICE`` the share (0.01 to 1.0) (required)."""
    priority: int | None = None
    """Its priority."""
    type: str | None = None
    """``SHARE_OF_VOICE``, ``IMPRESSION`` or ``UNLIMITED_IMPRESSION`` (required)."""
    unlimited_impressions: bool | None = _vp("unlimitedImpressions")
    """``unlimitedImpressions``: whether it delivers without an impression cap."""
    variant: str | None = None
    """``NORMAL`` or ``BUMPER`` (required)."""


class Phone(VendorModel):
    """A client's phone number."""

    country_code: str | None = _vp("countryCode")
    """``countryCode``: the country calling code."""
    number: str | None = None
    """The number."""


class Address(VendorModel):
    """A client's address."""

    address1: str | None = None
    """The first address line."""
    address2: str | None = None
    """The second address line."""
    city: str | None = None
    """The city."""
    country: str | None = None
    """ISO 3166 alpha-3, e.g. ``GBR``."""
    state_province_region: str | None = _vp("stateProvinceRegion")
    """``stateProvinceRegion``: the state, province or region."""
    zip_code: str | None = _vp("zipCode")
    """``zipCode``: the postal code."""


class Client(VendorModel):
    """``clientBean``: an advertiser, agency or brand (``type``); ``name`` and ``type`` are required."""

    id: str | None = None
    """The client's id (a UUID), set by Pulse."""
    name: str | None = None
    """The client's name (required)."""
    type: str | None = None
    """``ADVERTISER``, ``AGENCY`` or ``BRAND`` (required)."""
    comments: str | None = None
    """Free-text comments."""
    email: str | None = None
    """A contact address."""
    fax_number: Phone | None = _vp("faxNumber")
    """``faxNumber``: a fax number."""
    phone_number: Phone | None = _vp("phoneNumber")
    """``phoneNumber``: a phone number."""
    postal_address: Address | None = _vp("postalAddress")
    """``postalAddress``: where mail goes."""
    visiting_address: Address | None = _vp("visitingAddress")
    """``visitingAddress``: where the client is."""


class Rules(VendorModel):
    """``rulesBean`` of a campaign or goal: content/tag rules, frequency caps, locations, time restrictions."""

    parent_id: str | None = _vp("parentId")
    """``parentId``: the campaign or goal the rules belong to."""
    content: list[dict[str, Any]] | None = None
    """Content rules (``{resourceId, ruleType, variableType}``: a content partner, a site or a tag)."""
    tags: list[dict[str, Any]] | None = None
    """Tag rules, shaped as the content rules."""
    frequency_cappings: Any = _vp("frequencyCappings")
    """``frequencyCappings``: impressions per ``timeUnit`` (``HOUR``, ``DAY``, ``WEEK``, ``MONTH``), kept as sent."""
    locations: list[dict[str, Any]] | None = None
    """Location rules (``{allowed, id, iso2, locationType}``)."""
    time_restrictions: Any = _vp("timeRestrictions")
    """``timeRestrictions``: the days and hours it may deliver (in the site's time zone), kept as sent."""


class Creative(VendorModel):
    """An ad's creative (its media)."""

    type: str | None = None
    """``standard``, ``thirdparty``, ``placeholder`` or ``spotPlaceholder``."""
    insertion_point: str | None = _vp("insertionPoint")
    """``insertionPoint``: ``preroll``, ``midroll`` or ``postroll``."""
    asset_id: str | None = _vp("assetId")
    """``assetId``: the uploaded asset it plays."""
    click_destination_uri: str | None = _vp("clickDestinationUri")
    """``clickDestinationUri``: where a click goes."""
    vast_uri: str | None = _vp("vastUri")
    """``vastUri``: the VAST document of a third-party creative."""


class Ad(VendorModel):
    """An Ad API ad (JSON). A PUT must carry every field: missing start/end fall back to the goal's."""

    id: str | None = None
    """The ad's id, set by Pulse; it goes in the body of an update."""
    name: str | None = None
    """The ad's name."""
    goal_id: str | None = _vp("goalId")
    """``goalId``: the goal it delivers for."""
    custom_id: str | None = _vp("customId")
    """``customId``: your own id of the ad."""
    description: str | None = None
    """A description."""
    enabled: bool | None = None
    """Whether it may deliver (default ``False``)."""
    weight: int | None = None
    """Its weight in the rotation of the goal's ads."""
    creative: Creative | None = None
    """What it plays."""
    start: VpDateTime | None = None
    """When it starts; the goal's start when missing."""
    end: VpDateTime | None = None
    """When it ends; the goal's end when missing."""
    external_trackers: list[dict[str, Any]] | None = _vp("externalTrackers")
    """``externalTrackers``: URLs called on events (``{url, event}``; ``IMPRESSION``, ``CLICK_THROUGH``,
    ``AD_COMPLETE``, ...)."""


class Asset(VendorModel):
    """An uploaded asset's metadata. The vendor spells the status ``transcondingStatus`` (sic): NOT_AVAILABLE,
    FAILED, INITIAL, UPLOADING, TRANSCODING, DOWNLOADING or FINISHED; a non-video asset is always NOT_AVAILABLE."""

    id: str | None = None
    """The asset's id (from the upload's ``Location``)."""
    name: str | None = None
    """The file name it was uploaded with."""
    transcoding_status: str | None = _vp("transcondingStatus")
    """``transcondingStatus`` (the vendor's spelling): where transcoding stands."""


class ReportDefinition(VendorModel):
    """A report definition of the Reporting API 2.0 (its ``id`` is what ``reports.run`` takes)."""

    id: str
    """The definition's id, what ``reports.run`` takes."""
    name: str | None = None
    """Its name (``Campaign performance by creative``)."""
    created: str | None = None
    """When it was created, as Pulse sends it (``None`` for the built-in ones)."""
    type: str | None = None
    """Pulse's ``type`` of the definition (``default`` for the built-in ones), kept as sent."""
    filters: list[dict[str, Any]] = Field(default_factory=list)
    """The filters a run takes (``{type, id}``: ``CAMPAIGN``, ``ADVERTISER``, ``TIME_PERIOD``, ...)."""


class TargetingTemplate(VendorModel):
    """A targeting template: only ``name`` can change after creation."""

    id: str | None = None
    """The template's id."""
    name: str | None = None
    """Its name, the one field that can change."""
    site_id: str | None = _vp("siteId")
    """``siteId``: the site it belongs to."""
    created: VpDateTime | None = None
    """When it was created."""


class TemplateUsage(VendorModel):
    """How many targeting templates are active, and the quota."""

    active: int = 0
    """Templates in use."""
    max: int = 0
    """The account's quota of templates."""
    message_title: str | None = _vp("messageTitle")
    """``messageTitle``: a notice's title from Pulse about the quota (often empty)."""
    message_body: str | None = _vp("messageBody")
    """``messageBody``: the notice's text (often empty)."""
