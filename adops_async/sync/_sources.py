"""Each vendor's delivery report for one window, as the vendor registry declares it (:class:`DeliverySpec`).

How each is pulled, its raw columns and how it normalizes live with the vendor (``vendors/<vendor>/_spec.py``); the
mapping is documented in ``docs/sync.md``. A pull raises an :class:`AdOpsError` whenever the window is not whole: the
report download's checks (:func:`adops_async.core.reports.download`), the vendor's own row count (AppNexus
``row_count``) or totals (Adnuntius ``totals``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..core.client import BaseClient
from ..vendors import VENDORS
from ..vendors._spec import DeliveryPull, DeliverySpec

__all__ = ["SOURCES", "Pull", "Source"]


@dataclass
class Pull:
    """One attempt at a window: its rows as the vendor sent them, and the vendor's ids of the reports behind them."""

    report_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Source:
    """A vendor's delivery report.

    Args:
        vendor: the client's vendor name.
        raw_columns: the columns of the vendor's raw table (others go to its ``adops_extra`` JSON column).
        fields: normalized ``delivery`` column -> the raw column it comes from.
        pull: the rows of one window (an async generator; see :data:`~adops_async.vendors._spec.DeliveryPull`).
        account: the ``account`` of the client's rows (``None`` when the client does not know it).
        splits: whether a window may be pulled as shorter spans (see :class:`~adops_async.vendors._spec.DeliverySpec`).
    """

    vendor: str
    raw_columns: tuple[str, ...]
    fields: Mapping[str, str]
    pull: DeliveryPull
    account: Callable[[BaseClient], str | None] = lambda client: None
    splits: bool = False

    @classmethod
    def of(cls, vendor: str, delivery: DeliverySpec) -> Source:
        """The source of a vendor's registered delivery report."""
        return cls(vendor, delivery.raw_columns, delivery.fields, delivery.pull, delivery.account, delivery.splits)


SOURCES: Mapping[str, Source] = {
    name: Source.of(name, spec.delivery) for name, spec in VENDORS.items() if spec.delivery is not None
}
"""The vendors with a delivery report, in the registry's order."""
