"""What a sync moves and records: windows, their state, the normalized delivery schema, the raw rows' checksum."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

__all__ = [
    "DELIVERY_COLUMNS",
    "RAW_DAY",
    "RAW_EXTRA",
    "RAW_ROW",
    "STATE_COLUMNS",
    "Checksum",
    "Span",
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


@dataclass(frozen=True)
class Span:
    """The time range one report of a window covers, ``start`` up to (not including) ``end``, naive UTC: the whole
    window, or a part of it when the vendor's report of the whole did not finish or hit the vendor's row cap."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, window: Window) -> Span:
        return cls(datetime.combine(window.start, time()), datetime.combine(window.end, time()))

    def halves(self) -> tuple[Span, Span]:
        middle = self.start + (self.end - self.start) / 2
        return Span(self.start, middle), Span(middle, self.end)

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M}..{self.end:%Y-%m-%d %H:%M}"


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


#: A string as JSON writes it with ``ensure_ascii=False``.
_quoted: Callable[[str], str] = json.encoder.encode_basestring


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
    _keys: tuple[str, ...] = field(default=(), repr=False)
    _order: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def add(self, row: Mapping[str, str | None]) -> None:
        keys = tuple(row)
        if keys != self._keys:  # a report's rows share their columns: sort and encode the keys once
            self._keys, self._order = keys, [(_quoted(name) + ":", name) for name in sorted(keys)]
        # What json.dumps(row without its None values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        # writes, built from the values' quoted forms (several times faster per row).
        values = [(key, row[name]) for key, name in self._order]
        line = "{" + ",".join([key + _quoted(value) for key, value in values if value is not None]) + "}"
        data = line.encode() + b"\n"
        self._hash.update(data)
        self.rows += 1
        self.bytes += len(data)

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
