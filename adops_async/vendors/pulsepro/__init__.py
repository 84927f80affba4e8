"""PulsePro ("PULSE" by Pulse Business Solutions): an inspection / audit platform's "Pulse API".

``from adops_async.vendors.pulsepro import PulsePro``. See :class:`PulsePro` and docs/vendors/pulsepro.md.
"""

from ._client import DEFAULT_PATHS, PulsePro, PulseProAnalytics, PulseProResource, spike_retry
from ._dialect import PulseProDialect
from ._models import AnalyticsScore, AnalyticsTrend, CorrectiveAction, Inspection, Location, Role, User
from ._paging import PulseProOffsetPaging, PulseProPaging

__all__ = [
    "DEFAULT_PATHS",
    "AnalyticsScore",
    "AnalyticsTrend",
    "CorrectiveAction",
    "Inspection",
    "Location",
    "PulsePro",
    "PulseProAnalytics",
    "PulseProDialect",
    "PulseProOffsetPaging",
    "PulseProPaging",
    "PulseProResource",
    "Role",
    "User",
    "spike_retry",
]
