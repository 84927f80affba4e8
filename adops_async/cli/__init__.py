"""``adops``: the command line. ``adops demo`` runs the whole library against the built-in sandboxes, offline.

Commands::

    adops demo [--speed 60]
    adops list VENDOR RESOURCE [name=value ...] [--format jsonl|csv] [-o FILE] [--limit N] [--sandbox]
    adops get VENDOR RESOURCE ID [--sandbox]
    adops report VENDOR [name=value ...] -o FILE [--format csv|jsonl] [--sandbox]
    adops sandbox serve [VENDOR ...] [--port 8000] [--speed 1]

Credentials come from environment variables (``adops --help`` lists them) or ``--config FILE`` (JSON, or TOML on
Python >= 3.11), one table per vendor. Errors print one line (vendor, status, code, message) and exit with 1;
bad arguments exit with 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from ..core.errors import AdOpsError
from ._commands import run_demo, run_get, run_list, run_report, run_sandbox
from ._vendors import ENV_HELP, VENDORS

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adops",
        description="Async ad-ops client for Ooyala Pulse, AppNexus, PulsePro and Adnuntius.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="JSON or TOML file with one table of settings per vendor")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="pull from all four built-in sandboxes at once (offline, no credentials)")
    demo.add_argument("--speed", type=float, default=60.0, help="sandbox time compression (default: a minute a second)")

    def vendor_command(name: str, help: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help)
        command.add_argument("vendor", choices=sorted(VENDORS))
        command.add_argument("--sandbox", action="store_true", help="run against the built-in sandbox")
        return command

    listing = vendor_command("list", "list a resource (name=value filters)")
    listing.add_argument("resource")
    listing.add_argument("filters", nargs="*", metavar="name=value")
    listing.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    listing.add_argument("-o", "--output", help="file to write (default: standard output)")
    listing.add_argument("--limit", type=int)

    get = vendor_command("get", "get one object by id")
    get.add_argument("resource")
    get.add_argument("id")

    report = vendor_command("report", "run a report and save it (name=value report options)")
    report.add_argument("options", nargs="*", metavar="name=value")
    report.add_argument("-o", "--output", required=True)
    report.add_argument("--format", choices=("csv", "jsonl"), default="csv")

    sandbox = commands.add_parser("sandbox", help="serve the built-in sandboxes on 127.0.0.1")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="serve")
    serve = sandbox_commands.add_parser("serve", help="serve sandboxes until interrupted")
    vendors = ", ".join(sorted(VENDORS))
    serve.add_argument("vendors", nargs="*", metavar="VENDOR", help=f"any of {vendors} (default: all)")
    serve.add_argument("--port", type=int, default=8000, help="first port; one port per vendor")
    serve.add_argument("--speed", type=float, default=1.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``adops`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            return run_demo(args)
        if args.command == "sandbox":
            return run_sandbox(args)
        runner = {"list": run_list, "get": run_get, "report": run_report}[args.command]
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
