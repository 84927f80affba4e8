"""PulsePro's list pages: ``{"results": [...], "count": N, "next": "<url or null>"}`` (the DRF page shape the
marketing page shows, docs/vendors/pulsepro.md), with ``limit``/``offset`` as the other style the internal API uses.

``next`` wins when present and ``next: null`` is the last page (DRF's own end signal); a server that sends no
``next`` key at all is counted on by page number until ``count`` items were seen. A page without its ``results``
list is a :class:`~adops_async.DecodeError`, and a walk that ends short of ``count`` is re-checked, then raised as
:class:`~adops_async.IncompleteData` (:meth:`~adops_async.AsyncPaginator.pages`).

A ``next`` link is resolved against the client's base URL (the marketing sample gives a bare path,
``/api/v1/inspections?page=2``) and must stay on the same origin: the API key rides on every request, so a link to
another host is refused rather than followed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ...core.errors import DecodeError
from ...core.paging import OffsetPaging, Page, PageNumberPaging, PageRequest

__all__ = ["PulseProOffsetPaging", "PulseProPaging"]


@dataclass(frozen=True)
class PulseProPaging(PageNumberPaging):
    """Page-number paging: ``?page=1&page_size=100``; follows ``next`` (``null`` ends), else ``page + 1`` until
    ``count``."""

    page_param: str = "page"
    size_param: str = "page_size"
    size: int = 100
    base: int = 1
    items_key: str | None = "results"
    total_key: str | None = "count"
    next_key: str | None = "next"
    base_url: str = ""
    """The client's base URL: relative ``next`` links resolve against it, and other origins are refused."""

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        if isinstance(data, list):  # an unpaged collection (a short list, or an analytics series)
            return Page(data, None, len(data))
        if not isinstance(data, Mapping):
            raise DecodeError(f"expected a page object or a list, got {type(data).__name__}", vendor="pulsepro")
        page = super().parse(request, data)
        if page.next is None or page.next.url is None:
            return page
        return Page(page.items, self._follow(page.next), page.total)

    def _follow(self, following: PageRequest) -> PageRequest:
        assert following.url is not None
        base = httpx.URL(self.base_url.rstrip("/") + "/") if self.base_url else None
        link = base.join(following.url) if base is not None else httpx.URL(following.url)
        if base is not None and (link.scheme, link.host, link.port) != (base.scheme, base.host, base.port):
            raise DecodeError(
                f"refusing to follow a 'next' link to another origin ({link.scheme}://{link.host})", vendor="pulsepro"
            )
        # Keep the link's query as params so that a later page without a link can still count on from its number.
        params = dict(link.params.multi_items())
        return PageRequest(params, url=str(link.copy_with(query=None)), seen=following.seen)


@dataclass(frozen=True)
class PulseProOffsetPaging(OffsetPaging):
    """``?limit=100&offset=0`` with the same ``results``/``count`` envelope."""

    items_key: str | None = "results"
    total_key: str | None = "count"

    def parse(self, request: PageRequest, data: Any) -> Page[Any]:
        if isinstance(data, list):
            return Page(data, None, len(data))
        return super().parse(request, data)
