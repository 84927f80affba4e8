"""What the command line adds to the vendor registry (:data:`adops_async.vendors.VENDORS`): credentials from the
environment and ``--config``, resource lookup, report option parsing, and the help texts."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ..vendors import VENDORS, ReportOption, ResourceSpec, VendorSpec

__all__ = [
    "ENV_HELP",
    "VENDORS",
    "UsageError",
    "credentials_help",
    "env",
    "load_config",
    "parse_option",
    "report_options_help",
    "resource",
    "resources_help",
    "settings",
    "shape",
    "unknown",
]


class UsageError(ValueError):
    """The command line or its config asked for something that does not exist or is incomplete (exit status 2)."""


def unknown(what: str, name: str, valid: Collection[str]) -> UsageError:
    """An error for ``name`` that is not one of ``valid``, naming the nearest valid names."""
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return UsageError(f"unknown {what} {name!r}{hint} (valid: {', '.join(sorted(valid))})")


def env(spec: VendorSpec) -> dict[str, str]:
    """Client argument -> environment variable (``ADOPS_<VENDOR>_<ARGUMENT>``): every argument of a login, and
    ``base_url``. These are also the keys the vendor's ``--config`` table may hold."""
    names = dict.fromkeys([*(name for login in spec.credentials for name in login), "base_url"])
    return {name: f"ADOPS_{spec.name.upper()}_{name.upper()}" for name in names}


def resource(spec: VendorSpec, name: str) -> ResourceSpec:
    """The resource called ``name`` (``line-items`` and ``line_items`` alike), or a usage error."""
    found = spec.resources.get(name.replace("-", "_"))
    if found is None:
        raise unknown(f"{spec.name} resource", name, spec.resources)
    return found


def settings(spec: VendorSpec, config: Mapping[str, Any]) -> dict[str, Any]:
    """Client arguments from ``config`` (a table of the config file), then the environment."""
    variables = env(spec)
    found = {name: config[name] for name in variables if name in config}
    for name, variable in variables.items():
        if name not in found and os.environ.get(variable):
            found[name] = os.environ[variable]
    if any(all(name in found for name in login) for login in spec.credentials):
        return found
    given = [name for login in spec.credentials for name in login if name in found]
    if given:
        # The alternative closest to complete is the one the user meant.
        login = max(spec.credentials, key=lambda names: sum(name in found for name in names))
        missing = [name for name in login if name not in found]
        have = ", ".join(variables[name] for name in login if name in found)
        raise UsageError(
            f"incomplete {spec.name} credentials: {have} given, "
            f"{' and '.join(variables[name] for name in missing)} missing "
            f"(or {' and '.join(missing)} in the {spec.name} table of --config)"
        )
    raise UsageError(f"no {spec.name} credentials: set {credentials_help(spec)}; or use --config FILE or --sandbox")


def credentials_help(spec: VendorSpec) -> str:
    variables = env(spec)
    return ", or ".join(" and ".join(variables[name] for name in login) for login in spec.credentials)


def parse_option(name: str, option: ReportOption, text: str) -> Any:
    """The value of report option ``name`` given as ``text`` on the command line."""
    if option.kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()]
    if option.kind == "bool":
        if text.lower() in ("1", "true", "yes"):
            return True
        if text.lower() in ("0", "false", "no"):
            return False
        raise UsageError(f"report option {name}: expected true or false, got {text!r}")
    if option.kind == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise UsageError(f"report option {name}: expected JSON ({exc}), got {text!r}") from None
    return text


def shape(option: ReportOption) -> str:
    """How the value of a report option is written: ``TEXT``, ``A,B,...``, ``JSON`` or ``true|false``."""
    return {"text": "TEXT", "list": "A,B,...", "json": "JSON", "bool": "true|false"}[option.kind]


def load_config(path: str | None) -> dict[str, Any]:
    """The ``--config`` file: JSON, or TOML on Python >= 3.11; one table per vendor, checked key by key."""
    if path is None:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    data: Any
    if path.endswith(".toml"):
        if sys.version_info >= (3, 11):
            import tomllib

            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise UsageError(f"{path}: not valid TOML: {exc}") from None
        else:
            raise UsageError(f"{path}: TOML config files need Python 3.11; use JSON")
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected an object with one table per vendor")
    for vendor, table in data.items():
        if vendor not in VENDORS:
            raise UsageError(f"{path}: {unknown('vendor', vendor, VENDORS)}")
        if not isinstance(table, dict):
            raise UsageError(f"{path}: {vendor}: expected a table of settings, got {type(table).__name__}")
        for key in table:
            if key not in env(VENDORS[vendor]):
                raise UsageError(f"{path}: {unknown(f'{vendor} setting', key, env(VENDORS[vendor]))}")
    return data


ENV_HELP = "credentials from the environment (or the same names, lowercase, in a --config table):\n" + "\n".join(
    f"  {spec.name:<10} {credentials_help(spec)}; optional {env(spec)['base_url']}" for spec in VENDORS.values()
)


def resources_help() -> str:
    """Each vendor's resources, for ``adops list --help`` and ``adops get --help``."""
    lines = ["resources (line_items or line-items alike):"]
    for spec in VENDORS.values():
        rows: list[list[str]] = [[]]
        for name, resource in spec.resources.items():
            item = f"{name} ({resource.note})" if resource.note else name
            if rows[-1] and len(", ".join([*rows[-1], item])) > 100:  # wrap between names, never inside one
                rows.append([])
            rows[-1].append(item)
        text = (",\n" + " " * 13).join(", ".join(row) for row in rows)
        lines.append(f"  {spec.name:<10} {text}")
    return "\n".join(lines)


def report_options_help() -> str:
    """Each vendor's report options, for ``adops report --help``."""
    lines = ["report options (name=value; * = required, except with --sandbox):"]
    reports = {spec.name: spec.report for spec in VENDORS.values() if spec.report is not None}
    width = max(
        len(f"{name}={shape(option)}") for report in reports.values() for name, option in report.options.items()
    )
    for vendor, report in reports.items():
        lines.append(f"  {vendor}")
        for name, option in report.options.items():
            mark = "*" if option.required else " "
            lines.append(f"   {mark}{f'{name}={shape(option)}':<{width}}  {option.help}")
    return "\n".join(lines)
