"""Vendor clients: declarations (auth, gate, dialect, resources, paging) on top of :mod:`adops_async.core`, and the
vendor registry.

:data:`VENDORS` is the one place that lists the vendors: each entry is the :class:`VendorSpec` its folder declares in
``vendors/<vendor>/_spec.py`` (name, client class, normalized mapping, resources, reports, delivery report, sandbox).
``AdOps``, the FastAPI integration, the command line and the report sync read it (``docs/design.md``, "Adding a
vendor").
"""

from collections.abc import Mapping

from ._spec import DeliverySpec, ReportOption, ReportSpec, ResourceSpec, SandboxSpec, VendorSpec
from .adnuntius._spec import ADNUNTIUS
from .appnexus._spec import APPNEXUS
from .ooyala._spec import OOYALA
from .pulsepro._spec import PULSEPRO

__all__ = ["VENDORS", "DeliverySpec", "ReportOption", "ReportSpec", "ResourceSpec", "SandboxSpec", "VendorSpec"]

VENDORS: Mapping[str, VendorSpec] = {spec.name: spec for spec in (APPNEXUS, ADNUNTIUS, OOYALA, PULSEPRO)}
"""Every vendor by name, in the order the command line lists them."""
