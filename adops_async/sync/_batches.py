"""Rows to Arrow record batches of bounded size: the normalized ``delivery`` rows and the vendor's raw rows."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from ..core.errors import DecodeError
from ._model import DELIVERY_COLUMNS, RAW_DAY, RAW_EXTRA, RAW_ROW, Checksum, Window, raw_text
from ._sources import Source

__all__ = ["BATCH_ROWS", "Batcher", "delivery_schema", "raw_schema"]

#: Rows per record batch: memory holds about one batch per window being loaded.
BATCH_ROWS = 8192

_ARROW = {"DATE": pa.date32(), "VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64()}


def delivery_schema() -> pa.Schema:
    return pa.schema(
        [pa.field(name, _ARROW[kind], nullable=name not in ("day", "vendor")) for name, kind in DELIVERY_COLUMNS]
    )


def raw_schema(source: Source) -> pa.Schema:
    fixed = [pa.field(RAW_DAY, pa.date32(), nullable=False), pa.field(RAW_ROW, pa.int64(), nullable=False)]
    return pa.schema([*fixed, *(pa.field(name, pa.string()) for name in source.raw_columns), (RAW_EXTRA, pa.string())])


def _day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return datetime.fromisoformat(text.strip()[:10]).date()
    except ValueError:
        return default


def _int(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(text) if text.lstrip("-").isdigit() else int(float(text))
    except ValueError:
        return None


def _float(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


class Batcher:
    """Collects a window's rows column by column and hands them out as record batches of :data:`BATCH_ROWS`.

    Every raw row also goes into :attr:`checksum` (see :class:`~adops_async.sync._model.Checksum`).
    """

    def __init__(self, source: Source, window: Window, account: str | None) -> None:
        self.source = source
        self.window = window
        self.account = account
        self.checksum = Checksum()
        self._declared = frozenset(source.raw_columns)
        self._delivery_schema = delivery_schema()
        self._raw_schema = raw_schema(source)
        self._reset()

    def _reset(self) -> None:
        self._delivery: dict[str, list[Any]] = {name: [] for name, _ in DELIVERY_COLUMNS}
        self._raw: dict[str, list[Any]] = {name: [] for name in self._raw_schema.names}
        self.size = 0

    def add(self, row: Mapping[str, Any]) -> None:
        texts = {name: raw_text(value) for name, value in row.items()}
        self.checksum.add(texts)
        raw = self._raw
        raw[RAW_DAY].append(self.window.start)
        raw[RAW_ROW].append(self.checksum.rows - 1)
        for name in self.source.raw_columns:
            raw[name].append(texts.get(name))
        extra = {name: text for name, text in texts.items() if name not in self._declared and text is not None}
        raw[RAW_EXTRA].append(json.dumps(extra, ensure_ascii=False) if extra else None)

        fields = self.source.fields
        delivery = self._delivery
        for name, kind in DELIVERY_COLUMNS:
            text = texts.get(fields[name]) if name in fields else None
            if name == "day":
                day = _day(text, self.window.start)
                if not self.window.start <= day < self.window.end:
                    # Stored outside its window, a row would escape the window's replacement: a duplicate later.
                    raise DecodeError(
                        f"a row of {day} in the report of {self.window}", vendor=self.source.vendor, code="window"
                    )
                delivery[name].append(day)
            elif name == "vendor":
                delivery[name].append(self.source.vendor)
            elif name == "account":
                delivery[name].append(self.account)
            elif kind == "BIGINT":
                delivery[name].append(_int(text))
            elif kind == "DOUBLE":
                delivery[name].append(_float(text))
            else:
                delivery[name].append(text or None)
        self.size += 1

    def take(self) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """The rows added since the last call, as (delivery, raw) record batches."""
        delivery = pa.RecordBatch.from_pydict(self._delivery, schema=self._delivery_schema)
        raw = pa.RecordBatch.from_pydict(self._raw, schema=self._raw_schema)
        self._reset()
        return delivery, raw
