"""Typed Adnuntius entities (VENDORS.md 4.4). Unknown fields are kept; what was read can be written back.

Conventions (SEED-004 "API Conventions"): ids are strings the client chooses; references between objects are HATEOAS
objects ``{"id", "url", "name"}`` (``{"id": ...}`` is enough on write, and a bare id string is accepted on read);
``objectState`` is ``ACTIVE``, ``INACTIVE`` or ``HIDDEN``; ``validationWarnings`` list problems that stop delivery
and stay visible on every model; dates are ISO-8601 UTC.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from ...core.models import VendorModel
from ._dialect import render

__all__ = [
    "AdUnit",
    "Advertiser",
    "AdnuntiusObject",
    "Asset",
    "Creative",
    "Layout",
    "LineItem",
    "Money",
    "Network",
    "ObjectState",
    "Order",
    "Ref",
    "Segment",
    "Site",
    "Team",
    "Tier",
    "TranslatableMessage",
    "User",
]


class ObjectState(str, enum.Enum):
    """Adnuntius has no delete: objects are deactivated or hidden (SEED-004 "Deleting Data")."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    HIDDEN = "HIDDEN"


class Ref(VendorModel):
    """A link to another object: ``{"id": "order_1", "url": "/api/v1/orders/order_1", "name": "..."}``."""

    id: str
    url: str | None = None
    name: str | None = None

    @classmethod
    def to(cls, id: str) -> Ref:
        return cls(id=id)


def _ref(value: Any) -> Any:
    # Some fields also come (and may be written) as a bare id string: "layout": "layout_1" (VENDORS.md 4.2).
    return {"id": value} if isinstance(value, str) else value


class TranslatableMessage(VendorModel):
    """An error or warning: ``text`` has ``{{param}}`` placeholders filled from ``params`` by :attr:`rendered`."""

    type: str | None = None
    code: str | None = None
    text: str | None = None
    params: Any = None

    @property
    def rendered(self) -> str:
        return render(self.model_dump(by_alias=True))


class Money(VendorModel):
    """An amount in a currency: ``{"amount": 10.0, "currency": "EUR"}``."""

    amount: float | None = None
    currency: str | None = None


class AdnuntiusObject(VendorModel):
    """Fields every domain object has. Read-only ones (``url``, ``createTime`` ...) are ignored by the API on write."""

    id: str | None = None
    name: str | None = None
    object_state: ObjectState | str | None = Field(default=None, alias="objectState")
    validation_warnings: list[TranslatableMessage] = Field(default_factory=list, alias="validationWarnings")
    url: str | None = None
    create_time: datetime | None = Field(default=None, alias="createTime")
    update_time: datetime | None = Field(default=None, alias="updateTime")

    @property
    def warnings(self) -> list[str]:
        """The validation warnings, rendered (a line item with warnings does not deliver)."""
        return [w.rendered for w in self.validation_warnings]


class Network(AdnuntiusObject):
    """``networks``: a network, the scope every other object belongs to (the client's ``context``)."""


class Team(AdnuntiusObject):
    """``teams``."""

    labels: list[str] | None = None
    sites: list[Ref] | None = None


class Advertiser(AdnuntiusObject):
    """``advertisers``."""

    team: Ref | None = None
    description: str | None = None
    external_reference: str | None = Field(default=None, alias="externalReference")
    category: str | None = None
    email: str | None = None
    advertiser_url: str | None = Field(default=None, alias="advertiserUrl")

    _refs = field_validator("team", mode="before")(_ref)


class Order(AdnuntiusObject):
    """``orders``: an advertiser's order, holding line items."""

    advertiser: Ref | None = None
    team: Ref | None = None
    labels: list[str] | None = None

    _refs = field_validator("advertiser", "team", mode="before")(_ref)


class LineItem(AdnuntiusObject):
    """``lineitems``: what is bought, under an order."""

    order: Ref | None = None
    tier: Ref | None = None
    type: str | None = None
    user_state: str | None = Field(default=None, alias="userState")
    execution_state: str | None = Field(default=None, alias="executionState")
    start_date: datetime | None = Field(default=None, alias="startDate")
    end_date: datetime | None = Field(default=None, alias="endDate")
    objectives: dict[str, Any] | None = None
    bid_specification: dict[str, Any] | None = Field(default=None, alias="bidSpecification")
    targeting: dict[str, Any] | None = None
    labels: list[str] | None = None

    _refs = field_validator("order", "tier", mode="before")(_ref)


class Creative(AdnuntiusObject):
    """``creatives``: an ad of a line item."""

    line_item: Ref | None = Field(default=None, alias="lineItem")
    layout: Ref | None = None
    width: int | None = None
    height: int | None = None
    user_state: str | None = Field(default=None, alias="userState")
    constraints_to_assets: dict[str, Any] | None = Field(default=None, alias="constraintsToAssets")
    constraints_to_text: dict[str, Any] | None = Field(default=None, alias="constraintsToText")
    constraints_to_urls: dict[str, Any] | None = Field(default=None, alias="constraintsToUrls")

    _refs = field_validator("line_item", "layout", mode="before")(_ref)


class Asset(AdnuntiusObject):
    """``assets``: a file of a creative (uploaded multipart)."""

    mime_type: str | None = Field(default=None, alias="mimeType")
    file_name: str | None = Field(default=None, alias="fileName")
    cdn_id: str | None = Field(default=None, alias="cdnId")
    file_size_bytes: int | None = Field(default=None, alias="fileSizeBytes")
    width: int | None = None
    height: int | None = None


class Site(AdnuntiusObject):
    """``sites``."""

    description: str | None = None
    site_url: str | None = Field(default=None, alias="siteUrl")
    labels: list[str] | None = None
    site_group: Ref | None = Field(default=None, alias="siteGroup")

    _refs = field_validator("site_group", mode="before")(_ref)


class AdUnit(AdnuntiusObject):
    """``adunits``: a slot on a site."""

    site: Ref | None = None
    floor_price: Money | None = Field(default=None, alias="floorPrice")
    width: int | None = None
    height: int | None = None
    page_size: int | None = Field(default=None, alias="pageSize")
    labels: list[str] | None = None

    _refs = field_validator("site", mode="before")(_ref)


class User(AdnuntiusObject):
    """``users``."""

    username: str | None = None
    display_name: str | None = Field(default=None, alias="displayName")
    locale: str | None = None


class Tier(AdnuntiusObject):
    """``tiers``: line item priorities."""


class Layout(AdnuntiusObject):
    """``layouts``: creative templates."""

    asset_constraints: list[dict[str, Any]] | None = Field(default=None, alias="assetConstraints")


class Segment(AdnuntiusObject):
    """``segments``: audiences."""
