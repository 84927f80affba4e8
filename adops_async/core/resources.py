"""``Resource[Model]``: typed CRUD over the pipeline, declared by a vendor in a line or two.

The defaults are plain REST (``GET path``, ``GET path/id``, ``POST path``, ``PUT path/id``, ``DELETE path/id``,
``HEAD path/id``). A vendor whose API differs (an envelope, matrix parameters, read-modify-write updates) subclasses
and overrides the small hooks (:meth:`Resource.item_url`, :meth:`Resource.unwrap`, :meth:`Resource.wrap`), never the
pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from .client import BaseClient, Reply
from .dialect import ErrorInfo
from .errors import DecodeError, ErrorContext, NotFound
from .models import VendorModel, payload_of
from .paging import AsyncPaginator, OffsetPaging, Page, PageRequest, PagingStyle
from .policies import Priority
from .priority import current_priority

__all__ = ["Resource"]

M = TypeVar("M", bound=VendorModel)


class Resource(Generic[M]):
    """CRUD for one collection of a vendor API.

    Args:
        client: the vendor client whose pipeline carries every call.
        path: the collection's path, relative to the client's base URL.
        model: the pydantic model items are parsed into.
        paging: how the collection splits into pages.
    """

    def __init__(self, client: BaseClient, path: str, model: type[M], paging: PagingStyle | None = None) -> None:
        self.client = client
        """The vendor client whose pipeline carries every call."""
        self.path = path.strip("/")
        """The collection's path relative to the client's base URL, without surrounding slashes."""
        self.model = model
        """The pydantic model items are parsed into."""
        self.paging: PagingStyle = paging or OffsetPaging()
        """How the collection splits into pages (offset/limit when none was given)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} of {self.model.__name__}>"

    # -- hooks a vendor overrides ------------------------------------------------------------------------------

    def item_url(self, id: Any) -> str:
        """The path of one entity: ``path/id`` unless the vendor addresses entities otherwise."""
        return f"{self.path}/{id}"

    def unwrap(self, data: Any) -> Any:
        """The entity inside a single-object response."""
        return data

    def wrap(self, payload: Mapping[str, Any]) -> Any:
        """The body that carries ``payload`` on create/update."""
        return payload

    def parse(self, raw: Any) -> M:
        """One entity from its decoded body; a body of another shape is a :class:`~adops_async.DecodeError`."""
        try:
            return self.model.model_validate(raw)
        except ValueError as exc:
            raise DecodeError(f"unexpected {self.model.__name__} shape: {exc}", vendor=self.client.vendor) from None

    def page_from(self, request: PageRequest, reply: Reply) -> Page[M]:
        """The page ``reply`` holds, its items parsed into :attr:`model`.

        A body that is not a page (no item list: ``{}``, ``null``, an envelope without its list) or items of the
        wrong shape raise :class:`DecodeError` naming the vendor, status, method, URL and request id of this reply;
        the page carries the same context for an :class:`~adops_async.IncompleteData` at the end of the walk.
        """
        try:
            page = self.paging.parse(request, reply.data)
            items = [self.parse(raw) for raw in page.items]
        except DecodeError as exc:
            info = ErrorInfo(type(exc), exc.message, code=exc.code or "decode")
            raise self.client._error(info, reply.response) from None
        return Page(items, page.next, page.total, self._context(reply))

    def _context(self, reply: Reply) -> ErrorContext:
        response = reply.response
        return ErrorContext(
            vendor=self.client.vendor,
            status=response.status_code,
            method=response.request.method,
            url=self.client.redactor.url(response.request.url),
            request_id=self.client.dialect.request_id(response),
        )

    # -- operations --------------------------------------------------------------------------------------------

    def list(self, *, priority: Priority | None = None, **filters: Any) -> AsyncPaginator[M]:
        """Every entity matching ``filters`` (vendor query parameters), page by page through the gate."""
        priority = current_priority(priority, Priority.BULK)

        async def fetch(request: PageRequest) -> Page[M]:
            reply = await self.client.request("GET", request.url or self.path, params=request.params, priority=priority)
            return self.page_from(request, reply)

        return AsyncPaginator(fetch, self.paging.first(filters))

    async def get(self, id: Any, *, priority: Priority | None = None) -> M:
        """The entity with this id; :class:`~adops_async.NotFound` when there is none."""
        reply = await self.client.request("GET", self.item_url(id), priority=priority)
        return self.parse(self.unwrap(reply.data))

    async def create(self, obj: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """Create an entity and return it as the vendor stored it (with its new id)."""
        reply = await self.client.request("POST", self.path, payload=self.wrap(payload_of(obj)), priority=priority)
        return self.parse(self.unwrap(reply.data))

    async def update(self, id: Any, changes: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """Send ``changes`` to the entity. Whether omitted fields are kept depends on the vendor (see its docs)."""
        reply = await self.client.request(
            "PUT", self.item_url(id), payload=self.wrap(payload_of(changes)), priority=priority
        )
        return self.parse(self.unwrap(reply.data))

    async def delete(self, id: Any, *, priority: Priority | None = None) -> None:
        """Delete the entity with this id."""
        await self.client.request("DELETE", self.item_url(id), priority=priority)

    async def exists(self, id: Any, *, priority: Priority | None = None) -> bool:
        """Whether an entity with this id exists (a ``HEAD`` request; a 404 is ``False``)."""
        try:
            await self.client.request("HEAD", self.item_url(id), priority=priority)
        except NotFound:
            return False
        return True
