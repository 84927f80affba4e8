"""``adops sync`` and ``adops verify``: a 30-day backfill killed with ``kill -9`` and run again, as subprocesses (the
issue's acceptance); their usage errors through :func:`adops_async.cli.main` in this process (no Python start each)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from adops_async.cli import main
from adops_async.cli._sync import SANDBOX_ROWS
from adops_async.sandbox._delivery import DeliveryFigures

ROOT = Path(__file__).resolve().parents[2]
START = date(2024, 5, 1)
DAYS = 30  # 90 windows: the run is killed after 20 have landed, and the second run pulls the rest
VENDORS = ("appnexus", "ooyala", "adnuntius")


def command(target: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "adops_async.cli", "sync", "--to", str(target), "--sandbox", *extra]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}  # this tree's code, whatever is installed


def adops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adops_async.cli", *args], capture_output=True, text=True, env=environment(), timeout=120
    )


def figures() -> dict[str, DeliveryFigures]:
    """What the subprocess's sandboxes serve (the same hashes in any process)."""
    return {v: DeliveryFigures(v, rows=SANDBOX_ROWS, currency="NOK" if v == "adnuntius" else "USD") for v in VENDORS}


def test_a_backfill_killed_with_sigkill_and_run_again_holds_every_vendor_day_once(tmp_path: Path) -> None:
    target = tmp_path / "adops.duckdb"
    end = START + timedelta(days=DAYS - 1)
    dates = ["--start", START.isoformat(), "--end", end.isoformat(), "--lookback", "0"]
    speed = ["--speed", "200"]
    run = subprocess.Popen(
        [*command(target, *dates, *speed)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=environment(),
    )
    assert run.stderr is not None
    landed = 0
    for line in run.stderr:  # each finished window is one line
        landed += " rows" in line
        if landed == 20:
            os.kill(run.pid, signal.SIGKILL)
            break
    assert run.wait(timeout=60) == -signal.SIGKILL
    with duckdb.connect(str(target), read_only=True) as db:
        complete = db.sql("SELECT count(*) FROM adops_windows WHERE status = 'complete'").fetchall()[0][0]
        assert db.sql("SELECT count(*) FROM adops_windows").fetchall() == [(DAYS * 3,)]  # the rest: pending
    assert 20 <= complete < DAYS * 3
    assert adops("verify", "--to", str(target)).returncode == 1  # pending windows are gaps

    again = subprocess.run(
        command(target, "--end", end.isoformat(), "--lookback", "0", *speed),
        capture_output=True,
        text=True,
        env=environment(),
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert again.stderr.count(" rows") == DAYS * 3 - complete  # resumed: the complete windows were not pulled again

    served = figures()
    expected = {
        (v, START + timedelta(days=n)): served[v].count(START + timedelta(days=n)) for v in VENDORS for n in range(DAYS)
    }
    with duckdb.connect(str(target), read_only=True) as db:
        found = {(v, d): c for v, d, c in db.sql("SELECT vendor, day, count(*) FROM delivery GROUP BY ALL").fetchall()}
        duplicates = db.sql(
            "SELECT count(*) FROM (SELECT vendor, day, coalesce(line_item_id, creative_id) FROM delivery "
            "GROUP BY ALL HAVING count(*) > 1)"
        ).fetchall()
        impressions = db.sql("SELECT vendor, day, sum(impressions) FROM delivery GROUP BY ALL").fetchall()
        states = db.sql("SELECT status, count(*) FROM adops_windows GROUP BY ALL").fetchall()
    assert found == expected  # every (vendor, day) exactly once, with the sandbox's exact row counts: no gap
    assert duplicates == [(0,)]
    assert {(v, d): t for v, d, t in impressions} == {
        (v, d): sum(line.impressions for line in served[v].lines(d)) for v, d in expected
    }
    assert states == [("complete", DAYS * 3)]
    checked = adops("verify", "--to", str(target))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``adops *args`` through main() in this process: its exit status and standard error."""
    try:
        code = main(list(args))
    except SystemExit as exit:  # argparse's own errors
        code = int(exit.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def test_sync_lists_failed_windows_and_exits_non_zero_and_verify_needs_a_destination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = in_process(
        capsys, "sync", "--to", str(tmp_path / "x.duckdb"), "--sandbox", "--start", "2024-05-03", "--end", "2024-05-01"
    )
    assert code == 2
    assert "after end" in err
    code, err = in_process(capsys, "verify", "--to", str(tmp_path / "none.duckdb"))
    assert code == 2
    assert "nothing there" in err
