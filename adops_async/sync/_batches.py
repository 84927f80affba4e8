"""Rows to Arrow record batches of bounded size: the normalized ``delivery`` rows and the vendor's raw rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from ..core.errors import DecodeError
from ._model import DELIVERY_COLUMNS, RAW_DAY, RAW_EXTRA, RAW_ROW, Checksum, Window, raw_text
from ._sources import Source

__all__ = ["BATCH_ROWS", "FILE_ROWS", "POOL", "Batcher", "PartWriter", "delivery_schema", "raw_schema"]

#: Rows per record batch: memory holds about one batch per window being loaded.
BATCH_ROWS = 2048

#: Where the sync's Arrow buffers (batches, Parquet pages) live: the C allocator, which gives a freed batch's memory
#: back. Arrow's default pool (mimalloc) kept some 40 MB more resident through a sync, whatever its size
#: (``benchmarks/report_sync.py``).
POOL = pa.system_memory_pool()

#: Rows per Parquet file the sync writes at most: a file's writer holds the metadata of every row group it wrote until
#: its close (with a row group per batch, a day of 2 M rows in one file held some 20 MB of it).
FILE_ROWS = 64 * BATCH_ROWS

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


def _numbers(texts: list[str | None], kind: Any, parse: Callable[[str | None], Any]) -> pa.Array:
    """``texts`` as numbers of ``kind``: one Arrow cast for a column of plain numbers, else ``parse`` value by value
    (an empty or unreadable value is NULL, a decimal in an integer column is truncated)."""
    try:
        return pc.cast(pa.array(texts, pa.string(), memory_pool=POOL), kind, memory_pool=POOL)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([parse(text) for text in texts], kind, memory_pool=POOL)


class Batcher:
    """Collects a window's rows column by column and hands them out as record batches of :data:`BATCH_ROWS`.

    Every raw row also goes into :attr:`checksum` (see :class:`~adops_async.sync._model.Checksum`). Per row, only
    what must be done row by row happens in :meth:`add` (the raw text, the checksum); the normalized columns are
    built per batch in :meth:`take`.
    """

    def __init__(self, source: Source, window: Window, account: str | None) -> None:
        self.source = source
        self.window = window
        self.account = account
        self.checksum = Checksum()
        self._declared = frozenset(source.raw_columns)
        # The vendor columns ``delivery`` reads that the raw table does not declare are kept aside, row by row.
        self._aside = tuple(sorted({c for c in source.fields.values() if c not in self._declared}))
        self._delivery_schema = delivery_schema()
        self._raw_schema = raw_schema(source)
        self._reset()

    def _reset(self) -> None:
        self._raw: dict[str, list[Any]] = {name: [] for name in self._raw_schema.names}
        self._kept: dict[str, list[str | None]] = {name: [] for name in self._aside}
        self._appends = [(name, self._raw[name].append) for name in self.source.raw_columns]
        self.size = 0

    def add(self, row: Mapping[str, Any]) -> None:
        texts: Mapping[str, Any] = row
        for value in row.values():
            if value is not None and value.__class__ is not str:
                texts = {name: raw_text(value) for name, value in row.items()}
                break
        self.checksum.add(texts)
        raw = self._raw
        raw[RAW_ROW].append(self.checksum.rows - 1)
        get = texts.get
        for name, append in self._appends:
            append(get(name))
        if self._declared.issuperset(texts):
            raw[RAW_EXTRA].append(None)
        else:
            extra = {name: text for name, text in texts.items() if name not in self._declared and text is not None}
            raw[RAW_EXTRA].append(json.dumps(extra, ensure_ascii=False) if extra else None)
        for name in self._aside:
            self._kept[name].append(get(name))
        self.size += 1

    def _texts(self, column: str) -> list[str | None]:
        return self._kept[column] if column in self._kept else self._raw[column]

    def _days(self, texts: list[str | None]) -> pa.Array:
        window = self.window
        parsed: dict[str | None, date] = {}
        for text in set(texts):  # a window has few distinct days: parse and check each once
            day = _day(text, window.start)
            if not window.start <= day < window.end:
                # Stored outside its window, a row would escape the window's replacement: a duplicate later.
                raise DecodeError(f"a row of {day} in the report of {window}", vendor=self.source.vendor, code="window")
            parsed[text] = day
        return pa.array([parsed[text] for text in texts], pa.date32(), memory_pool=POOL)

    def take(self) -> tuple[pa.RecordBatch, pa.RecordBatch]:
        """The rows added since the last call, as (delivery, raw) record batches; raise :class:`DecodeError` when
        one of them is dated outside the window."""
        size, fields = self.size, self.source.fields
        columns: list[pa.Array] = []
        for name, kind in DELIVERY_COLUMNS:
            texts = self._texts(fields[name]) if name in fields else None
            if name == "day":
                columns.append(
                    self._days(texts)
                    if texts is not None
                    else pa.array([self.window.start] * size, pa.date32(), memory_pool=POOL)
                )
            elif name == "vendor":
                columns.append(pa.array([self.source.vendor] * size, pa.string(), memory_pool=POOL))
            elif name == "account":
                columns.append(pa.array([self.account] * size, pa.string(), memory_pool=POOL))
            elif texts is None:
                columns.append(pa.nulls(size, _ARROW[kind], memory_pool=POOL))
            elif kind == "BIGINT":
                columns.append(_numbers(texts, pa.int64(), _int))
            elif kind == "DOUBLE":
                columns.append(_numbers(texts, pa.float64(), _float))
            else:
                columns.append(pa.array([text or None for text in texts], pa.string(), memory_pool=POOL))
        delivery = pa.RecordBatch.from_arrays(columns, schema=self._delivery_schema)
        self._raw[RAW_DAY] = [self.window.start] * size
        raw = pa.RecordBatch.from_arrays(
            [pa.array(self._raw[f.name], f.type, memory_pool=POOL) for f in self._raw_schema], schema=self._raw_schema
        )
        self._reset()
        return delivery, raw


class PartWriter:
    """Record batches to Parquet files ``<stem>-00000.parquet``, ``<stem>-00001.parquet``, ... in ``folder``, a row
    group per batch and a new file every :data:`FILE_ROWS` rows; the names sort in the rows' order. A file is opened
    at its first batch, so there is none without rows."""

    def __init__(self, folder: Path, stem: str, **options: Any) -> None:
        self.folder = folder
        self.stem = stem
        self.files: list[Path] = []
        """The files written (each complete once :meth:`close` returned)."""
        self._options = options
        self._writer: pq.ParquetWriter | None = None
        self._rows = 0

    def add(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        if self._writer is not None and self._rows >= FILE_ROWS:
            self._writer.close()
            self._writer = None
        if self._writer is None:
            self.files.append(self.folder / f"{self.stem}-{len(self.files):05d}.parquet")
            self._writer = pq.ParquetWriter(self.files[-1], batch.schema, memory_pool=POOL, **self._options)
            self._rows = 0
        if isinstance(batch, pa.Table):
            self._writer.write_table(batch, row_group_size=batch.num_rows)
        else:
            self._writer.write_batch(batch)
        self._rows += batch.num_rows

    def close(self) -> None:
        """Finish the open file (again: nothing happens)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
