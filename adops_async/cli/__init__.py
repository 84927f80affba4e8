"""``adops``: the command line. ``adops demo`` runs the whole library against the built-in sandboxes, offline.

Commands::

    adops demo [--speed 60]
    adops list VENDOR RESOURCE [name=value ...] [--format jsonl|csv] [-o FILE] [--limit N] [--sandbox]
    adops get VENDOR RESOURCE ID [--sandbox]
    adops report VENDOR [name=value ...] -o FILE [--format csv|jsonl] [--sandbox]
    adops sync --to PATH [--start YYYY-MM-DD] [--end YYYY-MM-DD] [--lookback DAYS] [--vendor NAME ...] [--sandbox]
    adops verify --to PATH
    adops sandbox serve [VENDOR ...] [--port 8000] [--speed 1]
    adops quota [VENDOR ...] [--redis URL [--prefix P]] [--sandbox] [--watch SECONDS [--count N]]

``adops list --help`` and ``adops report --help`` list each vendor's resources and report options. Credentials come
from environment variables (``adops --help`` lists them) or ``--config FILE`` (JSON, or TOML on Python >= 3.11), one
table per vendor. ``name=value`` arguments and options go in any order. Errors print one line and exit with 1; bad
arguments, unknown names and incomplete credentials exit with 2. Waits longer than a second (a report being
produced, a cooldown after a 429, the quota, a retry) show on standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from ..core.errors import AdOpsError
from ._commands import run_demo, run_get, run_list, run_report, run_sandbox
from ._quota import add_quota_parser, run_quota
from ._sync import SYNC_VENDORS, run_sync, run_verify
from ._vendors import ENV_HELP, VENDORS, report_options_help, resources_help

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adops",
        description="Async ad-ops client for Ooyala Pulse, AppNexus, PulsePro and Adnuntius.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    config_help = "JSON or TOML file with one table of settings per vendor"
    parser.add_argument("--config", help=config_help)
    # Also accepted after the command; SUPPRESS keeps a --config given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=config_help)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", parents=[common], help="pull from all four built-in sandboxes at once (offline, no credentials)"
    )
    demo.add_argument("--speed", type=float, default=60.0, help="sandbox time compression (default: a minute a second)")

    def vendor_command(name: str, help: str, vendors: list[str], epilog: str) -> argparse.ArgumentParser:
        command = commands.add_parser(
            name,
            help=help,
            description=help,
            parents=[common],
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_argument("vendor", choices=vendors)
        command.add_argument("--sandbox", action="store_true", help="run against the built-in sandbox")
        command.add_argument(
            "--speed", type=float, default=1.0, help="with --sandbox: its time compression (default: real time)"
        )
        return command

    everyone = sorted(VENDORS)
    listing = vendor_command("list", "list a resource (name=value filters)", everyone, resources_help())
    listing.add_argument("resource")
    listing.add_argument("filters", nargs="*", metavar="name=value")
    listing.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    listing.add_argument("-o", "--output", help="file to write (default: standard output)")
    listing.add_argument("--limit", type=int)

    get = vendor_command("get", "get one object by id", everyone, resources_help())
    get.add_argument("resource")
    get.add_argument("id")

    with_reports = sorted(name for name, spec in VENDORS.items() if spec.report is not None)
    report = vendor_command(
        "report", "run a report and save it (name=value report options)", with_reports, report_options_help()
    )
    report.add_argument("options", nargs="*", metavar="name=value")
    report.add_argument("-o", "--output", required=True)
    report.add_argument("--format", choices=("csv", "jsonl"), default="csv")

    sync = commands.add_parser(
        "sync",
        parents=[common],
        help="pull each vendor's delivery report, day by day, into DuckDB (PATH.duckdb) or Parquet (a directory)",
        description="Days without a complete window, and the last --lookback days, are pulled again; exit 0 only "
        "when every window is complete. See docs/sync.md.",
    )
    sync.add_argument("--to", required=True, metavar="PATH", help="a .duckdb file, or a directory for Parquet")
    sync.add_argument("--start", help="first day, YYYY-MM-DD (default: the earliest stored window)")
    sync.add_argument("--end", help="last day, YYYY-MM-DD (default: yesterday, UTC)")
    sync.add_argument("--lookback", type=int, default=3, help="days before --end pulled again (default: 3)")
    syncing = f"{', '.join(SYNC_VENDORS[:-1])} or {SYNC_VENDORS[-1]}" if len(SYNC_VENDORS) > 1 else SYNC_VENDORS[0]
    sync.add_argument("--vendor", action="append", metavar="NAME", help=f"{syncing} (repeatable)")
    sync.add_argument("--sandbox", action="store_true", help="pull from the built-in sandboxes (deterministic)")
    sync.add_argument("--speed", type=float, default=100.0, help="with --sandbox: its time compression")
    verify = commands.add_parser(
        "verify", parents=[common], help="re-check a sync destination; exit 1 on any gap or mismatch"
    )
    verify.add_argument("--to", required=True, metavar="PATH")

    sandbox = commands.add_parser("sandbox", help="serve the built-in sandboxes on 127.0.0.1", parents=[common])
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="serve")
    serve = sandbox_commands.add_parser("serve", help="serve sandboxes until interrupted")
    vendors = ", ".join(sorted(VENDORS))
    serve.add_argument("vendors", nargs="*", metavar="VENDOR", help=f"any of {vendors} (default: all)")
    serve.add_argument("--port", type=int, default=8000, help="first port, one per vendor; 0: any free ports")
    serve.add_argument("--speed", type=float, default=1.0)
    add_quota_parser(commands, common)
    return parser


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line; ``name=value`` arguments may come anywhere, after options too.

    argparse hands a positional list only the run of arguments before the first option, so filters and report
    options that come later arrive as unrecognized: they are appended to the command's ``name=value`` list here.
    """
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    pairs = [item for item in extra if "=" in item and not item.startswith("-")]
    rest = [item for item in extra if item not in pairs]
    target = "filters" if args.command == "list" else "options" if args.command == "report" else None
    if pairs and target is not None:
        getattr(args, target).extend(pairs)
    else:
        rest = extra
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``adops`` command; returns the exit status."""
    args = _parse(argv)
    try:
        if args.command == "demo":
            return run_demo(args)
        if args.command == "sandbox":
            return run_sandbox(args)
        if args.command == "verify":
            return run_verify(args)
        runners = {"list": run_list, "get": run_get, "report": run_report, "sync": run_sync, "quota": run_quota}
        runner = runners[args.command]
        status: int = anyio.run(runner, args)
        return status
    except AdOpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
