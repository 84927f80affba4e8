"""Several processes writing one Parquet tree: each stages under a directory of its own, so opening the tree never
destroys a window another process has in progress; what a dead process left staged is cleared by the next open."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from adops_async.sync import SOURCES, Window, WindowLoad, WindowState, verify
from adops_async.sync._batches import Batcher
from adops_async.sync._parquet import ParquetDestination

from .helpers import day

SOURCE = SOURCES["appnexus"]
ROWS = 7


def staged(destination: ParquetDestination, window: Window) -> tuple[WindowLoad, WindowState]:
    """A load of ``window`` with :data:`ROWS` rows added, not committed; and the state its commit should record."""
    batcher = Batcher(SOURCE, window, None)
    for n in range(ROWS):
        batcher.add({"day": window.start.isoformat(), "line_item_id": str(n), "imps": str(10 * n)})
    load = destination.begin(window, SOURCE)
    load.add(*batcher.take())
    checksum = batcher.checksum
    state = WindowState(
        window.vendor, window.start, window.end, "complete", rows=checksum.rows, checksum=checksum.hexdigest()
    )
    return load, state


def test_opening_the_tree_again_leaves_a_window_in_progress_whole(tmp_path: Path) -> None:
    window = Window("appnexus", day(0), day(0) + timedelta(days=1))
    first = ParquetDestination(tmp_path, {"appnexus": SOURCE})
    load, state = staged(first, window)
    second = ParquetDestination(tmp_path, {"appnexus": SOURCE})  # another worker starting on the same tree
    load.commit(state)
    assert first.delivery_counts() == {("appnexus", day(0)): ROWS}
    assert [(s.status, s.rows) for s in second.windows()] == [("complete", ROWS)]
    assert verify(tmp_path) == []
    first.close()
    second.close()
    assert list((tmp_path / ".staging").iterdir()) == []


def test_an_open_clears_what_a_dead_process_of_this_host_left_staged(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    pid = int(dead.stdout)  # exited and reaped: no process has this id now (ids are not reused this quickly)
    host = socket.gethostname()
    left = tmp_path / ".staging" / f"{host}-{pid}-0123abcd"
    elsewhere = tmp_path / ".staging" / f"other-host-{pid}-0123abcd"  # another host's: its pid means nothing here
    alive = tmp_path / ".staging" / f"{host}-{os.getppid()}-0123abcd"
    for folder in (left, elsewhere, alive):
        (folder / "delivery").mkdir(parents=True)
    destination = ParquetDestination(tmp_path, {"appnexus": SOURCE})
    assert not left.exists()
    assert elsewhere.exists()
    assert alive.exists()
    assert destination.staging.parent == tmp_path / ".staging"
    assert destination.staging.name.startswith(f"{host}-{os.getpid()}-")
    destination.close()
    assert not destination.staging.exists()
