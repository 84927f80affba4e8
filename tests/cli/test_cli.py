"""The ``adops`` command through its installed entry point, in subprocesses (synchronous by nature)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from adops_async.sandbox import serve
from adops_async.sandbox.pulsepro import PulseProSandbox


def adops(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = shutil.which("adops")
    base = [command] if command else [sys.executable, "-m", "adops_async.cli"]
    return subprocess.run(
        [*base, *args], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def test_demo_runs_all_four_vendors_without_a_violation() -> None:
    result = adops("demo", "--speed", "120")
    assert result.returncode == 0, result.stderr + result.stdout
    table = result.stdout.splitlines()
    assert table[0].split()[:2] == ["vendor", "entities"]
    assert table[0].split()[-1] == "violations"
    rows = {line.split()[0]: line.split() for line in table[1:5]}
    assert set(rows) == {"appnexus", "adnuntius", "ooyala", "pulsepro"}
    assert all(row[-1] == "0" for row in rows.values())
    assert rows["appnexus"][1] == "12,000"
    assert "rule violations recorded by the sandboxes: 0" in result.stdout


def test_list_get_and_report_against_the_sandbox(tmp_path: Path) -> None:
    listed = adops("list", "appnexus", "line_items", "--sandbox", "--limit", "5")
    assert listed.returncode == 0, listed.stderr
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(items) == 5
    got = adops("get", "appnexus", "line_items", str(items[0]["id"]), "--sandbox")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["id"] == items[0]["id"]
    out = tmp_path / "goals.csv"
    report = adops("report", "ooyala", "--sandbox", "-o", str(out))
    assert report.returncode == 0, report.stderr
    lines = out.read_text().splitlines()
    assert len(lines) > 1
    as_csv = adops("list", "pulsepro", "inspections", "--sandbox", "--limit", "3", "--format", "csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert len(as_csv.stdout.splitlines()) == 4  # header + 3


def test_a_bad_credential_prints_one_clear_line_and_exits_1() -> None:
    with serve(PulseProSandbox(inspections=10)) as url:
        result = adops(
            "list",
            "pulsepro",
            "inspections",
            env={"ADOPS_PULSEPRO_API_KEY": "wrong-key-123", "ADOPS_PULSEPRO_BASE_URL": f"{url}/api/v1"},
        )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: pulsepro 401")
    assert "wrong-key-123" not in result.stderr


def test_bad_arguments_exit_2_with_a_reason() -> None:
    unknown_vendor = adops("list", "nosuchvendor", "things")
    assert unknown_vendor.returncode == 2
    assert "invalid choice" in unknown_vendor.stderr
    missing = adops(
        "list", "appnexus", "line_items", env={"ADOPS_APPNEXUS_USERNAME": "", "ADOPS_APPNEXUS_PASSWORD": ""}
    )
    assert missing.returncode == 2
    assert "ADOPS_APPNEXUS_USERNAME" in missing.stderr
    bad_filter = adops("list", "appnexus", "line_items", "notapair", "--sandbox")
    assert bad_filter.returncode == 2
    assert "expected name=value" in bad_filter.stderr
