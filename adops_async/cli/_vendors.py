"""What the command line knows of each vendor: its client, its credentials, its sandbox and a demo workload."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.client import BaseClient
from ..core.reports import ReportJob
from ..sandbox import Sandbox

__all__ = ["ENV_HELP", "VENDORS", "VendorSpec", "load_config"]


@dataclass(frozen=True)
class VendorSpec:
    """One vendor, as the CLI drives it."""

    name: str
    client_class: str
    """``module:Class`` of the client, imported when needed."""
    env: Mapping[str, str]
    """Client argument -> environment variable."""
    build_sandbox: Callable[[float], Sandbox]
    sandbox_settings: Callable[[Sandbox, str], dict[str, Any]]
    """Client arguments for a sandbox served at a URL."""
    demo_pull: str
    """What the demo lists (a normalized kind or a resource; see :meth:`adops_async.AdOps.paginate`)."""
    run_report: Callable[[Any, Mapping[str, Any]], Awaitable[ReportJob]] | None = None
    demo_report: Mapping[str, Any] = field(default_factory=dict)
    sandbox_hint: str = ""

    @property
    def client(self) -> Callable[..., BaseClient]:
        module, _, name = self.client_class.partition(":")
        __import__(module)
        client_class: Callable[..., BaseClient] = getattr(sys.modules[module], name)
        return client_class

    def make_sandbox(self, speed: float) -> Sandbox:
        return self.build_sandbox(speed)

    def settings(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Client arguments from ``config`` (a table of the config file), then the environment."""
        settings = {name: config[name] for name in self.env if name in config}
        for name, variable in self.env.items():
            if name not in settings and os.environ.get(variable):
                settings[name] = os.environ[variable]
        if not settings:
            names = ", ".join(self.env.values())
            raise ValueError(f"no {self.name} credentials: set {names}, or use --config or --sandbox")
        return settings


def load_config(path: str | None) -> dict[str, Any]:
    """The ``--config`` file: JSON, or TOML on Python >= 3.11; one table per vendor."""
    if path is None:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith(".toml"):
        if sys.version_info >= (3, 11):
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            raise ValueError("TOML config files need Python 3.11; use JSON")
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object with one table per vendor")
    return data


# -- AppNexus ----------------------------------------------------------------------------------------------------


def _appnexus_sandbox(speed: float) -> Sandbox:
    from ..sandbox.appnexus import AppNexusSandbox

    app = AppNexusSandbox(speed=speed, report_rows=20_000, report_delay=5.0)
    app.seed_line_items(12_000, advertisers=40)
    return app


async def _run_report(client: Any, options: Mapping[str, Any]) -> ReportJob:
    job: ReportJob = await client.reports.run(**options)
    return job


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
    definition = options.get("definition_id") or (await client.reports.definitions())[0].id
    filters = options.get("filters", [{"type": "TIME_PERIOD", "dynamicTimePeriodType": "LAST_7_DAYS"}])
    job: ReportJob = await client.reports.run(definition, filters)
    return job


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
        build_sandbox=_appnexus_sandbox,
        sandbox_settings=lambda app, url: {
            "username": "api-user",
            "password": "secret",
            "base_url": url,
            "speed": app.clock.speed,
        },
        demo_pull="line_items",
        run_report=_run_report,
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
        build_sandbox=_adnuntius_sandbox,
        sandbox_settings=lambda app, url: {
            "username": "user@example.com",
            "password": "secret",
            "context": "network_1",
            "base_url": url,
        },
        demo_pull="line_items",
        run_report=_run_report,
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
        build_sandbox=_ooyala_sandbox,
        sandbox_settings=lambda app, url: {"api_key": "sandbox-key", "base_url": url},
        demo_pull="line_items",
        run_report=_ooyala_report,
        sandbox_hint="curl -H 'x-o-api-key: sandbox-key' URL/api/1.0/campaign",
    ),
    "pulsepro": VendorSpec(
        name="pulsepro",
        client_class="adops_async.vendors.pulsepro:PulsePro",
        env={"api_key": "ADOPS_PULSEPRO_API_KEY", "base_url": "ADOPS_PULSEPRO_BASE_URL"},
        build_sandbox=_pulsepro_sandbox,
        sandbox_settings=lambda app, url: {
            "api_key": "test-key",
            "base_url": f"{url}/api/v1",
            "clock": app.client_clock(),
            "page_size": 20,
        },
        demo_pull="inspections",
        sandbox_hint="curl -H 'Authorization: Api-key test-key' URL/api/v1/inspections",
    ),
}

ENV_HELP = "credentials from the environment:\n" + "\n".join(
    f"  {spec.name:<10} " + ", ".join(spec.env.values()) for spec in VENDORS.values()
)
