"""The DuckDB destination: tables ``delivery``, ``<vendor>_raw`` and ``adops_windows`` in one file.

Each window loads in its own transaction on its own cursor (DuckDB's connections to one database): the window's old
rows are deleted, the new batches inserted from Arrow, and its ``adops_windows`` row replaced, then one commit. A
process killed before the commit leaves the old rows (DuckDB's write-ahead log holds committed transactions only).
DuckDB lets one process write a file at a time (see ``docs/sync.md``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from ._dest import Destination, WindowLoad
from ._model import DELIVERY_COLUMNS, RAW_DAY, RAW_EXTRA, RAW_ROW, STATE_COLUMNS, Window, WindowState, raw_dicts
from ._sources import Source

__all__ = ["DuckDBDestination"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_table(vendor: str) -> str:
    return _quote(f"{vendor}_raw")


class DuckDBDestination(Destination):
    def __init__(self, path: Path, sources: Mapping[str, Source]) -> None:
        self.path = path
        self._connection = duckdb.connect(str(path))
        self._lock = threading.Lock()  # cursors are made one at a time from the shared connection
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
        return _DuckDBLoad(self.cursor(), window)

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


def _replace_state(cursor: duckdb.DuckDBPyConnection, state: WindowState) -> None:
    cursor.execute("DELETE FROM adops_windows WHERE vendor = ? AND start = ?", [state.vendor, state.start])
    row = state.as_row()
    marks = ", ".join("?" for _ in row)
    cursor.execute(f"INSERT INTO adops_windows ({', '.join(map(_quote, row))}) VALUES ({marks})", list(row.values()))


class _DuckDBLoad(WindowLoad):
    def __init__(self, cursor: duckdb.DuckDBPyConnection, window: Window) -> None:
        self._cursor = cursor
        self._window = window
        cursor.begin()
        span = [window.vendor, window.start, window.end]
        cursor.execute("DELETE FROM delivery WHERE vendor = ? AND day >= ? AND day < ?", span)
        cursor.execute(f"DELETE FROM {raw_table(window.vendor)} WHERE {RAW_DAY} >= ? AND {RAW_DAY} < ?", span[1:])

    def add(self, delivery: Any, raw: Any) -> None:
        for table, batch in (("delivery", delivery), (raw_table(self._window.vendor), raw)):
            if batch.num_rows == 0:
                continue
            self._cursor.register("adops_batch", batch)
            try:
                self._cursor.execute(f"INSERT INTO {table} BY NAME SELECT * FROM adops_batch")
            finally:
                self._cursor.unregister("adops_batch")

    def commit(self, state: WindowState) -> None:
        try:
            _replace_state(self._cursor, state)
            self._cursor.commit()
        finally:
            self._cursor.close()

    def abort(self) -> None:
        try:
            self._cursor.rollback()
        finally:
            self._cursor.close()
