"""The ``adops`` command through its installed entry point, in subprocesses (synchronous by nature)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adops_async import PulsePro, TransportError
from adops_async.cli import _status, main
from adops_async.cli._status import Status
from adops_async.cli._vendors import VENDORS
from adops_async.sandbox import Fault, serve
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox


def adops(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = shutil.which("adops")
    base = [command] if command else [sys.executable, "-m", "adops_async.cli"]
    done = subprocess.run([*base, *args], capture_output=True, timeout=timeout, env={**os.environ, **(env or {})})
    # Decoded by hand: text=True would turn each "\r" into "\n" and hide a redrawn progress line.
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


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
    assert "\r" not in result.stderr  # standard error is a pipe here: plain lines, no redrawn progress


def test_list_get_and_report_against_the_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = adops("list", "appnexus", "line_items", "--sandbox", "--limit", "5")  # the installed command
    assert listed.returncode == 0, listed.stderr
    items = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(items) == 5
    # The rest through main() in this process: the same code past the entry point, without a Python start each.
    code, out, err = run(capsys, "get", "appnexus", "line_items", str(items[0]["id"]), "--sandbox")
    assert code == 0, err
    assert json.loads(out)["id"] == items[0]["id"]
    report = tmp_path / "goals.csv"
    code, _, err = run(capsys, "report", "ooyala", "--sandbox", "--speed", "60", "-o", str(report))
    assert code == 0, err
    lines = report.read_text().splitlines()
    assert len(lines) > 1
    code, out, err = run(capsys, "list", "pulsepro", "inspections", "--sandbox", "--limit", "3", "--format", "csv")
    assert code == 0, err
    assert len(out.splitlines()) == 4  # header + 3


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


def test_bad_arguments_exit_2_with_a_reason(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown_vendor = adops("list", "nosuchvendor", "things")  # the installed command's own exit status
    assert unknown_vendor.returncode == 2
    assert "invalid choice" in unknown_vendor.stderr
    monkeypatch.setenv("ADOPS_APPNEXUS_USERNAME", "")
    monkeypatch.setenv("ADOPS_APPNEXUS_PASSWORD", "")
    code, _, err = run(capsys, "list", "appnexus", "line_items")
    assert code == 2
    assert "ADOPS_APPNEXUS_USERNAME" in err
    code, _, err = run(capsys, "list", "appnexus", "line_items", "notapair", "--sandbox")
    assert code == 2
    assert "expected name=value" in err


# -- in process: main() with its arguments, standard streams captured (not a terminal) ------------------------------


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [name for name in os.environ if name.startswith("ADOPS_")]:
        monkeypatch.delenv(variable)


@pytest.fixture
def quick_status(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waits show after 0.1 s instead of a second, so a short sandbox wait is long enough to be shown."""
    monkeypatch.setattr(_status, "SHOW_AFTER", 0.1)
    monkeypatch.setattr(_status, "TICK", 0.02)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit:  # argparse's own errors and --help
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_a_list_report_option_is_split_on_commas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.csv"
    code, _, err = run(capsys, "report", "appnexus", "--sandbox", "--speed", "60", "-o", str(out), "columns=day,imps")
    assert code == 0, err
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["day", "imps"]
    assert len(rows) == 20_000


def test_name_value_arguments_and_config_may_follow_any_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_credentials: None
) -> None:
    code, out, err = run(capsys, "list", "appnexus", "line_items", "--sandbox", "--limit", "2", "advertiser_id=1")
    assert code == 0, err
    assert [json.loads(line)["advertiser_id"] for line in out.splitlines()] == [1, 1]
    sandbox = AppNexusSandbox()
    sandbox.seed_line_items(3)
    config = tmp_path / "adops.json"
    with serve(sandbox) as url:
        config.write_text(json.dumps({"appnexus": {"username": "api-user", "password": "secret", "base_url": url}}))
        code, out, err = run(capsys, "list", "appnexus", "line_items", "--config", str(config), "state=active")
    assert code == 0, err
    assert len(out.splitlines()) == 3
    assert err.splitlines()[-1] == "3 line_items from appnexus"
    code, _, err = run(capsys, "list", "appnexus", "line_items", "--sandbox", "--limit", "2", "--bogus")
    assert code == 2
    assert "unrecognized arguments: --bogus" in err


def test_partial_or_missing_credentials_name_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_credentials: None
) -> None:
    monkeypatch.setenv("ADOPS_APPNEXUS_USERNAME", "u")
    code, _, err = run(capsys, "list", "appnexus", "line_items")
    assert code == 2
    assert err.splitlines() == [
        "error: incomplete appnexus credentials: ADOPS_APPNEXUS_USERNAME given, ADOPS_APPNEXUS_PASSWORD missing "
        "(or password in the appnexus table of --config)"
    ]
    monkeypatch.setenv("ADOPS_PULSEPRO_BASE_URL", "http://127.0.0.1:9")
    code, _, err = run(capsys, "list", "pulsepro", "inspections")
    assert code == 2
    assert err.splitlines() == [
        "error: no pulsepro credentials: set ADOPS_PULSEPRO_API_KEY; or use --config FILE or --sandbox"
    ]
    code, _, err = run(capsys, "list", "adnuntius", "line_items")
    assert code == 2
    assert (
        "ADOPS_ADNUNTIUS_USERNAME and ADOPS_ADNUNTIUS_PASSWORD and ADOPS_ADNUNTIUS_CONTEXT, "
        "or ADOPS_ADNUNTIUS_API_KEY and ADOPS_ADNUNTIUS_CONTEXT"
    ) in err
    assert "BASE_URL" not in err  # optional: not listed as if it were required
    monkeypatch.setenv("ADOPS_ADNUNTIUS_USERNAME", "u")
    monkeypatch.setenv("ADOPS_ADNUNTIUS_PASSWORD", "p")
    code, _, err = run(capsys, "list", "adnuntius", "line_items")
    assert code == 2
    assert err.splitlines() == [
        "error: incomplete adnuntius credentials: ADOPS_ADNUNTIUS_USERNAME, ADOPS_ADNUNTIUS_PASSWORD given, "
        "ADOPS_ADNUNTIUS_CONTEXT missing (or context in the adnuntius table of --config)"
    ]


@pytest.mark.parametrize("vendor", ["appnexus", "adnuntius", "ooyala", "pulsepro"])
def test_an_unknown_resource_is_one_error_naming_the_nearest(vendor: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", vendor, "foobar", "--sandbox")
    assert (code, out) == (2, "")
    assert err.startswith(f"error: unknown {vendor} resource 'foobar' (valid: ")
    near = {"appnexus": "line_item", "adnuntius": "line_item", "ooyala": "campaign", "pulsepro": "inspection"}[vendor]
    code, _, err = run(capsys, "get", vendor, near, "1", "--sandbox")
    assert code == 2
    assert f"error: unknown {vendor} resource {near!r}; did you mean {near}s?" in err


def test_a_missing_id_says_so_in_plain_words(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "get", "appnexus", "line-items", "999999", "--sandbox")
    assert (code, out) == (1, "")
    assert err.splitlines() == ["error: appnexus has no line-items with id 999999"]


def test_ooyala_goals_are_listed_per_campaign_and_help_says_how(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "list", "ooyala", "goals", "--sandbox")
    assert code == 2
    assert "adops list ooyala goals campaign_id=ID" in err
    campaign = "00000000-0000-4000-8000-000000000003"
    code, out, err = run(capsys, "list", "ooyala", "goals", "--sandbox", f"campaign_id={campaign}")
    assert code == 0, err
    assert [json.loads(line)["campaignId"] for line in out.splitlines()] == [campaign] * 5
    code, out, _ = run(capsys, "list", "--help")
    assert code == 0
    assert "goals (list: campaign_id=ID)" in out
    for spec in VENDORS.values():
        assert all(name in out for name in spec.resources)


def test_report_help_lists_each_vendors_options_and_pulsepro_is_not_offered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "report", "--help")
    assert code == 0
    assert "*columns=A,B,..." in out
    assert "*definition_id=TEXT" in out
    assert "*start=TEXT" in out
    code, _, err = run(capsys, "report", "pulsepro", "-o", str(tmp_path / "x.csv"))
    assert code == 2
    assert "invalid choice: 'pulsepro'" in err


def test_report_options_are_checked_and_demo_defaults_stay_in_the_sandbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_credentials: None
) -> None:
    monkeypatch.setenv("ADOPS_APPNEXUS_USERNAME", "u")
    monkeypatch.setenv("ADOPS_APPNEXUS_PASSWORD", "p")
    monkeypatch.setenv("ADOPS_APPNEXUS_BASE_URL", "http://127.0.0.1:9")  # never reached: the options are wrong
    out = str(tmp_path / "x.csv")
    code, _, err = run(capsys, "report", "appnexus", "-o", out)
    assert code == 2
    assert err.splitlines() == [
        "error: appnexus reports need report_type=TEXT columns=A,B,... (adops report --help lists every option)"
    ]
    code, _, err = run(capsys, "report", "appnexus", "-o", out, "report_type=network_analytics", "colums=day")
    assert code == 2
    assert "unknown appnexus report option 'colums'; did you mean columns?" in err
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"appnexus": {"usernme": "u"}}', "unknown appnexus setting 'usernme'; did you mean username?"),
        ('{"apnexus": {}}', "unknown vendor 'apnexus'; did you mean appnexus?"),
        ('{"appnexus": {"username": "u",}', "not valid JSON"),
    ],
)
def test_a_config_file_is_checked_and_its_errors_name_it(
    content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], no_credentials: None
) -> None:
    config = tmp_path / "adops.json"
    config.write_text(content)
    code, _, err = run(capsys, "--config", str(config), "list", "appnexus", "line_items")
    assert code == 2
    assert err.startswith(f"error: {config}: ")
    assert message in err


def test_a_report_wait_is_shown_without_carriage_returns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], quick_status: None
) -> None:
    out = tmp_path / "report.csv"
    # Speed 10: the sandbox's 5 vendor seconds of report production last half a real second.
    code, _, err = run(capsys, "report", "appnexus", "--sandbox", "--speed", "10", "-o", str(out))
    assert code == 0, err
    assert "\r" not in err
    assert "appnexus: waiting for the report to be ready for " in err
    assert err.splitlines()[-1] == f"20,000 rows written to {out}"


def test_a_cooldown_after_a_429_is_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], quick_status: None, no_credentials: None
) -> None:
    sandbox = PulseProSandbox(inspections=5)
    sandbox.inject(Fault("status", status=429, headers={"Retry-After": "1"}, path="/inspections"))
    with serve(sandbox) as url:
        monkeypatch.setenv("ADOPS_PULSEPRO_API_KEY", "test-key")
        monkeypatch.setenv("ADOPS_PULSEPRO_BASE_URL", f"{url}/api/v1")
        code, out, err = run(capsys, "list", "pulsepro", "inspections")
    assert code == 0, err
    assert len(out.splitlines()) == 5
    assert "\r" not in err
    assert "pulsepro: cooling down after a 429, " in err
    assert sandbox.violations == []


def test_sandbox_serve_on_port_0_picks_free_ports() -> None:
    command = shutil.which("adops")
    base = [command] if command else [sys.executable, "-m", "adops_async.cli"]
    server = subprocess.Popen(
        [*base, "sandbox", "serve", "appnexus", "ooyala", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(2)]
    finally:
        server.terminate()
        server.wait(10)
    ports = [int(line.split()[1].rsplit(":", 1)[1]) for line in lines]
    assert [line.split()[0] for line in lines] == ["appnexus", "ooyala"]
    assert all(port > 1024 for port in ports)
    assert ports[0] != ports[1]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_retry_backoff_is_a_wait_on_the_line_and_a_terminal_gets_it_redrawn(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_status, "TICK", 3600.0)  # one tick at the start; the test steps the line itself
    terminal = Terminal()
    status = Status(terminal)
    assert status.live
    async with PulsePro(api_key="k", base_url="http://127.0.0.1:9") as client:
        status.watch("pulsepro", client)
        status.progress = lambda: "pulsepro: 40 inspections"
        async with status.shown():
            # What the pipeline logs before it sleeps (core/client.py), heard through the logger.
            error = TransportError("ConnectError: refused", vendor="pulsepro")
            logging.getLogger("adops_async.http").info("retrying in %.3f s after %s", 4.0, error)
            start = time.monotonic()
            for step in (0.0, 0.4, 0.8):
                assert status.line(start + step) == "pulsepro: 40 inspections"  # a wait shows once it lasts 1 s
            assert status.line(start + 1.2) == (
                "pulsepro: 40 inspections | pulsepro: retrying in 3 s after ConnectError: refused"
            )
            status._tick(start + 1.2)
    drawn = terminal.getvalue()
    assert drawn.startswith("\r")
    assert "\x1b[K" in drawn
    assert drawn.endswith("\r\x1b[K")  # the live line is cleared before the command's last words
