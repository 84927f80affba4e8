"""Async pagination: a paginator drives a paging *style* that knows one vendor's way of splitting a collection.

A style turns a page request into (items, the next page request or ``None``). Paginators are re-iterable: each
``async for`` starts over from the first page, unlike a cursor that silently yields nothing the second time.

No walk ends quietly short. A success page without its item list (``{}``, ``null``, an envelope that lacks the
list) is a :class:`~adops_async.DecodeError`, never an empty page; an explicitly empty list is the vendor's own "no
more". A walk ends only on the vendor's end signal as its style reads it (an empty page, the announced total
reached, no ``next`` link); ending short of the total the vendor announced is re-checked once, then raised as
:class:`~adops_async.IncompleteData` (see :meth:`AsyncPaginator.pages`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

from ..observe._meta import attach
from .errors import DecodeError, ErrorContext, IncompleteData
from .models import int_or_none

__all__ = [
    "AsyncPaginator",
    "OffsetPaging",
    "Page",
    "PageNumberPaging",
    "PageRequest",
    "PagingStyle",
    "SinglePage",
    "item_list",
]

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class PageRequest:
    """Which page to fetch: query parameters (or a full ``url`` a vendor gave as "next"), and items seen so far."""

    params: Mapping[str, Any] = field(default_factory=dict)
    """The query parameters of the page, the paging ones included."""
    url: str | None = None
    """A full URL the vendor gave for this page (a ``next`` link), or ``None``: the collection's."""
    seen: int = 0
    """Items seen on the pages before this one."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page: its items, the request for the next one (``None`` on the last page), the total when known."""

    items: Sequence[T]
    """The page's items (parsed models once a resource fetched it)."""
    next: PageRequest | None
    """The request for the next page, or ``None`` on the last page."""
    total: int | None = None
    """The collection's size as the vendor announced it, or ``None`` when it did not."""
    context: ErrorContext | None = field(default=None, compare=False)
    """Where the page came from (vendor, status, method, redacted URL, request id), for an error about the walk."""

    def __post_init__(self) -> None:
        attach(self)  # adops_async.response_meta(page): the request id, attempts and gate wait of its response


class PagingStyle(Protocol):
    """A vendor's paging convention.

    :meth:`parse` raises :class:`~adops_async.DecodeError` for a body that is not a page (use :func:`item_list`);
    the resource that fetched it adds the vendor, status, URL and request id.
    """

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """The request for the first page, given the caller's filters."""

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        """The page in ``data`` (the decoded body answering ``request``) and the request for the next one."""


def _kind(value: Any) -> str:
    """A decoded value's kind in the vendor's terms (JSON's), for an error message that shows no data."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def item_list(data: Any, key: str | None) -> list[Any]:
    """The item list of a page: ``data[key]`` (or ``data`` itself when ``key`` is ``None`` or ``data`` is a bare
    list, a collection answered whole).

    Raises :class:`~adops_async.DecodeError` when there is no list there: a page that lost its items must never
    read as the vendor's "no more items", which would end a walk quietly. ``[]`` is a real, empty page.
    """
    if isinstance(data, list):
        return data
    if key is None:
        raise DecodeError(f"expected a list page, got {_kind(data)}")
    if not isinstance(data, Mapping):
        raise DecodeError(f"expected a list page with {key!r}, got {_kind(data)}")
    items = data.get(key)
    if not isinstance(items, list):
        found = "missing" if key not in data else _kind(items)
        raise DecodeError(f"list page without its items: {key!r} is {found}")
    return items


def _int_at(data: Any, key: str | None) -> int | None:
    return int_or_none(data.get(key) if key is not None and isinstance(data, Mapping) else None)


@dataclass(frozen=True)
class OffsetPaging:
    """``offset``/``limit`` style. Advances by the number of items actually returned (a server may cap the size).

    Ends on an empty page, on ``seen >= total``, or (no total given) on a page shorter than ``size``.
    """

    offset_param: str = "offset"
    """The query parameter of the offset."""
    limit_param: str = "limit"
    """The query parameter of the page size."""
    size: int = 100
    """Items asked for per page."""
    items_key: str | None = "results"
    """The body's key of the item list; ``None``: the body is the list."""
    total_key: str | None = "count"
    """The body's key of the collection's size, or ``None`` when the vendor gives none."""

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """Offset 0, ``size`` items, with the caller's filters."""
        return PageRequest({**params, self.offset_param: 0, self.limit_param: self.size})

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        """The items, and the next offset (items seen so far) unless this page ends the walk."""
        items = item_list(data, self.items_key)
        total = _int_at(data, self.total_key)
        seen = request.seen + len(items)
        done = not items or (total is not None and seen >= total) or (total is None and len(items) < self.size)
        following = None if done else replace(request, params={**request.params, self.offset_param: seen}, seen=seen)
        return Page(items, following, total)


@dataclass(frozen=True)
class PageNumberPaging:
    """``page``/``pageSize`` style, with an optional ``next`` link that wins when present.

    Stops on an empty page, on ``seen >= total``, or on a ``next`` of ``null`` when the style expects links (the
    vendor's "last page"). A vendor that sends no ``next`` key at all is counted on by page number until the total
    (or stops there when it gives none), so a page base of 0 or 1 neither loses nor repeats a page.
    """

    page_param: str = "page"
    """The query parameter of the page number."""
    size_param: str = "pageSize"
    """The query parameter of the page size."""
    size: int = 50
    """Items asked for per page."""
    base: int = 1
    """The first page's number (0 or 1)."""
    items_key: str | None = "results"
    """The body's key of the item list; ``None``: the body is the list."""
    total_key: str | None = "totalCount"
    """The body's key of the collection's size, or ``None`` when the vendor gives none."""
    next_key: str | None = None
    """The body's key of the next page's link, or ``None`` when the vendor gives none."""

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """Page ``base`` of ``size`` items, with the caller's filters."""
        return PageRequest({**params, self.page_param: self.base, self.size_param: self.size})

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        """The items, and the next page (its link, else the next number) unless this page ends the walk."""
        items = item_list(data, self.items_key)
        total = _int_at(data, self.total_key)
        seen = request.seen + len(items)
        if not items or (total is not None and seen >= total):
            return Page(items, None, total)
        links = self.next_key is not None and isinstance(data, Mapping) and self.next_key in data
        if links:
            link = data[self.next_key]
            if isinstance(link, str) and link:
                return Page(items, PageRequest({}, url=link, seen=seen), total)
            if link not in (None, ""):
                raise DecodeError(f"list page with a {self.next_key!r} link that is {_kind(link)}")
            return Page(items, None, total)  # the vendor says this is the last page
        if self.next_key and total is None:
            return Page(items, None, total)
        page = int(request.params.get(self.page_param, self.base)) + 1
        return Page(items, replace(request, params={**request.params, self.page_param: page}, seen=seen), total)


@dataclass(frozen=True)
class SinglePage:
    """A collection that comes whole in one response (Ooyala's Booking API lists)."""

    items_key: str | None = None
    """The body's key of the item list; ``None``: the body is the list."""

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """The collection with the caller's filters."""
        return PageRequest(dict(params))

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        """Every item; there is no next page."""
        items = item_list(data, self.items_key)
        return Page(items, None, len(items))


def _short_of(request: PageRequest, page: Page[Any]) -> int | None:
    """The total the vendor announced when ``page`` ends the walk before it was reached, else ``None``."""
    if page.next is None and page.total is not None and request.seen + len(page.items) < page.total:
        return page.total
    return None


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
        """Each page in turn, starting from the first every time.

        The walk ends where the paging style reads the vendor's end signal. If that last page leaves the walk short
        of the total the vendor announced, the page is fetched once more (a vendor's passing hiccup is not the end
        of the data); still short, :class:`~adops_async.IncompleteData` is raised with ``expected`` (that total)
        and ``seen`` (items walked), never a quietly short result.

        The total judged is the latest one, the last page's: a collection that grows during the walk is followed to
        its new size (so ``seen`` may pass the first page's total), and one that shrinks ends at its new size.
        """
        request: PageRequest | None = self._first
        while request is not None:
            page = await self._fetch(request)
            if _short_of(request, page) is not None:
                page = await self._fetch(request)
                expected = _short_of(request, page)
                if expected is not None:
                    seen = request.seen + len(page.items)
                    raise IncompleteData(
                        f"the walk ended at {seen} of the {expected} items the vendor announced (checked twice)",
                        expected=expected,
                        seen=seen,
                        **(page.context or ErrorContext()),
                    )
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
            return Page([convert(item) for item in page.items], page.next, page.total, page.context)

        return AsyncPaginator(fetch, self._first)
