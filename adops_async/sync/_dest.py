"""Where a sync lands: the destination interface, and how a ``--to`` path picks one.

Destinations are blocking (file and database work); the sync calls them from worker threads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from ._model import Window, WindowState
from ._sources import Source

__all__ = ["Destination", "WindowLoad", "open_destination"]


class WindowLoad(ABC):
    """One window being loaded: batches go in, then :meth:`commit` replaces the window's rows and state at once, or
    :meth:`abort` leaves the destination as it was."""

    @abstractmethod
    def add(self, delivery: Any, raw: Any) -> None:
        """Append a ``delivery`` and a ``raw`` record batch (pyarrow ``RecordBatch``)."""

    @abstractmethod
    def commit(self, state: WindowState) -> None:
        """Replace the window's stored rows by the ones added, and its state by ``state``, atomically."""

    @abstractmethod
    def abort(self) -> None:
        """Drop what was added; the window's stored rows and state stay as they were."""


class Destination(ABC):
    """A store of ``delivery`` rows, each vendor's raw rows, and the ``adops_windows`` state beside them."""

    @abstractmethod
    def windows(self) -> list[WindowState]:
        """Every stored window state."""

    @abstractmethod
    def begin(self, window: Window, source: Source) -> WindowLoad:
        """Start loading ``window`` (of ``source``'s vendor)."""

    @abstractmethod
    def record_pending(self, windows: list[Window]) -> None:
        """Give each of ``windows`` that has no state yet the state ``pending``: a run killed before it reaches
        them leaves them known, so the next run (and ``verify``) sees them as incomplete, not as outside the span."""

    @abstractmethod
    def record_failure(self, state: WindowState) -> None:
        """Note a window that could not be pulled whole: ``state`` (status ``failed``) replaces a failed or missing
        state; a complete one keeps its status and rows, and takes ``error``, ``attempts`` and ``attempted_at``."""

    @abstractmethod
    def delivery_counts(self) -> Mapping[tuple[str, date], int]:
        """Stored ``delivery`` rows per (vendor, day)."""

    @abstractmethod
    def raw_rows(self, vendor: str, window: Window, columns: tuple[str, ...]) -> Iterator[dict[str, str | None]]:
        """The stored raw rows of ``window``, in report order, as the checksum serializes them (the declared
        ``columns`` and the ``adops_extra`` ones)."""

    @abstractmethod
    def close(self) -> None:
        """Let go of the files."""


def open_destination(path: str | Path, sources: Mapping[str, Source]) -> Destination:
    """A ``.duckdb`` path is a DuckDB file (extra ``adops-async[duckdb]``); any other path is a Parquet directory
    (extra ``adops-async[parquet]``). ``sources``: the vendors whose raw tables it holds."""
    target = Path(path)
    if target.suffix == ".duckdb":
        require("duckdb", "duckdb")
        require("pyarrow", "duckdb")
        from ._duckdb import DuckDBDestination

        return DuckDBDestination(target, sources)
    if target.suffix in (".csv", ".jsonl", ".json", ".parquet", ".db", ".sqlite"):
        raise ValueError(f"{target}: a sync lands in a .duckdb file or a directory (a Parquet tree)")
    require("pyarrow", "parquet")
    from ._parquet import ParquetDestination

    return ParquetDestination(target, sources)


def require(module: str, extra: str) -> Any:
    """Import ``module``, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"this needs {module}: pip install 'adops-async[{extra}]'") from None
