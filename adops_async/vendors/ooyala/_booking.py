"""The Booking API (``/api/1.0``, XML): campaigns, goals, clients, their rules, campaign notifications.

Its conventions (docs/vendors/ooyala.md): beans in XML (``<campaignBean>``), lists as ``<collection>`` with no paging,
ids as matrix parameters (``/campaign/by_campaign_id;id=<uuid>``), create answers the new id as plain text, update
and delete answer ``204``. A lookup by id answers a ``<collection>`` too, even for one id (the "List Campaign(s) by
Id", "Goal(s)" and "Client(s)" pages; the path takes one or more ids); a bare bean at the root is read as well.
An update REPLACES the bean: "If a field is not included, it is cleared" (OOY-INTRO), so
:meth:`BookingResource.update` reads, merges and writes, and :meth:`BookingResource.replace` is the explicit full write.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import anyio

from ...core.client import BaseClient, Reply
from ...core.dialect import ErrorInfo
from ...core.errors import DecodeError, NotFound, ValidationFailed
from ...core.models import VendorModel
from ...core.paging import AsyncPaginator, Page, PageRequest
from ...core.policies import Priority
from ...core.priority import current_priority
from ...core.resources import Resource
from ._dialect import TEXT_CODEC
from ._models import Campaign, Client, Goal, Rules

__all__ = [
    "BOOKING",
    "ID_SHAPE",
    "BookingResource",
    "Campaigns",
    "Clients",
    "CollectionPage",
    "Goals",
    "KeyedLocks",
    "matrix",
]

M = TypeVar("M", bound=VendorModel)
BOOKING = "api/1.0"

ID_SHAPE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32}|[0-9]{1,19}"
)
"""What a Booking id looks like: a UUID (``by_campaign_id;id=<uuid>``), in canonical or 32-hex form, or a number.
A create's plain-text answer cut short (``3f2a9c1e-41b7-4c``) is not an id, and is refused rather than returned."""


def matrix(path: str, by: str, *ids: str) -> str:
    """``campaign/by_campaign_id;id=a;id=b``: the Booking API addresses ids as matrix parameters."""
    if not ids or any(not str(i) for i in ids):
        raise ValueError("an id is required")
    return f"{path}/{by}" + "".join(f";id={quote(str(i), safe='')}" for i in ids)


def beans(data: Any, bean: str) -> list[Any]:
    """The beans of a ``<collection>`` (none when it is empty: ``<collection/>``).

    A body without a ``<collection>`` at all is a :class:`DecodeError`: a list that lost its items is not empty.
    """
    if not isinstance(data, Mapping) or "collection" not in data:
        raise DecodeError(f"expected a <collection> of <{bean}>, got no <collection>", vendor="ooyala")
    collection = data["collection"]
    if collection is None:
        return []
    if not isinstance(collection, Mapping):
        raise DecodeError(f"expected a <collection> of <{bean}>", vendor="ooyala")
    items = collection.get(bean) or []
    return list(items) if isinstance(items, list) else [items]


@dataclass(frozen=True)
class CollectionPage:
    """A Booking list: one response holds everything (no paging at all, docs/vendors/ooyala.md)."""

    bean: str

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest(dict(params))

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        items = beans(data, self.bean)
        return Page(items, None, len(items))


class KeyedLocks:
    """One lock per entity id, dropped when nobody holds or waits for it: read-modify-writes of the same entity by
    tasks of one client happen one after the other, so neither loses the other's change."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[anyio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (anyio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class BookingResource(Resource[M]):
    """CRUD for one Booking bean type. ``update`` is read-modify-write; ``replace`` writes the bean as given."""

    def __init__(self, client: BaseClient, path: str, model: type[M], *, bean: str, by: str) -> None:
        super().__init__(client, f"{BOOKING}/{path}", model, CollectionPage(bean))
        self.bean = bean
        """The XML element of one bean in a ``<collection>`` (``campaignBean``)."""
        self.by = by
        """The matrix lookup that addresses a bean by its id (``by_campaign_id``)."""
        self._locks = KeyedLocks()

    def item_url(self, id: Any) -> str:
        return matrix(self.path, self.by, str(id))

    def unwrap(self, data: Any) -> Any:
        """The one bean of a by-id answer: ``<collection><xBean>`` (documented) or a bare ``<xBean>`` root."""
        found = self.beans_of(data)
        if len(found) != 1 or not isinstance(found[0], Mapping):
            raise DecodeError(f"expected one <{self.bean}>, got {len(found)}", vendor=self.client.vendor)
        return found[0]

    def beans_of(self, data: Any) -> list[Any]:
        """The beans of a by-id answer, in either shape; a body with neither is a :class:`DecodeError`."""
        if isinstance(data, Mapping) and "collection" in data:
            return beans(data, self.bean)
        found = data.get(self.bean) if isinstance(data, Mapping) else None
        if found is None:
            raise DecodeError(
                f"expected a <collection> of <{self.bean}> or one <{self.bean}>", vendor=self.client.vendor
            )
        return list(found) if isinstance(found, list) else [found]

    async def _by_id(self, ids: list[str], priority: Priority | None) -> tuple[list[Any], Reply]:
        """``GET <path>/<by>;id=a;id=b``: the raw beans found, and the reply they came in."""
        reply = await self.client.request("GET", matrix(self.path, self.by, *ids), priority=priority)
        try:
            found = self.beans_of(reply.data)
        except DecodeError as exc:
            raise self.client._error(ErrorInfo(DecodeError, exc.message, code="decode"), reply.response) from None
        return found, reply

    async def _one(self, id: Any, priority: Priority | None) -> dict[str, Any]:
        """The raw bean of ``id``: an empty collection is :class:`NotFound`, more than one bean a
        :class:`DecodeError` (both carrying the reply's status, URL and request id)."""
        found, reply = await self._by_id([str(id)], priority)
        if len(found) != 1 or not isinstance(found[0], Mapping):
            info = (
                ErrorInfo(NotFound, f"no {self.bean} with id {id}", code="not_found")
                if not found
                else ErrorInfo(DecodeError, f"expected one <{self.bean}> for id {id}, got {len(found)}", code="decode")
            )
            raise self.client._error(info, reply.response)
        return dict(found[0])

    async def get(self, id: Any, *, priority: Priority | None = None) -> M:
        """The entity with ``id``; :class:`NotFound` when there is none (a 404 or an empty collection)."""
        return self.parse(await self._one(id, priority))

    async def get_many(self, ids: list[str], *, priority: Priority | None = None) -> list[M]:
        """The entities with these ids, in one request (``;id=a;id=b``); ids that do not exist are left out."""
        if not ids:
            return []
        try:
            found, _ = await self._by_id([str(i) for i in ids], priority)
        except NotFound:
            return []
        return [self.parse(raw) for raw in found]

    def wrap(self, payload: Mapping[str, Any]) -> Any:
        return {self.bean: {k: v for k, v in payload.items() if v is not None}}

    def _changes(self, changes: M | Mapping[str, Any]) -> dict[str, Any]:
        """``changes`` under the vendor's names (snake_case or vendor names accepted), only the fields given."""
        if isinstance(changes, VendorModel):
            return changes.to_payload()
        try:
            return self.model.model_validate(dict(changes)).to_payload()
        except ValueError as exc:
            raise ValidationFailed(f"bad {self.model.__name__} fields: {exc}", vendor=self.client.vendor) from None

    def list_by(self, by: str, id: str, *, priority: Priority | None = None) -> AsyncPaginator[M]:
        """Beans found through a matrix lookup, e.g. the goals of a campaign (``goal/by_campaign_id;id=``)."""
        priority = current_priority(priority, Priority.BULK)

        async def fetch(request: PageRequest) -> Page[M]:
            reply = await self.client.request("GET", matrix(self.path, by, id), priority=priority)
            return self.page_from(request, reply)

        return AsyncPaginator(fetch, PageRequest())

    async def create(self, obj: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """POST the bean; the vendor answers the new id as plain text. Returns what was sent, with that id."""
        payload = self._changes(obj)
        payload.pop("id", None)
        content = self.client.codec.encode(self.wrap(payload))
        reply = await self.client.request(
            "POST",
            self.path,
            content=content,
            headers={"Content-Type": "application/xml"},
            codec=TEXT_CODEC,
            priority=priority,
        )
        new_id = reply.data if isinstance(reply.data, str) else None
        if new_id is None or not ID_SHAPE.fullmatch(new_id):
            raise DecodeError(
                f"create did not answer a whole id (a UUID or a number): {str(reply.data)[:80]!r}; the bean may exist",
                vendor=self.client.vendor,
                status=reply.status,
                method="POST",
                url=self.client.redactor.url(reply.response.request.url),
                request_id=self.client.dialect.request_id(reply.response),
            )
        return self.parse({**payload, "id": new_id})

    async def replace(self, obj: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """Write the whole bean as given (``id`` required). Fields it leaves out are CLEARED by the vendor."""
        payload = self._changes(obj)
        entity_id = payload.get("id")
        if not entity_id:
            raise ValidationFailed("replace() needs the bean's id", vendor=self.client.vendor)
        await self.client.request("PUT", self.item_url(entity_id), payload=self.wrap(payload), priority=priority)
        return self.parse(payload)

    async def update(self, id: Any, changes: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """Change some fields and keep the rest: GET the bean, merge ``changes`` into it, PUT it whole.

        Both requests go through the client's serial gate; concurrent updates of the same id by this client wait
        for each other, so none is lost.
        """
        delta = self._changes(changes)
        async with self._locks.hold(str(id)):
            current = await self._one(id, priority)
            merged = {**current, **delta, "id": current.get("id", str(id))}
            await self.client.request("PUT", self.item_url(id), payload=self.wrap(merged), priority=priority)
        return self.parse(merged)

    async def exists(self, id: Any, *, priority: Priority | None = None) -> bool:
        """The Booking API has no HEAD; a GET tells (a 404 or an empty collection: ``False``)."""
        try:
            await self.get(id, priority=priority)
        except NotFound:
            return False
        return True

    async def _rules(
        self, get_path: str, put_path: str | None, rules: Rules | None, priority: Priority | None
    ) -> Rules:
        if rules is None:
            reply = await self.client.request("GET", get_path, priority=priority)
            data = reply.data.get("rulesBean") if isinstance(reply.data, Mapping) else None
            return Rules.model_validate(data or {})
        assert put_path is not None
        await self.client.request("PUT", put_path, payload={"rulesBean": rules.to_payload()}, priority=priority)
        return rules


class Campaigns(BookingResource[Campaign]):
    """``/api/1.0/campaign``. ``list(status="ACTIVE"|"RECENT"|"UPCOMING", state="ARCHIVED"|"DISABLED"|"ENABLED")``."""

    def __init__(self, client: BaseClient) -> None:
        super().__init__(client, "campaign", Campaign, bean="campaignBean", by="by_campaign_id")

    def archived(self, year: int, month: int, *, priority: Priority | None = None) -> AsyncPaginator[Campaign]:
        """Campaigns archived in ``year``/``month`` (``GET /campaign/archived?year=YYYY&month=M``)."""
        priority = current_priority(priority, Priority.BULK)
        return Resource(self.client, f"{self.path}/archived", Campaign, CollectionPage(self.bean)).list(
            priority=priority, year=year, month=month
        )

    async def rules(self, id: str, *, priority: Priority | None = None) -> Rules:
        """The campaign's targeting rules (``GET campaign/rule/by_campaign_id;id=``)."""
        return await self._rules(matrix(f"{self.path}/rule", self.by, id), None, None, priority)

    async def set_rules(self, id: str, rules: Rules, *, priority: Priority | None = None) -> Rules:
        """Replace the campaign's rules (the doc PUTs to ``rules/``, plural, while it GETs ``rule/``)."""
        put = matrix(f"{self.path}/rules", self.by, id)
        return await self._rules("", put, rules, priority)

    async def notifications(self, id: str, *, priority: Priority | None = None) -> list[dict[str, Any]]:
        """The campaign's notifications (``<map><entry key=id><notificationList><notificationBeans>...``)."""
        reply = await self.client.request("GET", matrix(f"{self.path}/notification", self.by, id), priority=priority)
        entries = (reply.data or {}).get("map") or {}
        found: list[dict[str, Any]] = []
        for entry in entries.get("entry") or []:
            holder = (entry or {}).get("notificationList") or {}
            found.extend(dict(b) for b in holder.get("notificationBeans") or [] if isinstance(b, Mapping))
        return found


class Goals(BookingResource[Goal]):
    """``/api/1.0/goal``."""

    def __init__(self, client: BaseClient) -> None:
        super().__init__(client, "goal", Goal, bean="goalBean", by="by_goal_id")

    def of_campaign(self, campaign_id: str, *, priority: Priority | None = None) -> AsyncPaginator[Goal]:
        """The goals of one campaign (``goal/by_campaign_id;id=``), page by page."""
        priority = current_priority(priority, Priority.BULK)
        return self.list_by("by_campaign_id", campaign_id, priority=priority)

    async def rules(self, id: str, *, priority: Priority | None = None) -> Rules:
        """The goal's targeting rules (``GET goal/rule/by_goal_id;id=``)."""
        return await self._rules(matrix(f"{self.path}/rule", self.by, id), None, None, priority)

    async def set_rules(self, id: str, rules: Rules, *, priority: Priority | None = None) -> Rules:
        """Replace the goal's targeting rules (``PUT goal/rules/by_goal_id;id=``)."""
        return await self._rules("", matrix(f"{self.path}/rules", self.by, id), rules, priority)


class Clients(BookingResource[Client]):
    """``/api/1.0/client``: advertisers, agencies and brands."""

    def __init__(self, client: BaseClient) -> None:
        super().__init__(client, "client", Client, bean="clientBean", by="by_client_id")

    def of_campaign(self, campaign_id: str, *, priority: Priority | None = None) -> AsyncPaginator[Client]:
        """The clients of one campaign (``client/by_campaign_id;id=``)."""
        priority = current_priority(priority, Priority.BULK)
        return self.list_by("by_campaign_id", campaign_id, priority=priority)
