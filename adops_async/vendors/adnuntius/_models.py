"""Typed Adnuntius entities (docs/vendors/adnuntius.md). Unknown fields are kept; what was read can be written back.

Conventions (ADN-INTRO "API Conventions"): ids are strings the client chooses; references between objects are HATEOAS
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
    "AdnuntiusObject",
    "Advertiser",
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
    """Adnuntius has no delete: objects are deactivated or hidden (ADN-INTRO "Deleting Data")."""

    ACTIVE = "ACTIVE"
    """In use: delivers, and shows in lists."""
    INACTIVE = "INACTIVE"
    """Deactivated: does not deliver, still shows in lists."""
    HIDDEN = "HIDDEN"
    """Archived, the API's delete: left out of lists."""


class Ref(VendorModel):
    """A link to another object: ``{"id": "order_1", "url": "/api/v1/orders/order_1", "name": "..."}``.

    Some fields are also written as a bare id (``"layout": "layout_1"`` in the creatives page's POST body): such a
    reference reads as a ``Ref`` like any other and is written back as the bare id it was.
    """

    id: str
    """The referenced object's id."""
    url: str | None = None
    """The referenced object's API path (``/api/v1/orders/order_1``), when the vendor sent it."""
    name: str | None = None
    """The referenced object's name, when the vendor sent it."""
    _bare: bool = PrivateAttr(default=False)

    @classmethod
    def to(cls, id: str) -> Ref:
        """A reference to the object with this id (``{"id": id}`` on write)."""
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
    """Adnuntius' ``type`` of the message (its severity or kind), kept as sent."""
    code: str | None = None
    """The message's code, as Adnuntius names it."""
    text: str | None = None
    """The message, with ``{{param}}`` placeholders."""
    params: Any = None
    """The values of the placeholders, by name."""

    @property
    def rendered(self) -> str:
        """The text with its placeholders filled in."""
        return render(self.model_dump(by_alias=True))


class Money(VendorModel):
    """An amount in a currency: ``{"amount": 10.0, "currency": "EUR"}``."""

    amount: float | None = None
    """The amount, in ``currency``."""
    currency: str | None = None
    """The currency (ISO 4217 code, ``EUR``)."""


class AdnuntiusObject(VendorModel):
    """Fields every domain object has. Read-only ones (``url``, ``createTime`` ...) are ignored by the API on write."""

    id: str | None = None
    """The object's id: a string the client chooses on create (a UUID by default)."""
    name: str | None = None
    """The object's name."""
    object_state: ObjectState | str | None = Field(default=None, alias="objectState")
    """``objectState``: ``ACTIVE``, ``INACTIVE`` or ``HIDDEN`` (a value not known here is kept as a string)."""
    validation_warnings: list[TranslatableMessage] = Field(default_factory=list, alias="validationWarnings")
    """``validationWarnings``: problems that stop delivery, read-only."""
    url: str | None = None
    """The object's own API path, read-only."""
    create_time: UtcDateTime | None = Field(default=None, alias="createTime")
    """``createTime``: when it was created (UTC), read-only."""
    update_time: UtcDateTime | None = Field(default=None, alias="updateTime")
    """``updateTime``: when it last changed (UTC), read-only."""

    @property
    def warnings(self) -> list[str]:
        """The validation warnings, rendered (a line item with warnings does not deliver)."""
        return [w.rendered for w in self.validation_warnings]


class Network(AdnuntiusObject):
    """``networks``: a network, the scope every other object belongs to (the client's ``context``)."""


class Team(AdnuntiusObject):
    """``teams``."""

    labels: list[str] | None = None
    """The team's labels."""
    sites: list[Ref] | None = None
    """The sites the team works on."""


class Advertiser(AdnuntiusObject):
    """``advertisers``."""

    team: Ref | None = None
    """The team the advertiser belongs to (required on create)."""
    description: str | None = None
    """A description."""
    external_reference: str | None = Field(default=None, alias="externalReference")
    """``externalReference``: your own id of the advertiser."""
    category: str | None = None
    """Its IAB category (``IAB_1``)."""
    email: str | None = None
    """A contact address."""
    advertiser_url: str | None = Field(default=None, alias="advertiserUrl")
    """``advertiserUrl``: the advertiser's website."""


class Order(AdnuntiusObject):
    """``orders``: an advertiser's order, holding line items."""

    advertiser: Ref | None = None
    """The advertiser the order is for."""
    team: Ref | None = None
    """The team the order belongs to."""
    labels: list[str] | None = None
    """The order's labels."""


class LineItem(AdnuntiusObject):
    """``lineitems``: what is bought, under an order."""

    order: Ref | None = None
    """The order the line item is under."""
    tier: Ref | None = None
    """Its tier (its priority against other line items)."""
    type: str | None = None
    """Adnuntius' ``type`` of the line item (``SPONSORSHIP``, ...), kept as sent."""
    user_state: str | None = Field(default=None, alias="userState")
    """``userState``: the state a user set (``APPROVED``, ...)."""
    execution_state: str | None = Field(default=None, alias="executionState")
    """``executionState``: where delivery stands (``RUNNING``, ``ENDED``, ...), read-only."""
    start_date: UtcDateTime | None = Field(default=None, alias="startDate")
    """``startDate``: when delivery starts (UTC)."""
    end_date: UtcDateTime | None = Field(default=None, alias="endDate")
    """``endDate``: when delivery ends (UTC)."""
    objectives: dict[str, Any] | None = None
    """What is bought, by measure (``{"IMPRESSION": 100000, "CLICK": ...}``)."""
    bid_specification: dict[str, Any] | None = Field(default=None, alias="bidSpecification")
    """``bidSpecification``: the price (``cpm``, ``defaultBidCpc``, ``cpa``), kept as sent."""
    targeting: dict[str, Any] | None = None
    """Adnuntius' ``targeting`` object, kept as sent."""
    labels: list[str] | None = None
    """The line item's labels."""


class Creative(AdnuntiusObject):
    """``creatives``: an ad of a line item."""

    line_item: Ref | None = Field(default=None, alias="lineItem")
    """``lineItem``: the line item the creative serves for."""
    layout: Ref | None = None
    """The layout (template) it fills in (required on create)."""
    width: int | None = None
    """Width in pixels."""
    height: int | None = None
    """Height in pixels."""
    user_state: str | None = Field(default=None, alias="userState")
    """``userState``: ``NOT_READY``, ``REQUIRES_REVIEW``, ``APPROVED`` (the default), ``REJECTED`` or ``PAUSED``."""
    constraints_to_assets: dict[str, Any] | None = Field(default=None, alias="constraintsToAssets")
    """``constraintsToAssets``: the asset of each of the layout's asset slots, by tag."""
    constraints_to_text: dict[str, Any] | None = Field(default=None, alias="constraintsToText")
    """``constraintsToText``: the text of each of the layout's text slots, by tag."""
    constraints_to_urls: dict[str, Any] | None = Field(default=None, alias="constraintsToUrls")
    """``constraintsToUrls``: the URLs of the layout's URL slots (``destination``, ...), by tag."""


class Asset(AdnuntiusObject):
    """``assets``: a file of a creative (uploaded multipart)."""

    mime_type: str | None = Field(default=None, alias="mimeType")
    """``mimeType``: Adnuntius' name of the file type (``IMAGE_JPEG``, ...)."""
    file_name: str | None = Field(default=None, alias="fileName")
    """``fileName``: the uploaded file's name."""
    cdn_id: str | None = Field(default=None, alias="cdnId")
    """``cdnId``: where the file is on Adnuntius' CDN, kept as sent."""
    file_size_bytes: int | None = Field(default=None, alias="fileSizeBytes")
    """``fileSizeBytes``: the file's size in bytes."""
    width: int | None = None
    """Width in pixels, for an image or video."""
    height: int | None = None
    """Height in pixels, for an image or video."""


class Site(AdnuntiusObject):
    """``sites``."""

    description: str | None = None
    """A description."""
    site_url: str | None = Field(default=None, alias="siteUrl")
    """``siteUrl``: the site's address."""
    labels: list[str] | None = None
    """The site's labels."""
    site_group: Ref | None = Field(default=None, alias="siteGroup")
    """``siteGroup``: the site group it belongs to, or ``None``."""


class AdUnit(AdnuntiusObject):
    """``adunits``: a slot on a site."""

    site: Ref | None = None
    """The site the ad unit is on."""
    floor_price: Money | None = Field(default=None, alias="floorPrice")
    """``floorPrice``: the lowest price it sells for."""
    width: int | None = None
    """Width in pixels."""
    height: int | None = None
    """Height in pixels."""
    page_size: int | None = Field(default=None, alias="pageSize")
    """``pageSize``: how many ads it shows at once."""
    labels: list[str] | None = None
    """The ad unit's labels."""


class User(AdnuntiusObject):
    """``users``."""

    username: str | None = None
    """The login name."""
    display_name: str | None = Field(default=None, alias="displayName")
    """``displayName``: the name shown in the UI."""
    locale: str | None = None
    """The user's locale (``en``)."""


class Tier(AdnuntiusObject):
    """``tiers``: line item priorities."""


class Layout(AdnuntiusObject):
    """``layouts``: creative templates."""

    asset_constraints: list[dict[str, Any]] | None = Field(default=None, alias="assetConstraints")
    """``assetConstraints``: the asset slots a creative fills in (each with its ``tag``), kept as sent."""


class Segment(AdnuntiusObject):
    """``segments``: audiences."""


class Location(VendorModel):
    """A hit of ``GET /api/v1/location?q=``: ``{"id": 78595, "type": "CITY", "name": "Stockholm", "context": ...}``."""

    id: int | str
    """The location's id."""
    type: str | None = None
    """What the location is (``CITY``, ``COUNTRY``, ...)."""
    name: str | None = None
    """The location's name."""
    context: str | None = None
    """Adnuntius' ``context`` of the hit, kept as sent."""
