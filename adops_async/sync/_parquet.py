"""The Parquet destination: a directory of Hive-partitioned datasets.

::

    delivery/vendor=appnexus/day=2024-01-01/part-00000.parquet the normalized rows (vendor and day in the path)
    appnexus_raw/adops_day=2024-01-01/part-00000.parquet       a vendor's raw rows
    adops_windows/appnexus_2024-01-01.parquet                  one window's state (one row)

A window is written under ``.staging/<host>-<pid>-<token>/`` first, a directory of the destination's own. Its commit
deletes the window's state file (from then on the window counts as incomplete), swaps each partition directory for the
staged one (two renames), then writes the state file (a rename): the state file is the commit point, so a process
killed in between leaves a window that the next run pulls again and that ``adops verify`` reports.

Several processes may write one tree at once, each its own windows (two writing the same window at once would race
for its partitions): each stages apart, removes its staging directory on close, and at open removes only what dead
processes of the same host left staged. A DuckDB file, by contrast, has one writing process at a time
(``docs/sync.md``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from ._batches import POOL, PartWriter, delivery_schema
from ._dest import Destination, WindowLoad
from ._model import RAW_DAY, RAW_EXTRA, STATE_COLUMNS, Window, WindowState, days, raw_dicts
from ._sources import Source

__all__ = ["ParquetDestination"]

_STATE_TYPES = {
    "VARCHAR": pa.string(),
    "DATE": pa.date32(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "TIMESTAMP": pa.timestamp("us"),
}
STATE_SCHEMA = pa.schema([(name, _STATE_TYPES[kind]) for name, kind in STATE_COLUMNS.items()])


class ParquetDestination(Destination):
    def __init__(self, root: Path, sources: Mapping[str, Source]) -> None:
        self.root = root
        self.sources = dict(sources)
        host = socket.gethostname()
        self.staging = root / ".staging" / f"{host}-{os.getpid()}-{secrets.token_hex(4)}"
        for folder in (root / "delivery", root / "adops_windows", self.staging):
            folder.mkdir(parents=True, exist_ok=True)
        for left in self.staging.parent.iterdir():  # what a killed process of this host left half-written
            if _dead(host, left.name):
                shutil.rmtree(left, ignore_errors=True)

    def _state_file(self, vendor: str, start: date) -> Path:
        return self.root / "adops_windows" / f"{vendor}_{start.isoformat()}.parquet"

    def windows(self) -> list[WindowState]:
        states = []
        for file in sorted((self.root / "adops_windows").glob("*.parquet")):
            for row in pq.read_table(file, schema=STATE_SCHEMA).to_pylist():
                states.append(WindowState(**row))
        return states

    def begin(self, window: Window, source: Source) -> WindowLoad:
        return _ParquetLoad(self, window)

    def write_state(self, state: WindowState) -> None:
        target = self._state_file(state.vendor, state.start)
        partial = self.staging / f"{target.name}.{secrets.token_hex(4)}"
        pq.write_table(pa.Table.from_pylist([state.as_row()], schema=STATE_SCHEMA), partial)
        os.replace(partial, target)

    def record_pending(self, windows: list[Window]) -> None:
        for window in windows:
            if not self._state_file(window.vendor, window.start).exists():
                self.write_state(WindowState(window.vendor, window.start, window.end, "pending"))

    def record_failure(self, state: WindowState) -> None:
        target = self._state_file(state.vendor, state.start)
        if target.exists():
            [stored] = [WindowState(**row) for row in pq.read_table(target, schema=STATE_SCHEMA).to_pylist()]
            if stored.status == "complete":
                stored.error, stored.attempts, stored.attempted_at = state.error, state.attempts, state.attempted_at
                state = stored
        self.write_state(state)

    def delivery_partition(self, vendor: str, day: date) -> Path:
        return self.root / "delivery" / f"vendor={vendor}" / f"day={day.isoformat()}"

    def raw_partition(self, vendor: str, day: date) -> Path:
        return self.root / f"{vendor}_raw" / f"{RAW_DAY}={day.isoformat()}"

    def delivery_counts(self) -> Mapping[tuple[str, date], int]:
        counts: dict[tuple[str, date], int] = {}
        for file in (self.root / "delivery").glob("vendor=*/day=*/*.parquet"):
            vendor = file.parent.parent.name.partition("=")[2]
            day = date.fromisoformat(file.parent.name.partition("=")[2])
            counts[(vendor, day)] = counts.get((vendor, day), 0) + pq.ParquetFile(file).metadata.num_rows
        return counts

    def raw_rows(self, vendor: str, window: Window, columns: tuple[str, ...]) -> Iterator[dict[str, str | None]]:
        for day in days(window.start, window.end):
            for file in sorted(self.raw_partition(vendor, day).glob("*.parquet")):
                for batch in pq.ParquetFile(file).iter_batches(batch_size=8192, columns=[*columns, RAW_EXTRA]):
                    yield from raw_dicts(batch.to_pylist(), columns)

    def close(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class _ParquetLoad(WindowLoad):
    """Writes one file per dataset and day under a staging directory, then swaps the partitions in."""

    def __init__(self, destination: ParquetDestination, window: Window) -> None:
        self._destination = destination
        self._window = window
        self._stage = destination.staging / f"{window.vendor}_{window.start}_{secrets.token_hex(4)}"
        self._writers: dict[Path, PartWriter] = {}
        self._delivery_schema = delivery_schema().remove(1).remove(0)  # vendor and day are the partition keys

    def _write(self, folder: Path, table: Any) -> None:
        writer = self._writers.get(folder)
        if writer is None:
            folder.mkdir(parents=True, exist_ok=True)
            writer = self._writers[folder] = PartWriter(folder, "part")
        writer.add(table)

    def add(self, delivery: Any, raw: Any) -> None:
        for day in days(self._window.start, self._window.end):
            stamp = pa.scalar(day, pa.date32())
            rows = pc.filter(delivery, pc.equal(delivery.column("day"), stamp, memory_pool=POOL), memory_pool=POOL)
            if rows.num_rows:
                table = pa.Table.from_batches([rows]).drop_columns(["vendor", "day"])
                self._write(self._stage / "delivery" / day.isoformat(), table)
            kept = pc.filter(raw, pc.equal(raw.column(RAW_DAY), stamp, memory_pool=POOL), memory_pool=POOL)
            if kept.num_rows:
                self._write(
                    self._stage / "raw" / day.isoformat(), pa.Table.from_batches([kept]).drop_columns([RAW_DAY])
                )

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def commit(self, state: WindowState) -> None:
        destination, window = self._destination, self._window
        try:
            self._close_writers()
            destination._state_file(window.vendor, window.start).unlink(missing_ok=True)
            for day in days(window.start, window.end):
                for dataset, target in (
                    ("delivery", destination.delivery_partition(window.vendor, day)),
                    ("raw", destination.raw_partition(window.vendor, day)),
                ):
                    _swap(self._stage / dataset / day.isoformat(), target, self._stage / f"old-{dataset}-{day}")
            destination.write_state(state)
        finally:
            shutil.rmtree(self._stage, ignore_errors=True)

    def abort(self) -> None:
        try:
            self._close_writers()
        finally:
            shutil.rmtree(self._stage, ignore_errors=True)


def _dead(host: str, name: str) -> bool:
    """Whether staging directory ``name`` (``<host>-<pid>-<token>``) is of a process of ``host`` that has ended."""
    owner, _, rest = name.rpartition("-")[0].rpartition("-")
    if owner != host or not rest.isdigit():
        return False
    try:
        os.kill(int(rest), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, and another user's
        return False
    return False


def _swap(staged: Path, target: Path, trash: Path) -> None:
    """Put ``staged`` (if it was written) where ``target`` is; the old ``target`` goes to ``trash`` (in the staging
    directory, so no reader globbing the dataset ever sees it)."""
    if target.exists():
        os.replace(target, trash)
        shutil.rmtree(trash)
    if staged.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
