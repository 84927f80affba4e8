"""Adnuntius resources: network-scoped upserts, HEAD, vectorized ids, object states, and asset uploads.

Source: ADN-INTRO "REST Principles" and "API Conventions", docs/vendors/adnuntius.md

* Every call carries ``?context=<network id>`` (objects belong to a network; ADN-TOOLS sends it on every call).
* PUT and POST are the same upsert: create the object if its id is new, else update it. They are idempotent ("only
  the initial call will alter the state"), so the pipeline may retry them after a timeout (``retry_safe=True``).
* ``POST /api/v1/<resource>`` with an array upserts many objects in one transaction: all or nothing.
* There is no delete: an object is archived by setting ``objectState`` (``HIDDEN`` objects are returned by id but
  left out of lists unless ``includeHidden=true``).
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ...core.errors import AdOpsError, NotFound
from ...core.models import VendorModel, payload_of
from ...core.paging import AsyncPaginator, Page, PageRequest
from ...core.policies import Priority
from ...core.priority import current_priority
from ...core.resources import Resource
from ._models import Asset, ObjectState
from ._paging import AdnuntiusPaging, where_clause

if TYPE_CHECKING:
    from ._client import Adnuntius

__all__ = ["AdnuntiusResource", "AssetResource", "new_id"]

M = TypeVar("M", bound=VendorModel)

_ID_ALPHABET = "012356789bcdfghjklmnpqrstvwxyz"
#: ids per ``?id=a;b;c`` request, to keep URLs short (the API's own limit is not documented).
IDS_PER_REQUEST = 100


def new_id() -> str:
    """A fresh object id like ADN-TOOLS makes: 16 characters of ``012356789bcdfghjklmnpqrstvwxyz``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


class AdnuntiusResource(Resource[M]):
    """One collection under ``/api/v1/``: ``list``, ``get``, ``get_many``, ``exists``, ``upsert``, ``upsert_many``,
    ``update``, ``archive``; ``delete`` only when ``allow_delete`` (the docs say objects cannot be deleted; ADN-TOOLS
    added ``DELETE`` for some resources in 2025, which ones is not documented)."""

    client: Adnuntius

    def __init__(
        self,
        client: Adnuntius,
        path: str,
        model: type[M],
        *,
        paging: AdnuntiusPaging | None = None,
        allow_delete: bool = False,
    ) -> None:
        super().__init__(client, path, model, paging or AdnuntiusPaging())
        self.allow_delete = allow_delete
        """Whether :meth:`delete` sends ``DELETE``; otherwise it refuses (use :meth:`archive`)."""

    def _params(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.client.scoped(extra)

    # -- reads -------------------------------------------------------------------------------------------------

    def list(
        self,
        *,
        include_hidden: bool = False,
        include_inactive: bool | None = None,
        where: str | None = None,
        priority: Priority | None = None,
        **filters: Any,
    ) -> AsyncPaginator[M]:
        """Every object matching ``filters`` (query parameters such as ``filterBy``, ``orderBy``), page by page.

        Hidden objects are left out unless ``include_hidden``; see :func:`~adops_async.vendors.adnuntius.where`
        and :func:`~adops_async.vendors.adnuntius.filter_by` for the filter syntax. ``where`` may be written as the
        docs' URLs show it (``executionState+in+RUNNING,ENDED``): the ``+`` there is an encoded space, and is sent
        as one.
        """
        priority = current_priority(priority, Priority.BULK)
        query: dict[str, Any] = dict(filters)
        if include_hidden:
            query["includeHidden"] = "true"
        if include_inactive is not None:
            query["includeInactive"] = "true" if include_inactive else "false"
        if where:
            query["where"] = where_clause(where)

        async def fetch(request: PageRequest) -> Page[M]:
            reply = await self.client.request("GET", self.path, params=self._params(request.params), priority=priority)
            return self.page_from(request, reply)

        return AsyncPaginator(fetch, self.paging.first(query))

    async def get(self, id: Any, *, priority: Priority | None = None) -> M:
        """One object by id (hidden ones too, as the API returns them by id)."""
        reply = await self.client.request("GET", self.item_url(id), params=self._params(), priority=priority)
        return self.parse(self.unwrap(reply.data))

    async def get_many(
        self, ids: Iterable[str], *, include_hidden: bool = True, priority: Priority | None = None
    ) -> builtins.list[M]:
        """Several objects in as few requests as possible with the vectorized ``?id=a;b;c`` parameter.

        Ids the API does not return (unknown, or hidden with ``include_hidden=False``) are simply missing from the
        result; the order follows ``ids``.
        """
        wanted = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, M] = {}
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            chunk = wanted[start : start + IDS_PER_REQUEST]
            filters: dict[str, Any] = {"id": ";".join(chunk), "pageSize": len(chunk)}
            if include_hidden:
                filters["includeHidden"] = "true"
            async for item in self.list(priority=priority, **filters):
                key = getattr(item, "id", None)
                if key is not None:
                    found[str(key)] = item
        return [found[i] for i in wanted if i in found]

    async def exists(self, id: Any, *, priority: Priority | None = None) -> bool:
        """``HEAD /api/v1/<resource>/<id>``: 200 if it exists, 404 if not.

        A 404 is also what a missing endpoint answers (a mistyped resource name). So, as the vendor's own client
        does, a 404 is followed by ``OPTIONS /api/v1/<resource>``: when that is a 404 too, the endpoint is missing
        and the first :class:`~adops_async.NotFound` is raised; otherwise the object does not exist.
        """
        try:
            await self.client.request("HEAD", self.item_url(id), params=self._params(), priority=priority)
        except NotFound as missing:
            try:
                await self.client.request("OPTIONS", self.path, priority=priority)
            except NotFound:
                raise missing from None
            return False
        return True

    async def defaults(self, *, priority: Priority | None = None) -> M:
        """``GET /api/v1/<resource>/defaults``: the values a new object gets for the fields it is sent without."""
        reply = await self.client.request("GET", f"{self.path}/defaults", params=self._params(), priority=priority)
        return self.parse(self.unwrap(reply.data))

    # -- writes (upserts) --------------------------------------------------------------------------------------

    async def upsert(self, obj: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """Create or update one object (``POST /<resource>/<id>``); an object without an id gets a fresh one.

        Idempotent on Adnuntius, so it is retried after a timeout like a GET. Returns the stored object, with its
        ``validation_warnings``.
        """
        body = payload_of(obj)
        if not body.get("id"):
            body["id"] = new_id()
        reply = await self.client.request(
            "POST", self.item_url(body["id"]), params=self._params(), payload=body, retry_safe=True, priority=priority
        )
        return self.parse(self.unwrap(reply.data))

    async def create(self, obj: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """Same as :meth:`upsert` (Adnuntius makes no difference between creating and updating)."""
        return await self.upsert(obj, priority=priority)

    async def upsert_many(
        self, objs: Sequence[M | Mapping[str, Any]], *, priority: Priority | None = None
    ) -> builtins.list[M]:
        """Upsert many objects in one request and one transaction: if any object is invalid, nothing is stored and
        :class:`~adops_async.ValidationFailed` names the fields (ADN-INTRO "Transactionality")."""
        bodies = [payload_of(o) for o in objs]
        for body in bodies:
            if not body.get("id"):
                body["id"] = new_id()
        reply = await self.client.request(
            "POST", self.path, params=self._params(), payload=bodies, retry_safe=True, priority=priority
        )
        data = reply.data
        items = data.get("results", []) if isinstance(data, Mapping) else data
        return [self.parse(raw) for raw in (items if isinstance(items, list) else [])]

    async def update(self, id: Any, changes: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """A partial update (ADN-INTRO "Updating fields"):

        * fields left out of ``changes`` are not modified; fields included are set (some may be set to ``None``);
        * **collections are replaced** by the value sent, and an empty list clears the collection: to add a label,
          send the whole new list.

        ``changes`` as a model sends only the fields you set on it. Idempotent, hence retried like a GET.
        """
        body = {**payload_of(changes), "id": str(id)}
        reply = await self.client.request(
            "POST", self.item_url(id), params=self._params(), payload=body, retry_safe=True, priority=priority
        )
        return self.parse(self.unwrap(reply.data))

    async def copy(
        self, id: Any, changes: M | Mapping[str, Any] | None = None, *, priority: Priority | None = None
    ) -> M:
        """``POST /api/v1/<resource>/<id>/copy``: a copy under a new id (fields in ``changes`` override), returned.

        Not retried after a timeout: each copy is a new object, so a resent request could make two.
        """
        body = payload_of(changes) if changes is not None else None
        reply = await self.client.request(
            "POST", f"{self.item_url(id)}/copy", params=self._params(), payload=body, priority=priority
        )
        return self.parse(self.unwrap(reply.data))

    async def set_state(self, id: Any, state: ObjectState, *, priority: Priority | None = None) -> M:
        """Set the object's ``objectState`` (``ACTIVE``, ``INACTIVE``, ``HIDDEN``) and return it as stored."""
        return await self.update(id, {"objectState": state.value}, priority=priority)

    async def archive(self, id: Any, *, priority: Priority | None = None) -> M:
        """Hide the object (``objectState: HIDDEN``): the API's way to delete (it disappears from lists)."""
        return await self.set_state(id, ObjectState.HIDDEN, priority=priority)

    async def delete(self, id: Any, *, priority: Priority | None = None) -> None:
        """``DELETE``: refused unless this resource was declared with ``allow_delete=True``; use :meth:`archive`.

        Sent without ``context=``, as the vendor's own client sends it (the docs do not document DELETE at all).
        """
        if not self.allow_delete:
            raise AdOpsError(
                f"Adnuntius {self.path} objects cannot be deleted; archive them (objectState HIDDEN) instead",
                vendor=self.client.vendor,
                code="delete.not.allowed",
            )
        await self.client.request("DELETE", self.item_url(id), priority=priority)


class AssetResource(AdnuntiusResource[Asset]):
    """Assets live under their creative: ``/api/v1/assets/<creativeId>/<assetId>``."""

    async def upload(
        self,
        creative_id: str,
        content: bytes,
        *,
        asset_id: str | None = None,
        file_name: str = "asset",
        mime_type: str = "application/octet-stream",
        priority: Priority | None = None,
    ) -> Asset:
        """Upload a file as multipart form data, field ``file`` (what ADN-TOOLS and the Node docs send; the seed's
        curl uses ``asset``, unconfirmed). Idempotent by id, so retry-safe. Link it to the creative afterwards with
        ``constraintsToAssets: {<layout tag>: <asset id>}``."""
        asset_id = asset_id or new_id()
        reply = await self.client.request(
            "POST",
            f"{self.path}/{creative_id}/{asset_id}",
            params=self._params(),
            files={"file": (file_name, content, mime_type)},
            retry_safe=True,
            priority=priority,
        )
        return self.parse(self.unwrap(reply.data))

    async def get_asset(self, creative_id: str, asset_id: str, *, priority: Priority | None = None) -> Asset:
        """One asset of a creative: ``GET /api/v1/assets/<creativeId>/<assetId>``."""
        return await self.get(f"{creative_id}/{asset_id}", priority=priority)

    def of_creative(
        self, creative_id: str, *, include_hidden: bool = False, priority: Priority | None = None
    ) -> AsyncPaginator[Asset]:
        """Every asset of one creative: ``GET /api/v1/assets/<creativeId>`` (the assets page), page by page."""
        priority = current_priority(priority, Priority.BULK)
        query = {"includeHidden": "true"} if include_hidden else {}
        url = f"{self.path}/{creative_id}"

        async def fetch(request: PageRequest) -> Page[Asset]:
            reply = await self.client.request("GET", url, params=self._params(request.params), priority=priority)
            return self.page_from(request, reply)

        return AsyncPaginator(fetch, self.paging.first(query))
