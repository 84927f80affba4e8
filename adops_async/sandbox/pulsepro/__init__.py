"""The strict PulsePro sandbox: ``PulseProSandbox(speed=60)``, served with :func:`adops_async.sandbox.serve`.

See :mod:`._app` for the request order and the routes, and :mod:`._bucket` for what ``RateLimit-Reset`` means here
(seconds until the next call is added, by default) and the other reading (``refill="window"``).
"""

from ._app import PulseProSandbox
from ._bucket import Bucket, Decision, Refill, ResetMeaning

__all__ = ["Bucket", "Decision", "PulseProSandbox", "Refill", "ResetMeaning"]
