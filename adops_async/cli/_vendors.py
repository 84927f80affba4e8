"""What the command line knows of each vendor: its client, credentials, resources, report options, sandbox and demo."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..core.client import BaseClient
from ..core.reports import ReportJob
from ..sandbox import Sandbox

__all__ = [
    "ENV_HELP",
    "VENDORS",
    "ReportOption",
    "ResourceSpec",
    "UsageError",
    "VendorSpec",
    "load_config",
    "unknown",
]


class UsageError(ValueError):
    """The command line or its config asked for something that does not exist or is incomplete (exit status 2)."""


def unknown(what: str, name: str, valid: Collection[str]) -> UsageError:
    """An error for ``name`` that is not one of ``valid``, naming the nearest valid names."""
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return UsageError(f"unknown {what} {name!r}{hint} (valid: {', '.join(sorted(valid))})")


ListCall = Callable[[Any, Mapping[str, str]], AsyncIterable[Any]]
GetCall = Callable[[Any, str], Awaitable[Any]]


@dataclass(frozen=True)
class ResourceSpec:
    """A resource the CLI lists or gets, and how (the client attribute's ``list``/``get``, unless told otherwise)."""

    attribute: str
    list: ListCall | None = None
    get: GetCall | None = None
    note: str = ""
    """Shown in ``--help`` beside the name: what a listing needs, or that it only gets."""

    @classmethod
    def plain(cls, attribute: str, *, listing: bool = True, getting: bool = True, note: str = "") -> ResourceSpec:
        def list_all(client: Any, filters: Mapping[str, str]) -> AsyncIterable[Any]:
            result: AsyncIterable[Any] = getattr(client, attribute).list(**filters)
            return result

        async def get_one(client: Any, id: str) -> Any:
            return await getattr(client, attribute).get(id)

        return cls(attribute, list_all if listing else None, get_one if getting else None, note)


@dataclass(frozen=True)
class ReportOption:
    """One ``name=value`` report option: how its text becomes the value the client takes."""

    kind: Literal["text", "list", "json", "bool"]
    help: str
    required: bool = False

    def parse(self, name: str, text: str) -> Any:
        if self.kind == "list":
            return [part.strip() for part in text.split(",") if part.strip()]
        if self.kind == "bool":
            if text.lower() in ("1", "true", "yes"):
                return True
            if text.lower() in ("0", "false", "no"):
                return False
            raise UsageError(f"report option {name}: expected true or false, got {text!r}")
        if self.kind == "json":
            try:
                return json.loads(text)
            except ValueError as exc:
                raise UsageError(f"report option {name}: expected JSON ({exc}), got {text!r}") from None
        return text

    @property
    def shape(self) -> str:
        return {"text": "TEXT", "list": "A,B,...", "json": "JSON", "bool": "true|false"}[self.kind]


@dataclass(frozen=True)
class VendorSpec:
    """One vendor, as the CLI drives it."""

    name: str
    client_class: str
    """``module:Class`` of the client, imported when needed."""
    env: Mapping[str, str]
    """Client argument -> environment variable (also the keys its ``--config`` table may hold)."""
    credentials: tuple[tuple[str, ...], ...]
    """The client arguments that make a complete login, one tuple per alternative."""
    build_sandbox: Callable[[float], Sandbox]
    sandbox_settings: Callable[[Sandbox, str], dict[str, Any]]
    """Client arguments for a sandbox served at a URL."""
    demo_pull: str
    """What the demo lists (a normalized kind or a resource; see :meth:`adops_async.AdOps.paginate`)."""
    resources: Mapping[str, ResourceSpec]
    run_report: Callable[[Any, Mapping[str, Any]], Awaitable[ReportJob]] | None = None
    report_options: Mapping[str, ReportOption] = field(default_factory=dict)
    demo_report: Mapping[str, Any] = field(default_factory=dict)
    """Report options the demo and ``--sandbox`` use for what the command line does not give."""
    sandbox_hint: str = ""

    @property
    def client(self) -> Callable[..., BaseClient]:
        module, _, name = self.client_class.partition(":")
        __import__(module)
        client_class: Callable[..., BaseClient] = getattr(sys.modules[module], name)
        return client_class

    def make_sandbox(self, speed: float) -> Sandbox:
        return self.build_sandbox(speed)

    def resource(self, name: str) -> ResourceSpec:
        """The resource called ``name`` (``line-items`` and ``line_items`` alike), or a usage error."""
        found = self.resources.get(name.replace("-", "_"))
        if found is None:
            raise unknown(f"{self.name} resource", name, self.resources)
        return found

    def settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Client arguments from ``config`` (a table of the config file), then the environment."""
        settings = {name: config[name] for name in self.env if name in config}
        for name, variable in self.env.items():
            if name not in settings and os.environ.get(variable):
                settings[name] = os.environ[variable]
        if any(all(name in settings for name in login) for login in self.credentials):
            return settings
        given = [name for login in self.credentials for name in login if name in settings]
        if given:
            # The alternative closest to complete is the one the user meant.
            login = max(self.credentials, key=lambda names: sum(name in settings for name in names))
            missing = [name for name in login if name not in settings]
            have = ", ".join(self.env[name] for name in login if name in settings)
            raise UsageError(
                f"incomplete {self.name} credentials: {have} given, "
                f"{' and '.join(self.env[name] for name in missing)} missing "
                f"(or {' and '.join(missing)} in the {self.name} table of --config)"
            )
        raise UsageError(
            f"no {self.name} credentials: set {self.credentials_help()}; or use --config FILE or --sandbox"
        )

    def credentials_help(self) -> str:
        return ", or ".join(" and ".join(self.env[name] for name in login) for login in self.credentials)


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
            if key not in VENDORS[vendor].env:
                raise UsageError(f"{path}: {unknown(f'{vendor} setting', key, VENDORS[vendor].env)}")
    return data


# -- AppNexus ----------------------------------------------------------------------------------------------------


def _appnexus_sandbox(speed: float) -> Sandbox:
    from ..sandbox.appnexus import AppNexusSandbox

    app = AppNexusSandbox(speed=speed, report_rows=20_000, report_delay=5.0)
    app.seed_line_items(12_000, advertisers=40)
    for advertiser in range(1, 41):  # seed_line_items numbers its advertisers from 1
        app.add("insertion-order", name=f"Insertion order {advertiser}", advertiser_id=advertiser)
    return app


async def _run_report(client: Any, options: Mapping[str, Any]) -> ReportJob:
    job: ReportJob = await client.reports.run(**options)
    return job


def _resources(*names: str) -> dict[str, ResourceSpec]:
    return {name: ResourceSpec.plain(name) for name in names}


_APPNEXUS_REPORT = {
    "report_type": ReportOption("text", "e.g. network_analytics", required=True),
    "columns": ReportOption("list", "comma-separated, e.g. day,imps,clicks", required=True),
    "report_interval": ReportOption("text", "e.g. last_7_days (or start_date and end_date)"),
    "start_date": ReportOption("text", "YYYY-MM-DD (with end_date, instead of report_interval)"),
    "end_date": ReportOption("text", "YYYY-MM-DD"),
    "timezone": ReportOption("text", "e.g. UTC"),
    "filters": ReportOption("json", 'a JSON list, e.g. [{"advertiser_id": 1}]'),
    "orders": ReportOption("json", 'a JSON list, e.g. ["day"]'),
    "params": ReportOption("json", 'query parameters as a JSON object, e.g. {"advertiser_id": 1}'),
}


# -- Adnuntius ---------------------------------------------------------------------------------------------------


def _adnuntius_sandbox(speed: float) -> Sandbox:
    from ..sandbox.adnuntius import AdnuntiusSandbox

    app = AdnuntiusSandbox(speed=speed, rate_limit=(12, 60.0))  # tight: the demo shows its 429 cooldowns
    app.seed("orders", ({"id": f"order_{i}", "name": f"Order {i}"} for i in range(50)))
    app.seed(
        "lineitems",
        (
            {
                "id": f"li_{i}",
                "name": f"Line item {i}",
                "order": {"id": f"order_{i % 50}"},
                "startDate": "2026-01-01T00:00:00Z",
                "endDate": "2026-12-31T00:00:00Z",
                "objectState": "ACTIVE",
            }
            for i in range(5_000)
        ),
    )
    return app


# -- Ooyala Pulse ------------------------------------------------------------------------------------------------


def _ooyala_sandbox(speed: float) -> Sandbox:
    from ..sandbox.ooyala import OoyalaSandbox

    app = OoyalaSandbox(speed=speed, report_seconds=10.0, report_rows=5_000)
    for c in range(40):
        campaign_id = f"00000000-0000-4000-8000-{c:012d}"
        app.beans["campaign"][campaign_id] = {
            "id": campaign_id,
            "name": f"Campaign {c}",
            "advertiserId": "20020002-f299-489a-a9e1-362bfbe0c676",
            "enabled": "true",
            "status": "ACTIVE",
            "budget": {"value": str(1000 * (c + 1))},
        }
        for g in range(5):
            goal_id = f"00000000-0000-4000-9000-{c * 5 + g:012d}"
            app.beans["goal"][goal_id] = {
                "id": goal_id,
                "campaignId": campaign_id,
                "name": f"Goal {c}.{g}",
                "start": "2026-01-01T00:00:00+0200",
                "goalValue": "10000",
                "type": "IMPRESSION",
                "variant": "NORMAL",
            }
    return app


async def _ooyala_report(client: Any, options: Mapping[str, Any]) -> ReportJob:
    """Run a report; without ``definition_id`` (the demo, ``--sandbox``) the account's first definition."""
    definition = options.get("definition_id") or (await client.reports.definitions())[0].id
    filters = options.get("filters", [{"type": "TIME_PERIOD", "dynamicTimePeriodType": "LAST_7_DAYS"}])
    flags = {name: options[name] for name in ("use_names", "repeat_dimension_values") if name in options}
    job: ReportJob = await client.reports.run(definition, filters, **flags)
    return job


def _of_campaign(attribute: str, *, required: bool) -> ListCall:
    """Ooyala lists goals (and may list clients) campaign by campaign: ``campaign_id=ID``."""

    def list_of(client: Any, filters: Mapping[str, str]) -> AsyncIterable[Any]:
        resource = getattr(client, attribute)
        extra = sorted(set(filters) - {"campaign_id"})
        if extra:
            raise UsageError(f"ooyala {attribute} take only campaign_id=ID, not {', '.join(extra)}")
        if "campaign_id" in filters:
            result: AsyncIterable[Any] = resource.of_campaign(filters["campaign_id"])
            return result
        if required:
            raise UsageError(
                f"ooyala lists {attribute} per campaign: adops list ooyala {attribute} campaign_id=ID "
                "(adops list ooyala campaigns shows the ids)"
            )
        listed: AsyncIterable[Any] = resource.list()
        return listed

    return list_of


async def _report_definitions(client: Any, filters: Mapping[str, str]) -> AsyncIterator[Any]:
    if filters:
        raise UsageError("ooyala report_definitions take no filters")
    for definition in await client.reports.definitions():
        yield definition


_OOYALA_RESOURCES = {
    "campaigns": ResourceSpec.plain("campaigns", note="status=ACTIVE|RECENT|UPCOMING, state=ARCHIVED|DISABLED|ENABLED"),
    "goals": ResourceSpec(
        "goals", _of_campaign("goals", required=True), ResourceSpec.plain("goals").get, "list: campaign_id=ID"
    ),
    "clients": ResourceSpec(
        "clients", _of_campaign("clients", required=False), ResourceSpec.plain("clients").get, "campaign_id=ID"
    ),
    "ads": ResourceSpec.plain("ads", listing=False, note="get only"),
    "report_definitions": ResourceSpec("reports", _report_definitions, None, "list only: the definition_id= values"),
}

_OOYALA_REPORT = {
    "definition_id": ReportOption("text", "adops list ooyala report_definitions shows them", required=True),
    "filters": ReportOption(
        "json", 'a JSON list, e.g. [{"type": "TIME_PERIOD", "dynamicTimePeriodType": "LAST_7_DAYS"}]'
    ),
    "use_names": ReportOption("bool", "names instead of ids"),
    "repeat_dimension_values": ReportOption("bool", "default true"),
}


# -- PulsePro ----------------------------------------------------------------------------------------------------


def _pulsepro_sandbox(speed: float) -> Sandbox:
    from ..sandbox.pulsepro import PulseProSandbox

    return PulseProSandbox(speed=speed, inspections=3_000)


VENDORS: Mapping[str, VendorSpec] = {
    "appnexus": VendorSpec(
        name="appnexus",
        client_class="adops_async.vendors.appnexus:AppNexus",
        env={"username": "ADOPS_APPNEXUS_USERNAME", "password": "ADOPS_APPNEXUS_PASSWORD"}
        | {"base_url": "ADOPS_APPNEXUS_BASE_URL"},
        credentials=(("username", "password"),),
        build_sandbox=_appnexus_sandbox,
        sandbox_settings=lambda app, url: {
            "username": "api-user",
            "password": "secret",
            "base_url": url,
            "speed": app.clock.speed,
        },
        demo_pull="line_items",
        resources=_resources(
            "advertisers",
            "insertion_orders",
            "line_items",
            "campaigns",
            "creatives",
            "publishers",
            "sites",
            "placements",
            "segments",
            "profiles",
            "users",
            "members",
        ),
        run_report=_run_report,
        report_options=_APPNEXUS_REPORT,
        demo_report={"report_type": "network_analytics", "columns": ["day", "advertiser_id", "imps", "clicks"]}
        | {"report_interval": "last_7_days"},
        sandbox_hint='curl -d \'{"auth":{"username":"api-user","password":"secret"}}\' URL/auth',
    ),
    "adnuntius": VendorSpec(
        name="adnuntius",
        client_class="adops_async.vendors.adnuntius:Adnuntius",
        env={"username": "ADOPS_ADNUNTIUS_USERNAME", "password": "ADOPS_ADNUNTIUS_PASSWORD"}
        | {"api_key": "ADOPS_ADNUNTIUS_API_KEY", "context": "ADOPS_ADNUNTIUS_CONTEXT"}
        | {"base_url": "ADOPS_ADNUNTIUS_BASE_URL"},
        # context (the network id) is required: a login without it cannot reach any object.
        credentials=(("username", "password", "context"), ("api_key", "context")),
        build_sandbox=_adnuntius_sandbox,
        sandbox_settings=lambda app, url: {
            "username": "user@example.com",
            "password": "secret",
            "context": "network_1",
            "base_url": url,
        },
        demo_pull="line_items",
        resources=_resources(
            "advertisers",
            "orders",
            "line_items",
            "creatives",
            "assets",
            "sites",
            "ad_units",
            "users",
            "teams",
            "networks",
            "tiers",
            "layouts",
            "segments",
        ),
        run_report=_run_report,
        report_options={
            "start": ReportOption("text", "ISO date-time, e.g. 2026-01-01T00:00:00Z", required=True),
            "end": ReportOption("text", "ISO date-time", required=True),
            "group_by": ReportOption("text", "ORDER, LINE_ITEM, ADVERTISER, CREATIVE or daily"),
            "all": ReportOption("text", "lineItem, order, creative, advertiser or adUnit"),
            "orderId": ReportOption("text", "only this order"),
            "currency": ReportOption("text", "e.g. EUR"),
        },
        demo_report={"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z", "group_by": "LINE_ITEM"},
        sandbox_hint="curl -H 'Content-Type: application/json' -d "
        '\'{"grant_type":"password","scope":"ng_api","username":"user@example.com","password":"secret"}\' '
        "URL/api/authenticate",
    ),
    "ooyala": VendorSpec(
        name="ooyala",
        client_class="adops_async.vendors.ooyala:OoyalaPulse",
        env={"api_key": "ADOPS_OOYALA_API_KEY", "username": "ADOPS_OOYALA_USERNAME"}
        | {"password": "ADOPS_OOYALA_PASSWORD", "base_url": "ADOPS_OOYALA_BASE_URL"},
        credentials=(("api_key",), ("username", "password")),
        build_sandbox=_ooyala_sandbox,
        sandbox_settings=lambda app, url: {"api_key": "sandbox-key", "base_url": url},
        demo_pull="line_items",
        resources=_OOYALA_RESOURCES,
        run_report=_ooyala_report,
        report_options=_OOYALA_REPORT,
        sandbox_hint="curl -H 'x-o-api-key: sandbox-key' URL/api/1.0/campaign",
    ),
    "pulsepro": VendorSpec(
        name="pulsepro",
        client_class="adops_async.vendors.pulsepro:PulsePro",
        env={"api_key": "ADOPS_PULSEPRO_API_KEY", "base_url": "ADOPS_PULSEPRO_BASE_URL"},
        credentials=(("api_key",),),
        build_sandbox=_pulsepro_sandbox,
        sandbox_settings=lambda app, url: {
            "api_key": "test-key",
            "base_url": f"{url}/api/v1",
            "clock": app.client_clock(),
            "page_size": 20,
        },
        demo_pull="inspections",
        resources=_resources("inspections", "corrective_actions", "locations", "users", "roles"),
        sandbox_hint="curl -H 'Authorization: Api-key test-key' URL/api/v1/inspections",
    ),
}

ENV_HELP = "credentials from the environment (or the same names, lowercase, in a --config table):\n" + "\n".join(
    f"  {spec.name:<10} {spec.credentials_help()}; optional {spec.env['base_url']}" for spec in VENDORS.values()
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
    width = max(
        len(f"{name}={option.shape}") for spec in VENDORS.values() for name, option in spec.report_options.items()
    )
    for spec in VENDORS.values():
        if spec.run_report is None:
            continue
        lines.append(f"  {spec.name}")
        for name, option in spec.report_options.items():
            mark = "*" if option.required else " "
            lines.append(f"   {mark}{f'{name}={option.shape}':<{width}}  {option.help}")
    return "\n".join(lines)
