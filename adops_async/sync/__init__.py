"""Report pulls that land: each vendor's delivery report, day by day, into DuckDB or a Parquet tree.

    async with AdOps(appnexus=an, adnuntius=adn, ooyala=pulse) as ops:
        result = await ops.sync("adops.duckdb", start=date(2024, 1, 1))
    problems = verify("adops.duckdb")        # [] when every stored day is complete and checks out

Needs pyarrow (``adops-async[parquet]``), and duckdb for a ``.duckdb`` destination (``adops-async[duckdb]``).
``docs/sync.md`` describes the tables, the windows, what "complete" means and each vendor's columns.
"""

from __future__ import annotations

try:
    import pyarrow  # type: ignore[import-untyped]  # noqa: F401
except ImportError:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "adops_async.sync needs pyarrow: pip install 'adops-async[duckdb]' or 'adops-async[parquet]'"
    ) from None

from ._dest import Destination, WindowLoad, open_destination
from ._model import DELIVERY_COLUMNS, Window, WindowState
from ._run import Problem, SyncResult, WindowResult, plan, sync, verify
from ._sources import SOURCES, Source

__all__ = [
    "DELIVERY_COLUMNS",
    "SOURCES",
    "Destination",
    "Problem",
    "Source",
    "SyncResult",
    "Window",
    "WindowLoad",
    "WindowResult",
    "WindowState",
    "open_destination",
    "plan",
    "sync",
    "verify",
]
