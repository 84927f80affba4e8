"""What each ``adops`` command does."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio

from ..core.client import BaseClient
from ..core.errors import NotFound
from ..core.models import VendorModel
from ..core.reports import Progress
from ..sandbox import serve
from ..vendors import VendorSpec
from ._status import Status
from ._vendors import VENDORS, UsageError, load_config, parse_option, resource, settings, shape, unknown


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"expected name=value, got {item!r}")
        pairs[name] = value
    return pairs


@asynccontextmanager
async def _client(args: argparse.Namespace, spec: VendorSpec) -> AsyncIterator[BaseClient]:
    """The vendor client the command asked for: real credentials, or the built-in sandbox with ``--sandbox``."""
    with ExitStack() as stack:
        if args.sandbox:
            app = spec.sandbox.build(args.speed)
            url = stack.enter_context(serve(app))
            arguments = spec.sandbox.settings(app, url)
        else:
            arguments = settings(spec, load_config(args.config).get(spec.name, {}))
        async with spec.client(**arguments) as client:
            yield client


def _record(item: Any) -> dict[str, Any]:
    if isinstance(item, VendorModel):
        return item.to_payload()
    return dict(item)


@contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
    else:
        with open(path, "w", newline="", encoding="utf-8") as out:
            yield out


async def run_list(args: argparse.Namespace) -> int:
    spec = VENDORS[args.vendor]
    found = resource(spec, args.resource)
    if found.list is None:
        raise UsageError(
            f"{spec.name} {args.resource} cannot be listed, only got: adops get {spec.name} {args.resource} ID"
        )
    filters = _pairs(args.filters)
    count = 0
    status = Status()
    status.progress = lambda: f"{spec.name}: {count:,} {args.resource}"
    async with _client(args, spec) as client:
        status.watch(spec.name, client)
        async with status.shown():
            with _output(args.output) as out:
                writer: csv.DictWriter[str] | None = None
                async for item in found.list(client, filters):
                    record = _record(item)
                    if args.format == "jsonl":
                        out.write(json.dumps(record, default=str) + "\n")
                    else:
                        if writer is None:
                            writer = csv.DictWriter(out, fieldnames=list(record), extrasaction="ignore")
                            writer.writeheader()
                        writer.writerow(
                            {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in record.items()}
                        )
                    count += 1
                    if args.limit is not None and count >= args.limit:
                        break
    print(f"{count:,} {args.resource} from {args.vendor}", file=sys.stderr)
    return 0


async def run_get(args: argparse.Namespace) -> int:
    spec = VENDORS[args.vendor]
    found = resource(spec, args.resource)
    if found.get is None:
        raise UsageError(
            f"{spec.name} {args.resource} cannot be got by id, only listed: adops list {spec.name} {args.resource}"
        )
    status = Status()
    async with _client(args, spec) as client:
        status.watch(spec.name, client)
        async with status.shown():
            try:
                item = await found.get(client, args.id)
            except NotFound:
                # The vendor's own words ("200 SYNTAX: resource not found") mean nothing to most users.
                print(f"error: {spec.name} has no {args.resource} with id {args.id}", file=sys.stderr)
                return 1
    print(json.dumps(_record(item), default=str, indent=2))
    return 0


def report_options(spec: VendorSpec, given: Mapping[str, str], *, sandbox: bool) -> dict[str, Any]:
    """The report options of the command line, parsed; with ``--sandbox`` the sandbox's example fills the gaps."""
    assert spec.report is not None  # the parser offers only vendors with a report workflow
    known = spec.report.options
    options = {}
    for name, text in given.items():
        option = known.get(name)
        if option is None:
            raise unknown(f"{spec.name} report option", name, known)
        options[name] = parse_option(name, option, text)
    if sandbox:
        return {**spec.sandbox.report_example, **options}
    missing = [name for name, option in known.items() if option.required and name not in options]
    if missing:
        needed = " ".join(f"{name}={shape(known[name])}" for name in missing)
        raise UsageError(f"{spec.name} reports need {needed} (adops report --help lists every option)")
    return options


async def run_report(args: argparse.Namespace) -> int:
    spec = VENDORS[args.vendor]
    assert spec.report is not None  # the parser offers only vendors with a report workflow
    given = _pairs(args.options)
    options = report_options(spec, given, sandbox=args.sandbox)
    defaults = {name: value for name, value in options.items() if name not in given}
    if defaults:
        shown = " ".join(f"{name}={','.join(v) if isinstance(v, list) else v}" for name, v in defaults.items())
        print(f"report options not given, from the sandbox's example: {shown}", file=sys.stderr)
    rows = 0
    status = Status()

    def saved(progress: Progress) -> None:
        nonlocal rows
        rows = progress.rows

    async with _client(args, spec) as client:
        status.watch(spec.name, client)
        async with status.shown():
            status.phase(f"{spec.name}: waiting for the report to be ready")
            job = await spec.report.run(client, options)
            status.phase("")
            status.progress = lambda: f"{spec.name}: downloading the report, {rows:,} rows saved"
            rows = await job.save(Path(args.output), format=args.format, progress=saved)
    print(f"{rows:,} rows written to {args.output}", file=sys.stderr)
    return 0


def run_sandbox(args: argparse.Namespace) -> int:
    names = args.vendors or sorted(VENDORS)
    for name in names:
        if name not in VENDORS:
            raise unknown("vendor", name, VENDORS)
    with ExitStack() as stack:
        for offset, name in enumerate(names):
            port = args.port + offset if args.port else 0  # --port 0: a free port each
            url = stack.enter_context(serve(VENDORS[name].sandbox.build(args.speed), port=port))
            print(f"{name:<10} {url}   {VENDORS[name].sandbox.hint}")
        print("serving; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from ._demo import demo

    with ExitStack() as stack:
        apps = {name: spec.sandbox.build(args.speed) for name, spec in VENDORS.items()}
        urls = {name: stack.enter_context(serve(app)) for name, app in apps.items()}
        status: int = anyio.run(demo, apps, urls, args.speed)
        return status
