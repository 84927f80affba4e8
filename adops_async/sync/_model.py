"""What a sync moves and records: windows, their state, the normalized delivery schema, the raw rows' checksum."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

__all__ = [
    "DELIVERY_COLUMNS",
    "RAW_DAY",
    "RAW_EXTRA",
    "RAW_ROW",
    "STATE_COLUMNS",
    "Checksum",
    "Window",
    "WindowState",
    "days",
    "raw_dicts",
    "raw_text",
]

#: The normalized ``delivery`` table: (column, DuckDB type). ``day`` and ``vendor`` are never NULL.
DELIVERY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("day", "DATE"),
    ("vendor", "VARCHAR"),
    ("account", "VARCHAR"),
    ("advertiser_id", "VARCHAR"),
    ("advertiser_name", "VARCHAR"),
    ("campaign_id", "VARCHAR"),
    ("campaign_name", "VARCHAR"),
    ("line_item_id", "VARCHAR"),
    ("line_item_name", "VARCHAR"),
    ("creative_id", "VARCHAR"),
    ("creative_name", "VARCHAR"),
    ("impressions", "BIGINT"),
    ("clicks", "BIGINT"),
    ("spend", "DOUBLE"),
    ("currency", "VARCHAR"),
)

#: Columns every raw table has before the vendor's own: the window's day, the row's place in the report, and the
#: vendor columns the table does not declare (a JSON object, NULL when there are none).
RAW_DAY, RAW_ROW, RAW_EXTRA = "adops_day", "adops_row", "adops_extra"


@dataclass(frozen=True, order=True)
class Window:
    """One vendor's report over the days from ``start`` up to (not including) ``end``."""

    vendor: str
    start: date
    end: date

    def __str__(self) -> str:
        last = self.end - timedelta(days=1)
        days = self.start.isoformat() if last == self.start else f"{self.start}..{last}"
        return f"{self.vendor} {days}"


@dataclass
class WindowState:
    """A row of ``adops_windows``: what the destination holds for one window.

    ``status`` is ``complete`` (the rows are whole and checked; ``error`` then says why the last refresh failed, if
    it did, while the rows stored before stay), ``failed`` (no complete load yet) or ``pending`` (planned by a run
    that has not loaded it yet). ``checksum`` is the SHA-256 of
    the raw rows as :class:`Checksum` serializes them, ``bytes`` the length of that serialization.
    """

    vendor: str
    start: date
    end: date
    status: str
    rows: int = 0
    bytes: int = 0
    checksum: str | None = None
    completed_at: datetime | None = None
    attempted_at: datetime | None = None
    attempts: int = 0
    report_ids: str | None = None
    error: str | None = None

    @property
    def window(self) -> Window:
        return Window(self.vendor, self.start, self.end)

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in STATE_COLUMNS}


#: ``adops_windows``: (column, DuckDB type), in :class:`WindowState`'s field order.
STATE_COLUMNS: dict[str, str] = {
    "vendor": "VARCHAR",
    "start": "DATE",
    "end": "DATE",
    "status": "VARCHAR",
    "rows": "BIGINT",
    "bytes": "BIGINT",
    "checksum": "VARCHAR",
    "completed_at": "TIMESTAMP",
    "attempted_at": "TIMESTAMP",
    "attempts": "INTEGER",
    "report_ids": "VARCHAR",
    "error": "VARCHAR",
}


def raw_text(value: Any) -> str | None:
    """A raw value as the raw tables store it: text as it is, anything else as JSON, ``None`` as NULL."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Checksum:
    """SHA-256 over a window's raw rows in report order, each the JSON object of its non-NULL columns (keys sorted,
    values as :func:`raw_text` stores them) and a newline; so it can be recomputed from the stored raw rows."""

    rows: int = 0
    bytes: int = 0
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, row: Mapping[str, str | None]) -> None:
        present = {name: value for name, value in row.items() if value is not None}
        line = json.dumps(present, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        self._hash.update(line)
        self.rows += 1
        self.bytes += len(line)

    def hexdigest(self) -> str:
        return str(self._hash.hexdigest())


def raw_dicts(rows: Iterable[Mapping[str, Any]], columns: tuple[str, ...]) -> Iterator[dict[str, str | None]]:
    """Stored raw rows (the declared ``columns`` and ``adops_extra``) back as the vendor's rows, for the checksum."""
    for row in rows:
        found: dict[str, str | None] = {name: row[name] for name in columns}
        extra = row[RAW_EXTRA]
        if extra:
            found.update(json.loads(extra))
        yield found


def days(start: date, end: date) -> Iterator[date]:
    """The days from ``start`` up to (not including) ``end``."""
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)
