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


class Campaign(VendorModel):
    """``campaignBean``: only ``name`` is required (later docs: ``advertiserId`` too); ``status`` may only be set
    to ``ARCHIVED``; ``cpmHigh``, ``cpmLow``, ``start`` and ``end`` are read-only."""

    id: str | None = None
    name: str | None = None
    advertiser_id: str | None = _vp("advertiserId")
    agency_id: str | None = _vp("agencyId")
    brand_id: str | None = _vp("brandId")
    budget: Budget | None = None
    custom_id: str | None = _vp("customId")
    description: str | None = None
    enabled: bool | None = None
    exclusive: bool | None = None
    front_load_factor: int | None = _vp("frontLoadFactor")
    goal_total: float | None = _vp("goalTotal")
    goal_type: str | None = _vp("goalType")
    include_in_forecast: bool | None = _vp("includeInForecast")
    priority: int | None = None
    status: str | None = None
    vast_enabled: bool | None = _vp("vastEnabled")
    start: VpDateTime | None = None
    end: VpDateTime | None = None


class Goal(VendorModel):
    """``goalBean``: ``campaignId``, ``start``, ``goalValue``, ``type`` and ``variant`` are required."""

    id: str | None = None
    name: str | None = None
    campaign_id: str | None = _vp("campaignId")
    budget: Budget | None = None
    custom_id: str | None = _vp("customId")
    description: str | None = None
    start: VpDateTime | None = None
    end: VpDateTime | None = None
    format_type: str | None = _vp("formatType")
    front_load_factor: int | None = _vp("frontLoadFactor")
    goal_value: float | None = _vp("goalValue")
    priority: int | None = None
    type: str | None = None
    unlimited_impressions: bool | None = _vp("unlimitedImpressions")
    variant: str | None = None


class Phone(VendorModel):
    """A client's phone number."""

    country_code: str | None = _vp("countryCode")
    number: str | None = None


class Address(VendorModel):
    """A client's address."""

    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    country: str | None = None
    """ISO 3166 alpha-3, e.g. ``GBR``."""
    state_province_region: str | None = _vp("stateProvinceRegion")
    zip_code: str | None = _vp("zipCode")


class Client(VendorModel):
    """``clientBean``: an advertiser, agency or brand (``type``); ``name`` and ``type`` are required."""

    id: str | None = None
    name: str | None = None
    type: str | None = None
    comments: str | None = None
    email: str | None = None
    fax_number: Phone | None = _vp("faxNumber")
    phone_number: Phone | None = _vp("phoneNumber")
    postal_address: Address | None = _vp("postalAddress")
    visiting_address: Address | None = _vp("visitingAddress")


class Rules(VendorModel):
    """``rulesBean`` of a campaign or goal: content/tag rules, frequency caps, locations, time restrictions."""

    parent_id: str | None = _vp("parentId")
    content: list[dict[str, Any]] | None = None
    tags: list[dict[str, Any]] | None = None
    frequency_cappings: Any = _vp("frequencyCappings")
    locations: list[dict[str, Any]] | None = None
    time_restrictions: Any = _vp("timeRestrictions")


class Creative(VendorModel):
    """An ad's creative (its media)."""

    type: str | None = None
    insertion_point: str | None = _vp("insertionPoint")
    asset_id: str | None = _vp("assetId")
    click_destination_uri: str | None = _vp("clickDestinationUri")
    vast_uri: str | None = _vp("vastUri")


class Ad(VendorModel):
    """An Ad API ad (JSON). A PUT must carry every field: missing start/end fall back to the goal's."""

    id: str | None = None
    name: str | None = None
    goal_id: str | None = _vp("goalId")
    custom_id: str | None = _vp("customId")
    description: str | None = None
    enabled: bool | None = None
    weight: int | None = None
    creative: Creative | None = None
    start: VpDateTime | None = None
    end: VpDateTime | None = None
    external_trackers: list[dict[str, Any]] | None = _vp("externalTrackers")


class Asset(VendorModel):
    """An uploaded asset's metadata. The vendor spells the status ``transcondingStatus`` (sic): NOT_AVAILABLE,
    FAILED, INITIAL, UPLOADING, TRANSCODING, DOWNLOADING or FINISHED; a non-video asset is always NOT_AVAILABLE."""

    id: str | None = None
    name: str | None = None
    transcoding_status: str | None = _vp("transcondingStatus")


class ReportDefinition(VendorModel):
    """A report definition of the Reporting API 2.0 (its ``id`` is what ``reports.run`` takes)."""

    id: str
    name: str | None = None
    created: str | None = None
    type: str | None = None
    filters: list[dict[str, Any]] = Field(default_factory=list)


class TargetingTemplate(VendorModel):
    """A targeting template: only ``name`` can change after creation."""

    id: str | None = None
    name: str | None = None
    site_id: str | None = _vp("siteId")
    created: VpDateTime | None = None


class TemplateUsage(VendorModel):
    """How many targeting templates are active, and the quota."""

    active: int = 0
    max: int = 0
    message_title: str | None = _vp("messageTitle")
    message_body: str | None = _vp("messageBody")
