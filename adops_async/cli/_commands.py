"""What each ``adops`` command does."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio

from ..core.client import BaseClient
from ..core.models import VendorModel
from ..sandbox import serve
from ._vendors import VENDORS, VendorSpec, load_config


def _pairs(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"expected name=value, got {item!r}")
        pairs[name] = value
    return pairs


@asynccontextmanager
async def _client(args: argparse.Namespace, spec: VendorSpec) -> AsyncIterator[BaseClient]:
    """The vendor client the command asked for: real credentials, or the built-in sandbox with ``--sandbox``."""
    with ExitStack() as stack:
        if args.sandbox:
            app = spec.make_sandbox(1.0)
            url = stack.enter_context(serve(app))
            settings = spec.sandbox_settings(app, url)
        else:
            settings = spec.settings(load_config(args.config).get(spec.name, {}))
        async with spec.client(**settings) as client:
            yield client


def _resource(client: BaseClient, name: str) -> Any:
    resource = getattr(client, name.replace("-", "_"), None)
    if resource is None and hasattr(client, "resource"):
        resource = client.resource(name)
    if resource is None:
        raise ValueError(f"{client.vendor} has no resource {name!r}")
    return resource


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
    async with _client(args, spec) as client:
        paginator = _resource(client, args.resource).list(**_pairs(args.filters))
        count = 0
        with _output(args.output) as out:
            writer: csv.DictWriter[str] | None = None
            async for item in paginator:
                record = _record(item)
                if args.format == "jsonl":
                    out.write(json.dumps(record, default=str) + "\n")
                else:
                    if writer is None:
                        writer = csv.DictWriter(out, fieldnames=list(record), extrasaction="ignore")
                        writer.writeheader()
                    writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in record.items()})
                count += 1
                if args.limit is not None and count >= args.limit:
                    break
    print(f"{count} {args.resource} from {args.vendor}", file=sys.stderr)
    return 0


async def run_get(args: argparse.Namespace) -> int:
    spec = VENDORS[args.vendor]
    async with _client(args, spec) as client:
        item = await _resource(client, args.resource).get(args.id)
    print(json.dumps(_record(item), default=str, indent=2))
    return 0


async def run_report(args: argparse.Namespace) -> int:
    spec = VENDORS[args.vendor]
    if spec.run_report is None:
        raise ValueError(f"{spec.name} has no report workflow in this library")
    async with _client(args, spec) as client:
        options = {**spec.demo_report, **_pairs(args.options)}
        job = await spec.run_report(client, options)
        rows = await job.save(Path(args.output), format=args.format, progress=_ProgressLine(args.vendor))
    print(f"\n{rows} rows written to {args.output}", file=sys.stderr)
    return 0


class _ProgressLine:
    """A one-line progress display on standard error."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, progress: Any) -> None:
        print(f"\r{self.label}: {progress.state} {progress.rows:,} rows", end="", file=sys.stderr, flush=True)


def run_sandbox(args: argparse.Namespace) -> int:
    names = args.vendors or sorted(VENDORS)
    unknown = [n for n in names if n not in VENDORS]
    if unknown:
        raise ValueError(f"unknown vendor(s): {', '.join(unknown)}; choose from {', '.join(sorted(VENDORS))}")
    with ExitStack() as stack:
        for offset, name in enumerate(names):
            url = stack.enter_context(serve(VENDORS[name].make_sandbox(args.speed), port=args.port + offset))
            print(f"{name:<10} {url}   {VENDORS[name].sandbox_hint}")
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
        apps = {name: spec.make_sandbox(args.speed) for name, spec in VENDORS.items()}
        urls = {name: stack.enter_context(serve(app)) for name, app in apps.items()}
        status: int = anyio.run(demo, apps, urls, args.speed)
        return status
