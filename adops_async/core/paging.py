"""Async pagination: a paginator drives a paging *style* that knows one vendor's way of splitting a collection.

A style turns a page request into (items, the next page request or ``None``). Paginators are re-iterable: each
``async for`` starts over from the first page, unlike a cursor that silently yields nothing the second time.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["AsyncPaginator", "OffsetPaging", "Page", "PageNumberPaging", "PageRequest", "PagingStyle", "SinglePage"]

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class PageRequest:
    """Which page to fetch: query parameters (or a full ``url`` a vendor gave as "next"), and items seen so far."""

    params: Mapping[str, Any] = field(default_factory=dict)
    url: str | None = None
    seen: int = 0


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items, the request for the next one (``None`` on the last page), the total when known."""

    items: Sequence[T]
    next: PageRequest | None
    total: int | None = None


class PagingStyle(Protocol):
    """A vendor's paging convention."""

    def first(self, params: Mapping[str, Any]) -> PageRequest: ...

    def parse(self, request: PageRequest, data: Any) -> Page[Any]: ...


def _items_at(data: Any, key: str | None) -> list[Any]:
    items = data.get(key) if key is not None and isinstance(data, Mapping) else data
    return list(items) if isinstance(items, list) else []


def _int_at(data: Any, key: str | None) -> int | None:
    value = data.get(key) if key is not None and isinstance(data, Mapping) else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class OffsetPaging:
    """``offset``/``limit`` style. Advances by the number of items actually returned (a server may cap the size)."""

    offset_param: str = "offset"
    limit_param: str = "limit"
    size: int = 100
    items_key: str | None = "results"
    total_key: str | None = "count"

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest({**params, self.offset_param: 0, self.limit_param: self.size})

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        items = _items_at(data, self.items_key)
        total = _int_at(data, self.total_key)
        seen = request.seen + len(items)
        done = not items or (total is not None and seen >= total) or (total is None and len(items) < self.size)
        following = None if done else replace(request, params={**request.params, self.offset_param: seen}, seen=seen)
        return Page(items, following, total)


@dataclass(frozen=True)
class PageNumberPaging:
    """``page``/``pageSize`` style, with an optional ``next`` link that wins when present.

    Stops on an empty page, on ``seen >= total``, or when no ``next`` link comes while the style expects one, so a
    page base of 0 or 1 neither loses nor repeats a page.
    """

    page_param: str = "page"
    size_param: str = "pageSize"
    size: int = 50
    base: int = 1
    items_key: str | None = "results"
    total_key: str | None = "totalCount"
    next_key: str | None = None

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest({**params, self.page_param: self.base, self.size_param: self.size})

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        items = _items_at(data, self.items_key)
        total = _int_at(data, self.total_key)
        seen = request.seen + len(items)
        if not items or (total is not None and seen >= total):
            return Page(items, None, total)
        link = data.get(self.next_key) if self.next_key and isinstance(data, Mapping) else None
        if isinstance(link, str) and link:
            return Page(items, PageRequest({}, url=link, seen=seen), total)
        if self.next_key and total is None:
            return Page(items, None, total)
        page = int(request.params.get(self.page_param, self.base)) + 1
        return Page(items, replace(request, params={**request.params, self.page_param: page}, seen=seen), total)


@dataclass(frozen=True)
class SinglePage:
    """A collection that comes whole in one response (Ooyala's Booking API lists)."""

    items_key: str | None = None

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        return PageRequest(dict(params))

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        items = _items_at(data, self.items_key)
        return Page(items, None, len(items))


class AsyncPaginator(Generic[T]):
    """Items across pages: ``async for item in paginator``, ``.pages()``, ``await .first()``, ``await .collect()``.

    Args:
        fetch: gets one page (through the client's pipeline and gate) and returns it with its items converted.
        first: the request for the first page.
    """

    def __init__(self, fetch: Callable[[PageRequest], Awaitable[Page[T]]], first: PageRequest) -> None:
        self._fetch = fetch
        self._first = first

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Each page in turn, starting from the first every time."""
        request: PageRequest | None = self._first
        while request is not None:
            page = await self._fetch(request)
            yield page
            request = page.next

    async def _items(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def first(self) -> T | None:
        """The first item, fetching one page only; ``None`` for an empty collection."""
        async with aclosing(self._items()) as items:
            async for item in items:
                return item
        return None

    async def collect(self, limit: int | None = None) -> list[T]:
        """All items (or the first ``limit``) in a list. Stops fetching as soon as it has enough."""
        found: list[T] = []
        if limit is not None and limit <= 0:
            return found
        async with aclosing(self._items()) as items:
            async for item in items:
                found.append(item)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def map(self, convert: Callable[[T], U]) -> AsyncPaginator[U]:
        """A paginator over the same pages whose items pass through ``convert``."""

        async def fetch(request: PageRequest) -> Page[U]:
            page = await self._fetch(request)
            return Page([convert(item) for item in page.items], page.next, page.total)

        return AsyncPaginator(fetch, self._first)
