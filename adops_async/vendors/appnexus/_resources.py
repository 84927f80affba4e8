"""AppNexus services as resources: query-string ids, the response envelope, and ``start_element`` paging.

What differs from plain REST (docs/vendors/appnexus.md):

* one URL per service (``/line-item``); an object is addressed with ``?id=X``, several with ``?id=1,2,3``;
* every answer is ``{"response": {...}}``; a list sits under ``dbg_info.output_term`` (the plural of the service name,
  hyphens kept: ``"line-items"``), one object under the singular (``"line-item"``);
* request bodies wrap the object in the service's name: ``{"line-item": {...}}``;
* PUT is partial, except arrays, which are replaced unless ``append=true``;
* paging is ``start_element`` / ``num_elements`` with at most 100 per page, silently truncated beyond.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import anyio

from ...core.client import BaseClient
from ...core.errors import DecodeError, NotFound
from ...core.models import VendorModel, int_or_none, payload_of
from ...core.paging import AsyncPaginator, Page, PageRequest
from ...core.policies import Priority
from ...core.priority import current_priority
from ...core.resources import Resource
from ._dialect import envelope

__all__ = ["MAX_PAGE", "AppNexusPaging", "AppNexusResource", "objects_in"]

M = TypeVar("M", bound=VendorModel)

MAX_PAGE = 100
"""The most objects one page holds: "If you request over 100 objects, we will only return the first 100 and will
not provide an error message" (the API's docs)."""

_COMMON_KEYS = frozenset({"status", "count", "start_element", "num_elements", "dbg_info", "id", "warnings", "dbg"})


def objects_in(data: Any, *names: str) -> Any:
    """The payload of an envelope: under ``dbg_info.output_term`` (how ANX reads it), else under one of ``names``,
    else under the first key that is not bookkeeping (how NUMB reads it). ``None`` when there is none."""
    body = envelope(data)
    debug = body.get("dbg_info")
    term = debug.get("output_term") if isinstance(debug, Mapping) else None
    for key in (term, *names):
        if isinstance(key, str) and key in body:
            return body[key]
    for key, value in body.items():
        if key not in _COMMON_KEYS and isinstance(value, (list, dict)):
            return value
    return None


def _query_value(value: Any) -> Any:
    """``[1, 2, 3]`` -> ``"1,2,3"``; ``True`` -> ``"true"`` (the API's spelling of id lists and booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(_query_value(v)) for v in value)
    return value


def query(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _query_value(value) for key, value in params.items() if value is not None}


@dataclass(frozen=True)
class AppNexusPaging:
    """``start_element`` / ``num_elements`` paging, advanced by the ``num_elements`` the API returned.

    ``size`` is capped at 100: asking more is silently truncated by the API, and a client that advanced by what it
    asked would skip objects. The total comes from ``count``; an empty list, or reaching ``count``, ends the walk
    (and the paginator re-checks a walk that ends short of ``count``).

    A page must hold its list (under ``dbg_info.output_term``, the plural, or the one non-bookkeeping key): an
    envelope without it (``{"response": {"status": "OK", "count": 100000}}``), ``{}`` or ``null`` is a
    :class:`~adops_async.DecodeError`, not an empty page. The one exception is an envelope whose own ``count`` says
    nothing lies at or after this ``start_element`` (``count: 0``): there is no list to lose.
    """

    size: int = MAX_PAGE
    """``num_elements`` asked for; capped at :data:`MAX_PAGE`."""
    plural: str = ""
    """The service's plural (``line-items``), one of the keys its list may be under."""

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """``start_element`` 0, ``size`` objects, with the caller's filters."""
        size = max(1, min(self.size, MAX_PAGE))
        return PageRequest({**params, "start_element": 0, "num_elements": size})

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        """The objects, and the next ``start_element`` (advanced by the ``num_elements`` answered) unless ``count`` is
        reached or the page is empty."""
        body = envelope(data)
        found = objects_in(data, self.plural)
        total = int_or_none(body.get("count"))
        start = int_or_none(request.params.get("start_element")) or 0
        if isinstance(found, list):
            items = found
        elif isinstance(found, Mapping):  # some services answer a lone object
            items = [found]
        elif found is None and total is not None and start >= total:
            items = []
        else:
            raise DecodeError(self._no_list(data, found, total))
        step = int_or_none(body.get("num_elements"))
        if step is None or step <= 0:
            step = len(items)
        following = start + step
        done = not items or (total is not None and following >= total) or (total is None and step < self.size)
        if done:
            return Page(items, None, total)
        params = {**request.params, "start_element": following}
        return Page(items, replace(request, params=params, seen=request.seen + len(items)), total)

    def _no_list(self, data: Any, found: Any, total: int | None) -> str:
        if not (isinstance(data, Mapping) and isinstance(data.get("response"), Mapping)):
            shape = "null" if data is None else "an object" if isinstance(data, Mapping) else type(data).__name__
            return f"list page is not an AppNexus envelope: {shape} without a 'response' object"
        held = "missing or null" if found is None else f"a {type(found).__name__}"
        return f"list page without its list: {self.plural or 'the list'!r} is {held} (count {total})"


class AppNexusResource(Resource[M]):
    """One AppNexus service (``line-item``, ``advertiser``, ...), typed by ``model``.

    Parent parameters the API wants on writes (``advertiser_id=``, ``publisher_id=``) go as keyword arguments.
    """

    def __init__(self, client: BaseClient, service: str, model: type[M], *, page_size: int = MAX_PAGE) -> None:
        self.service = service.strip("/")
        """The API service (``line-item``), which is also the collection's path."""
        self.plural = f"{self.service}s"
        """The service's plural (``line-items``)."""
        super().__init__(client, self.service, model, AppNexusPaging(page_size, self.plural))

    def unwrap(self, data: Any) -> Any:
        return objects_in(data, self.service, self.service.replace("-", "_"))

    def wrap(self, payload: Mapping[str, Any]) -> Any:
        return {self.service: dict(payload)}

    def list(self, *, priority: Priority | None = None, prefetch: int = 4, **filters: Any) -> AsyncPaginator[M]:
        """Every object matching ``filters``.

        ``fields=["id", "name"]``, ``sort="id.desc"``, ``min_id=``, ``like_name=``, ``search=``, ``advertiser_id=``,
        ``id=[1, 2]``... (lists are sent comma-separated, booleans as ``true``/``false``)."""
        priority = current_priority(priority, Priority.BULK)
        ahead = _Prefetcher(self, priority, max(1, prefetch))
        return AsyncPaginator(ahead.fetch, self.paging.first(query(filters)))

    async def _page(self, request: PageRequest, priority: Priority) -> Page[M]:
        reply = await self.client.request("GET", self.path, params=request.params, priority=priority)
        return self.page_from(request, reply)

    async def get(self, id: Any, *, priority: Priority | None = None, **params: Any) -> M:
        reply = await self.client.request("GET", self.path, params=query({**params, "id": id}), priority=priority)
        found = self.unwrap(reply.data)
        if isinstance(found, list):  # some services answer a one-item list
            found = found[0] if found else None
        if not isinstance(found, Mapping):
            raise NotFound(f"{self.service} {id} not found", vendor=self.client.vendor, status=reply.status)
        return self.parse(found)

    async def one(self, *, priority: Priority | None = None, **params: Any) -> M:
        """``GET /<service>?params``, for the requests that answer one object (``GET /member``,
        ``GET /user?current=1``): the singular key, or a one-item list. :class:`~adops_async.NotFound` when the
        answer holds no object, a :class:`~adops_async.DecodeError` when it holds several."""
        reply = await self.client.request("GET", self.path, params=query(params), priority=priority)
        found = objects_in(reply.data, self.service, self.service.replace("-", "_"), self.plural)
        if isinstance(found, list):
            if len(found) > 1:
                raise DecodeError(
                    f"{self.service}: expected one object, the answer lists {len(found)}", vendor=self.client.vendor
                )
            found = found[0] if found else None
        if not isinstance(found, Mapping):
            raise NotFound(
                f"{self.service} ({params}) answered no object", vendor=self.client.vendor, status=reply.status
            )
        return self.parse(found)

    async def get_many(
        self, ids: Iterable[Any], *, priority: Priority | None = None, **params: Any
    ) -> builtins.list[M]:
        """The objects with these ids (``?id=1,2,3``), 100 per request. Ids that do not exist are simply absent."""
        wanted = list(dict.fromkeys(ids))
        found: builtins.list[M] = []
        for start in range(0, len(wanted), MAX_PAGE):
            chunk = wanted[start : start + MAX_PAGE]
            page = {**params, "id": chunk, "num_elements": MAX_PAGE}
            reply = await self.client.request("GET", self.path, params=query(page), priority=priority)
            raw = objects_in(reply.data, self.plural, self.service)
            items = raw if isinstance(raw, list) else [raw] if isinstance(raw, Mapping) else []
            found.extend(self.parse(item) for item in items)
        return found

    async def create(self, obj: M | Mapping[str, Any], *, priority: Priority | None = None, **params: Any) -> M:
        """POST the object; the API answers its new ``id`` (some services echo the object too).

        Never retried once it may have reached the API: AppNexus POST is not idempotent.
        """
        payload = payload_of(obj)
        reply = await self.client.request(
            "POST", self.path, params=query(params), payload=self.wrap(payload), priority=priority
        )
        return self._written(reply.data, payload)

    async def update(
        self,
        id: Any,
        changes: M | Mapping[str, Any],
        *,
        append: bool = False,
        priority: Priority | None = None,
        **params: Any,
    ) -> M:
        """PUT ``changes``: fields left out are kept, but arrays given are *replaced* unless ``append=True``.

        An appending PUT is not idempotent (sent twice, it appends twice), so it is never retried after it may have
        reached the API. Returns the object as echoed, else the changes with the id.
        """
        payload = payload_of(changes)
        extra = {"append": True} if append else {}
        reply = await self.client.request(
            "PUT",
            self.path,
            params=query({**params, **extra, "id": id}),
            payload=self.wrap(payload),
            priority=priority,
            retry_safe=not append,
        )
        return self._written(reply.data, {**payload, "id": id})

    async def delete(self, id: Any, *, priority: Priority | None = None, **params: Any) -> None:
        await self.client.request("DELETE", self.path, params=query({**params, "id": id}), priority=priority)

    async def exists(self, id: Any, *, priority: Priority | None = None) -> bool:
        try:
            await self.get(id, priority=priority, fields="id")
        except NotFound:
            return False
        return True

    async def meta(self, *, priority: Priority | None = None) -> dict[str, Any]:
        """``GET /<service>/meta``: the service's fields and which can be filtered or sorted on."""
        reply = await self.client.request("GET", f"{self.path}/meta", priority=priority)
        return dict(envelope(reply.data))

    def _written(self, data: Any, sent: Mapping[str, Any]) -> M:
        body = envelope(data)
        echoed = body.get(self.service) or body.get(self.service.replace("-", "_"))
        if isinstance(echoed, Mapping):
            return self.parse(echoed)
        if "id" not in body and "id" not in sent:
            raise DecodeError(f"{self.service} write answered without an id", vendor=self.client.vendor)
        return self.parse({**sent, "id": body.get("id", sent.get("id"))})


class _Prefetcher:
    """Fetches up to ``depth`` following pages at once, all through the gate, and hands them out in order.

    A predicted page starts where the previous one ended if every page returns as many objects as the first; it is
    used only when the walk (which advances by each page's returned ``num_elements``) asks for exactly that start, so
    a page that comes back shorter never makes us skip objects, it only wastes the pages fetched after it. No task
    outlives a call: the concurrent fetches finish before :meth:`fetch` returns.

    A predicted page that fails does not stop its siblings (nothing in flight is cancelled): its error is kept and
    raised, as itself, when the walk reaches that page, after every object of the pages before it. So the walk
    raises the first failure in page order, the one a walk without prefetching would have met; failures of pages
    after it are dropped with them, and a failed prediction the walk never asks for is never raised.
    """

    def __init__(self, resource: AppNexusResource[Any], priority: Priority, depth: int) -> None:
        self.resource = resource
        self.priority = priority
        self.depth = depth
        self._ready: dict[int, Page[Any] | Exception] = {}

    async def fetch(self, request: PageRequest) -> Page[Any]:
        start = int_or_none(request.params.get("start_element")) or 0
        cached = self._ready.pop(start, None)
        if isinstance(cached, Exception):
            self._ready.clear()
            raise cached
        if cached is not None:
            # Predicted without knowing the walk's count so far: carry on from the walk's own ``seen``.
            following = cached.next and replace(cached.next, seen=request.seen + len(cached.items))
            return replace(cached, next=following)
        self._ready.clear()
        page = await self.resource._page(request, self.priority)
        if page.next is None or page.total is None or self.depth == 1:
            return page
        step = (int_or_none(page.next.params.get("start_element")) or 0) - start
        starts = range(start + step, min(page.total, start + step * self.depth), step) if step > 0 else range(0)
        found: dict[int, Page[Any] | Exception] = {}

        async def one(at: int) -> None:
            ahead = replace(request, params={**request.params, "start_element": at})
            try:
                found[at] = await self.resource._page(ahead, self.priority)
            except Exception as exc:  # kept for when the walk gets there; cancellation still propagates
                found[at] = exc

        async with anyio.create_task_group() as group:
            for at in starts:
                group.start_soon(one, at)
        self._ready = found
        return page
