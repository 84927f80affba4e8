"""Adnuntius lists: ``page``/``pageSize``/``totalCount``/``results``, with a disputed page base, and filter helpers.

The docs say ``page`` is 0-based; the official example (ADN-TOOLS ``test/example_query.py``) starts at 1
(docs/vendors/adnuntius.md, "Lists and filters"). So the paging never trusts arithmetic alone:

* the next page is the page the server *says* it served (``page`` in the body) plus one, when it says;
* a page whose first id equals the previous page's first id is a repeat (a 1-based server that served page 1 for
  ``page=0``): its items are dropped and the walk moves on;
* an empty answer to ``page=0`` while ``totalCount`` promises more means a 1-based server: page 1 is asked next;
* the walk stops on an empty page, on ``seen >= totalCount``, on a short page without ``totalCount``, and on a bare
  list ("in some cases all results are returned in a single page");
* an answer without a ``results`` list (``{}``, ``null``) is a :class:`~adops_async.DecodeError`, never an empty
  page; a walk that stops short of ``totalCount`` is re-checked, then raised as
  :class:`~adops_async.IncompleteData` (:meth:`~adops_async.AsyncPaginator.pages`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ...core.models import int_or_none
from ...core.paging import Page, PageRequest, item_list

__all__ = ["AdnuntiusPaging", "LocationPaging", "filter_by", "where", "where_clause"]


@dataclass(frozen=True)
class _Request(PageRequest):
    marker: str | None = None
    """The first id of the previous page (to spot a repeated page)."""


def _first_id(items: list[Any]) -> str | None:
    first = items[0] if items else None
    return str(first.get("id")) if isinstance(first, Mapping) and first.get("id") is not None else None


@dataclass(frozen=True)
class AdnuntiusPaging:
    """The paging style of ``GET /api/v1/<resource>`` (see the module docs)."""

    size: int = 100
    """``pageSize`` asked for (the maximum is not documented)."""
    start: int = 0
    """The first ``page`` asked for; 0 as the docs say (a 1-based server is detected)."""

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """Page ``start`` of ``size`` items, with the caller's filters."""
        return _Request({**params, "page": self.start, "pageSize": self.size})

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        """The items and the next page; a bare list is the whole collection."""
        if isinstance(data, list):
            return Page(data, None, len(data))
        items = item_list(data, "results")
        total = int_or_none(data.get("totalCount"))
        asked = int_or_none(request.params.get("page")) or 0
        served = int_or_none(data.get("page"))
        marker = request.marker if isinstance(request, _Request) else None
        first = _first_id(items)
        if items and marker is not None and first == marker:
            # The same page again: this server's pages start at 1 and it served page 1 for page 0.
            return Page([], self._at(request, asked + 1, request.seen, marker), total)
        seen = request.seen + len(items)
        if not items:
            if asked == 0 and served in (None, 0) and total is not None and request.seen < total:
                return Page([], self._at(request, 1, request.seen, marker), total)
            return Page(items, None, total)
        if total is not None and seen >= total:
            return Page(items, None, total)
        if total is None and len(items) < (int_or_none(request.params.get("pageSize")) or self.size):
            return Page(items, None, total)
        following = (served if served is not None else asked) + 1
        return Page(items, self._at(request, following, seen, first), total)

    @staticmethod
    def _at(request: PageRequest, page: int, seen: int, marker: str | None) -> PageRequest:
        params = {**request.params, "page": page}
        if isinstance(request, _Request):
            return replace(request, params=params, seen=seen, marker=marker)
        return _Request(params, request.url, seen, marker)


@dataclass(frozen=True)
class _LocationRequest(PageRequest):
    last: int = 0
    """The 1-based position of the last hit already taken (to drop hits a page repeats)."""


@dataclass(frozen=True)
class LocationPaging:
    """The paging of ``GET /api/v1/location`` (the location page): ``searchResults`` with ``totalHits`` and the
    1-based positions ``pageStart``/``pageEnd`` of the page's first and last hit.

    It asks by ``page``/``pageSize`` (the general list parameters) from ``start`` and trusts the positions, not the
    page arithmetic: hits at or before a position already taken are dropped (a 1-based server serving page 1 for
    page 0), an empty answer to page 0 while hits remain moves to page 1, and the walk stops at ``totalHits``
    or on an empty page.
    """

    size: int = 100
    """``pageSize`` asked for."""
    start: int = 0
    """The first ``page`` asked for."""

    def first(self, params: Mapping[str, Any]) -> PageRequest:
        """Page ``start`` of ``size`` hits, with the caller's filters."""
        return _LocationRequest({**params, "page": self.start, "pageSize": self.size})

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        """The hits not taken yet, and the next page unless ``totalHits`` is reached or the page is empty."""
        raw = item_list(data, "searchResults")
        total = int_or_none(data.get("totalHits")) if isinstance(data, Mapping) else None
        begin = int_or_none(data.get("pageStart")) if isinstance(data, Mapping) else None
        last = request.last if isinstance(request, _LocationRequest) else 0
        asked = int_or_none(request.params.get("page")) or 0
        items = raw[max(0, last + 1 - begin) :] if begin is not None else raw
        end = max(last, begin + len(raw) - 1 if begin is not None else last + len(raw))
        seen = request.seen + len(items)
        if total is not None and seen >= total:
            return Page(items, None, total)
        if not raw and not (asked == 0 and total and last == 0):
            return Page(items, None, total)
        params = {**request.params, "page": asked + 1}
        return Page(items, _LocationRequest(params, None, seen, end), total)


_URL_SET = re.compile(r"^(?P<field>[A-Za-z_][\w.]*)\+(?P<op>not\+in|in)\+(?P<values>.+)$")
_URL_NULL = re.compile(r"^(?P<field>[A-Za-z_][\w.]*)\+is\+(?P<negated>not\+)?null$")
_URL_RELATIVE = re.compile(r"(?P<count>\d+)\+(?P<unit>(?:minute|hour|day|month|year)s?)\+(?P<way>ago|later)$")


def _decoded(condition: str) -> str:
    found = _URL_SET.match(condition)
    if found:
        return f"{found['field']} {found['op'].replace('+', ' ')} {found['values']}"
    found = _URL_NULL.match(condition)
    if found:
        return f"{found['field']} is {'not ' if found['negated'] else ''}null"
    return _URL_RELATIVE.sub(lambda m: f"{m['count']} {m['unit']} {m['way']}", condition)


def where_clause(clause: str) -> str:
    """A ``where=`` value with the docs' URL spelling decoded: the ``+`` around ``in``, ``not in``, ``is null``,
    ``is not null`` and inside ``2+hours+ago`` is an encoded space in those URLs, so it becomes one (sent as a
    literal ``+``, percent-encoded, the server would read no operator). A ``+`` inside a value stays."""
    return ";".join(_decoded(c.strip()) for c in clause.split(";") if c.strip())


def where(*conditions: str) -> str:
    """``where=`` conditions joined by ``;`` (all must hold): ``where("updateTime>1 day ago", "name is not null")``.

    Operators (ADN-DOC ``api-filters.md``): ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, `` in A,B``, `` not in A,B``,
    `` is null``, `` is not null``; relative times such as ``2 hours ago`` or ``1 month later``. The docs' URL
    spelling (``executionState+in+RUNNING,ENDED``) is accepted and decoded (:func:`where_clause`).
    """
    return where_clause(";".join(c.strip() for c in conditions if c.strip()))


def filter_by(
    field: str, value: str | None = None, *, like: str | None = None, not_like: str | None = None
) -> dict[str, str]:
    """``filterBy`` with exactly one of ``filterByValue``, ``filterByLike`` or ``filterByNotLike``."""
    given = [(k, v) for k, v in (("filterByValue", value), ("filterByLike", like), ("filterByNotLike", not_like)) if v]
    if len(given) != 1:
        raise ValueError("give exactly one of value=, like=, not_like=")
    return {"filterBy": field, given[0][0]: str(given[0][1])}
