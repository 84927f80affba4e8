"""Typed Adnuntius entities (docs/vendors/adnuntius.md). Unknown fields are kept; what was read can be written back.

Conventions (SEED-004 "API Conventions"): ids are strings the client chooses; references between objects are HATEOAS
objects ``{"id", "url", "name"}`` (``{"id": ...}`` is enough on write, and a bare id string is accepted too);
``objectState`` is ``ACTIVE``, ``INACTIVE`` or ``HIDDEN``; ``validationWarnings`` list problems that stop delivery
and stay visible on every model; dates are ISO-8601 UTC.

Every documented example payload parses and is written back by ``to_payload()`` exactly as it was read
(``tests/conformance/fixtures/adnuntius``): a reference given as a bare id is written back as the bare id, and a
date is written back in UTC with ``Z`` and no more fractional digits than it needs (``2017-10-24T11:07:41.041Z``).
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import Field, PrivateAttr, SerializerFunctionWrapHandler, model_serializer, model_validator
from pydantic.functional_serializers import PlainSerializer
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

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
    "Location",
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
    "UtcDateTime",
]


def _utc_text(value: datetime) -> str:
    """ISO-8601 in UTC with ``Z`` (a naive datetime is taken as UTC), with milliseconds only when there are some."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if value.microsecond == 0:
        spec = "seconds"
    elif value.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return value.isoformat(timespec=spec) + "Z"


UtcDateTime = Annotated[datetime, PlainSerializer(_utc_text, return_type=str, when_used="json")]
"""A date as Adnuntius writes it: ISO-8601 UTC with ``Z`` (``2017-10-24T11:07:41.041Z``)."""


class ObjectState(str, enum.Enum):
    """Adnuntius has no delete: objects are deactivated or hidden (SEED-004 "Deleting Data")."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    HIDDEN = "HIDDEN"


class Ref(VendorModel):
    """A link to another object: ``{"id": "order_1", "url": "/api/v1/orders/order_1", "name": "..."}``.

    Some fields are also written as a bare id (``"layout": "layout_1"`` in the creatives page's POST body): such a
    reference reads as a ``Ref`` like any other and is written back as the bare id it was.
    """

    id: str
    url: str | None = None
    name: str | None = None
    _bare: bool = PrivateAttr(default=False)

    @classmethod
    def to(cls, id: str) -> Ref:
        return cls(id=id)

    @model_validator(mode="wrap")
    @classmethod
    def _bare_id(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Ref:
        if isinstance(value, str):
            ref: Ref = handler({"id": value})
            ref._bare = True
            return ref
        validated: Ref = handler(value)
        return validated

    @model_serializer(mode="wrap")
    def _as_written(self, handler: SerializerFunctionWrapHandler) -> Any:
        return self.id if self._bare else handler(self)


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
    create_time: UtcDateTime | None = Field(default=None, alias="createTime")
    update_time: UtcDateTime | None = Field(default=None, alias="updateTime")

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


class Order(AdnuntiusObject):
    """``orders``: an advertiser's order, holding line items."""

    advertiser: Ref | None = None
    team: Ref | None = None
    labels: list[str] | None = None


class LineItem(AdnuntiusObject):
    """``lineitems``: what is bought, under an order."""

    order: Ref | None = None
    tier: Ref | None = None
    type: str | None = None
    user_state: str | None = Field(default=None, alias="userState")
    execution_state: str | None = Field(default=None, alias="executionState")
    start_date: UtcDateTime | None = Field(default=None, alias="startDate")
    end_date: UtcDateTime | None = Field(default=None, alias="endDate")
    objectives: dict[str, Any] | None = None
    bid_specification: dict[str, Any] | None = Field(default=None, alias="bidSpecification")
    targeting: dict[str, Any] | None = None
    labels: list[str] | None = None


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


class AdUnit(AdnuntiusObject):
    """``adunits``: a slot on a site."""

    site: Ref | None = None
    floor_price: Money | None = Field(default=None, alias="floorPrice")
    width: int | None = None
    height: int | None = None
    page_size: int | None = Field(default=None, alias="pageSize")
    labels: list[str] | None = None


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


class Location(VendorModel):
    """A hit of ``GET /api/v1/location?q=``: ``{"id": 78595, "type": "CITY", "name": "Stockholm", "context": ...}``."""

    id: int | str
    type: str | None = None
    name: str | None = None
    context: str | None = None
