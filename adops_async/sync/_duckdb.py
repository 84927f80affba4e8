"""The DuckDB destination: tables ``delivery``, ``<vendor>_raw`` and ``adops_windows`` in one file.

A window's batches are staged as Parquet files beside the database (``.<name>.duckdb.staging/``), then loaded in one
transaction on its own cursor (DuckDB's connections to one database): the window's old rows are deleted, the staged
rows inserted, and its ``adops_windows`` row replaced, then one commit. A process killed before the commit leaves
the old rows (DuckDB's write-ahead log holds committed transactions only).
DuckDB lets one process write a file at a time (see ``docs/sync.md``).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from ._batches import PartWriter
from ._dest import Destination, WindowLoad
from ._model import DELIVERY_COLUMNS, RAW_DAY, RAW_EXTRA, RAW_ROW, STATE_COLUMNS, Window, WindowState, raw_dicts
from ._sources import Source

__all__ = ["DUCKDB_CONFIG", "DuckDBDestination"]

#: How the sync opens the database, for flat memory (``benchmarks/report_sync.py``, ``docs/sync.md``): a buffer pool
#: of 16 MB (a window's insert writes its row groups to the file as it goes, so that is enough for one insert at a
#: time, and the inserts take turns; 8 MB was not); one thread (each thread of an insert holds row groups of its
#: own); the order rows are inserted in not kept (a raw row's place is its ``adops_row``, and keeping it makes the
#: insert buffer rows).
DUCKDB_CONFIG: dict[str, str | int | bool] = {
    "memory_limit": "16MB",
    "threads": 1,
    "preserve_insertion_order": False,
}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_table(vendor: str) -> str:
    return _quote(f"{vendor}_raw")


class DuckDBDestination(Destination):
    def __init__(self, path: Path, sources: Mapping[str, Source]) -> None:
        self.path = path
        # Each window's rows wait here until its commit (see _DuckDBLoad); what a killed run left goes now.
        self.staging = path.with_name(f".{path.name}.staging")
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)
        # DuckDB's buffer pool may grow to most of the machine's memory: bounded, it writes what it holds to the
        # file (or its temp directory) instead, and memory stays flat.
        self._connection = duckdb.connect(str(path), config=dict(DUCKDB_CONFIG))
        self._lock = threading.Lock()  # cursors are made one at a time from the shared connection
        # One window's insert at a time: the buffer pool is the database's, bounded for one.
        self.inserting = threading.Lock()
        columns = ", ".join(
            f"{_quote(n)} {t}{' NOT NULL' if n in ('day', 'vendor') else ''}" for n, t in DELIVERY_COLUMNS
        )
        state = ", ".join(f"{_quote(n)} {t}" for n, t in STATE_COLUMNS.items())
        statements = [
            f"CREATE TABLE IF NOT EXISTS delivery ({columns})",
            f"CREATE TABLE IF NOT EXISTS adops_windows ({state})",
        ]
        for source in sources.values():
            raw = ", ".join(f"{_quote(name)} VARCHAR" for name in source.raw_columns)
            statements.append(
                f"CREATE TABLE IF NOT EXISTS {raw_table(source.vendor)} "
                f"({RAW_DAY} DATE NOT NULL, {RAW_ROW} BIGINT NOT NULL, {raw}, {RAW_EXTRA} VARCHAR)"
            )
        for statement in statements:
            self._connection.execute(statement)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self._connection.cursor()

    def windows(self) -> list[WindowState]:
        cursor = self.cursor()
        try:
            names = list(STATE_COLUMNS)
            found = cursor.execute(f"SELECT {', '.join(map(_quote, names))} FROM adops_windows").fetchall()
        finally:
            cursor.close()
        return [WindowState(**dict(zip(names, row, strict=True))) for row in found]

    def begin(self, window: Window, source: Source) -> WindowLoad:
        return _DuckDBLoad(self, window)

    def record_pending(self, windows: list[Window]) -> None:
        cursor = self.cursor()
        try:
            cursor.begin()
            known = set(cursor.execute("SELECT vendor, start FROM adops_windows").fetchall())
            for window in windows:
                if (window.vendor, window.start) not in known:
                    _replace_state(cursor, WindowState(window.vendor, window.start, window.end, "pending"))
            cursor.commit()
        finally:
            cursor.close()

    def record_failure(self, state: WindowState) -> None:
        cursor = self.cursor()
        try:
            cursor.begin()
            updated = cursor.execute(
                "UPDATE adops_windows SET error = ?, attempts = ?, attempted_at = ? "
                "WHERE vendor = ? AND start = ? AND status = 'complete' RETURNING 1",
                [state.error, state.attempts, state.attempted_at, state.vendor, state.start],
            ).fetchall()
            if not updated:
                _replace_state(cursor, state)
            cursor.commit()
        finally:
            cursor.close()

    def delivery_counts(self) -> Mapping[tuple[str, date], int]:
        cursor = self.cursor()
        try:
            found = cursor.execute("SELECT vendor, day, count(*) FROM delivery GROUP BY vendor, day").fetchall()
        finally:
            cursor.close()
        return {(vendor, day): count for vendor, day, count in found}

    def raw_rows(self, vendor: str, window: Window, columns: tuple[str, ...]) -> Iterator[dict[str, str | None]]:
        cursor = self.cursor()
        try:
            names = ", ".join(_quote(name) for name in (*columns, RAW_EXTRA))
            relation = cursor.sql(
                f"SELECT {names} FROM {raw_table(vendor)} WHERE {RAW_DAY} >= $start AND {RAW_DAY} < $end "
                f"ORDER BY {RAW_DAY}, {RAW_ROW}",
                params={"start": window.start, "end": window.end},
            )
            with relation.to_arrow_reader(8192) as reader:  # a relation's reader streams; execute()'s would copy
                for batch in reader:
                    yield from raw_dicts(batch.to_pylist(), columns)
        finally:
            cursor.close()

    def close(self) -> None:
        self._connection.close()
        shutil.rmtree(self.staging, ignore_errors=True)


def _replace_state(cursor: duckdb.DuckDBPyConnection, state: WindowState) -> None:
    cursor.execute("DELETE FROM adops_windows WHERE vendor = ? AND start = ?", [state.vendor, state.start])
    row = state.as_row()
    marks = ", ".join("?" for _ in row)
    cursor.execute(f"INSERT INTO adops_windows ({', '.join(map(_quote, row))}) VALUES ({marks})", list(row.values()))


class _DuckDBLoad(WindowLoad):
    """Writes the window's batches to Parquet files in a staging directory (flat memory: DuckDB keeps a
    transaction's appended rows in memory until it commits), then loads them in one transaction at :meth:`commit`:
    the window's old rows deleted, the staged files inserted (DuckDB writes a bulk insert's row groups straight to
    the file), its state replaced."""

    def __init__(self, destination: DuckDBDestination, window: Window) -> None:
        self._destination = destination
        self._window = window
        self._stage = Path(tempfile.mkdtemp(prefix=f"{window.vendor}_{window.start}_", dir=destination.staging))
        # Transient files DuckDB reads once, whole: no statistics to write or to keep.
        self._writers = {name: PartWriter(self._stage, name, write_statistics=False) for name in ("delivery", "raw")}

    def add(self, delivery: Any, raw: Any) -> None:
        self._writers["delivery"].add(delivery)
        self._writers["raw"].add(raw)

    def commit(self, state: WindowState) -> None:
        window = self._window
        cursor = self._destination.cursor()
        try:
            self._close_writers()
            with self._destination.inserting:
                cursor.begin()
                span = [window.vendor, window.start, window.end]
                cursor.execute("DELETE FROM delivery WHERE vendor = ? AND day >= ? AND day < ?", span)
                raw = raw_table(window.vendor)
                cursor.execute(f"DELETE FROM {raw} WHERE {RAW_DAY} >= ? AND {RAW_DAY} < ?", span[1:])
                for name, table in (("delivery", "delivery"), ("raw", raw)):
                    for staged in self._writers[name].files:  # a file at a time: less held at once
                        cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [str(staged)])
                _replace_state(cursor, state)
                cursor.commit()
        finally:
            cursor.close()
            shutil.rmtree(self._stage, ignore_errors=True)

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def abort(self) -> None:
        try:
            self._close_writers()
        finally:
            shutil.rmtree(self._stage, ignore_errors=True)
