"""The vendor registry (``adops_async.vendors.VENDORS``): what it declares holds for each client, and ``AdOps`` asks
it what a vendor can do instead of finding out with an ``AttributeError``."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest

from adops_async import AdOps, AdOpsError, AppNexus, PulsePro
from adops_async.sandbox import serve
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox
from adops_async.vendors import VENDORS

pytestmark = pytest.mark.anyio


async def test_reports_of_a_vendor_without_reports_is_an_adops_error_before_any_report_starts(tmp_path: Path) -> None:
    appnexus, pulsepro = AppNexusSandbox(speed=60), PulseProSandbox(speed=60)
    with ExitStack() as stack:
        an_url, pp_url = stack.enter_context(serve(appnexus)), stack.enter_context(serve(pulsepro))
        async with (
            AppNexus(username="api-user", password="secret", base_url=an_url) as an,
            PulsePro(api_key="test-key", base_url=f"{pp_url}/api/v1") as pp,
            AdOps(appnexus=an, pulsepro=pp) as ops,
        ):
            report = {"report_type": "network_analytics", "columns": ["day", "imps"], "report_interval": "yesterday"}
            requests = {"appnexus": report, "pulsepro": {}}
            with pytest.raises(AdOpsError) as raised:
                await ops.reports(requests, directory=tmp_path)
    assert type(raised.value) is AdOpsError
    assert raised.value.vendor == "pulsepro"
    assert raised.value.message == "pulsepro has no reports"
    # Refused up front: neither vendor heard a request, and no file was written.
    assert appnexus.records == []
    assert pulsepro.records == []
    assert [path async for path in anyio.Path(tmp_path).iterdir()] == []


async def test_every_registered_vendor_has_what_its_spec_declares() -> None:
    assert list(VENDORS) == ["appnexus", "adnuntius", "ooyala", "pulsepro"]
    for name, spec in VENDORS.items():
        assert spec.name == name
        login: dict[str, Any] = dict.fromkeys(spec.credentials[0], "x")
        async with spec.client(**login, base_url="http://127.0.0.1:9") as client:  # never sends: nothing is called
            for kind, lister in spec.kinds.items():
                assert kind in ("advertisers", "campaigns", "line_items", "creatives"), (name, kind)
                assert callable(lister) or hasattr(client, lister), (name, kind, lister)
            for resource in spec.resources.values():
                assert hasattr(client, resource.attribute), (name, resource.attribute)
            assert hasattr(client, "reports") == (spec.report is not None), name
        assert (spec.delivery is None) == (spec.sandbox.delivery is None), name


def test_adops_refuses_a_vendor_name_the_registry_does_not_know() -> None:
    with pytest.raises(TypeError, match="'pulse_pro'"):
        AdOps(pulse_pro={"api_key": "k"})
