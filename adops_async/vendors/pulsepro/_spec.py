"""PulsePro in the vendor registry (:mod:`adops_async.vendors`): name, client, resources and sandbox. Not an ad
platform: no normalized kinds, no reports, no delivery report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._spec import SandboxSpec, VendorSpec, resources
from ._client import PulsePro

if TYPE_CHECKING:
    from ...sandbox import Sandbox

__all__ = ["PULSEPRO"]


def _sandbox(speed: float) -> Sandbox:
    from ...sandbox.pulsepro import PulseProSandbox

    return PulseProSandbox(speed=speed, inspections=3_000)


PULSEPRO = VendorSpec(
    name="pulsepro",
    client=PulsePro,
    credentials=(("api_key",),),
    resources=resources("inspections", "corrective_actions", "locations", "users", "roles"),
    sandbox=SandboxSpec(
        build=_sandbox,
        settings=lambda app, url: {
            "api_key": "test-key",
            "base_url": f"{url}/api/v1",
            "clock": app.client_clock(),
            "page_size": 20,
        },
        hint="curl -H 'Authorization: Api-key test-key' URL/api/v1/inspections",
        demo_pull="inspections",
    ),
)
