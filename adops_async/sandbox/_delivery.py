"""Deterministic delivery figures for the sandboxes' reports: the same rows for the same (vendor, day), every run.

A sandbox given a :class:`DeliveryFigures` (``app.delivery = DeliveryFigures("appnexus")``) answers a report for a
date range with these rows, day by day, instead of its fixed generated rows. Every figure is a hash of the vendor,
the day, the row number and the day's revision, so two processes serve the same table; :meth:`DeliveryFigures.revise`
changes one day's figures (and its row count), as a vendor's late-settling data would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["DeliveryFigures", "DeliveryLine", "days_between", "parse_day"]


@dataclass(frozen=True)
class DeliveryLine:
    """One row of a day's delivery: a line item's creative, and what it delivered."""

    day: date
    number: int
    advertiser_id: str
    advertiser_name: str
    campaign_id: str
    campaign_name: str
    line_item_id: str
    line_item_name: str
    creative_id: str
    creative_name: str
    impressions: int
    clicks: int
    spend: float
    currency: str


class DeliveryFigures:
    """A day's delivery rows for one vendor: between ``rows // 2`` and ``rows`` of them, each line item once.

    Args:
        vendor: mixed into every hash, so vendors' figures differ.
        rows: the most rows a day has.
        currency: the currency of ``spend``.
    """

    def __init__(self, vendor: str, *, rows: int = 20, currency: str = "USD") -> None:
        if rows < 2:
            raise ValueError("rows must be at least 2")
        self.vendor = vendor
        self.rows = rows
        self.currency = currency
        self.revisions: dict[date, int] = {}
        """Days whose figures were revised, and how many times."""

    def revise(self, day: date) -> None:
        """Change ``day``'s figures and row count (another revision of the same hashes)."""
        self.revisions[day] = self.revisions.get(day, 0) + 1

    def _hash(self, *parts: object) -> int:
        text = "|".join(str(part) for part in (self.vendor, *parts))
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")

    def count(self, day: date) -> int:
        """How many rows ``day`` has."""
        low = self.rows // 2
        return low + self._hash("count", day, self.revisions.get(day, 0)) % (self.rows - low + 1)

    def lines(self, day: date) -> Iterator[DeliveryLine]:
        """``day``'s rows, in line-item order."""
        revision = self.revisions.get(day, 0)
        for number in range(self.count(day)):
            advertiser, campaign = number % 3, number % 7
            impressions = 100 + self._hash("imps", day, number, revision) % 100_000
            yield DeliveryLine(
                day=day,
                number=number,
                advertiser_id=f"{100 + advertiser}",
                advertiser_name=f"Advertiser {advertiser}",
                campaign_id=f"{200 + campaign}",
                campaign_name=f"Campaign {campaign}",
                line_item_id=f"{1000 + number}",
                line_item_name=f"Line item {number}",
                creative_id=f"{5000 + number}",
                creative_name=f"Creative {number}",
                impressions=impressions,
                clicks=impressions // (20 + self._hash("ctr", day, number, revision) % 80),
                spend=round(impressions * 0.002, 2),
                currency=self.currency,
            )

    def lines_between(self, start: date, end: date) -> Iterator[DeliveryLine]:
        """Every row of the days from ``start`` up to (not including) ``end``."""
        for day in days_between(start, end):
            yield from self.lines(day)


def days_between(start: date, end: date) -> Iterator[date]:
    """The days from ``start`` up to (not including) ``end``."""
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


def parse_day(text: str) -> date:
    """The date of ``2024-01-01``, ``2024-01-01 00:00:00``, ``2024-01-01T00:00:00`` or ``...T00:00:00.000Z``."""
    return datetime.fromisoformat(text.strip()[:10]).date()
