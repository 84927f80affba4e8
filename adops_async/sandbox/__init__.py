"""Strict vendor sandboxes: ASGI apps that behave like the vendors' APIs and enforce their request rules.

Run one on a real socket with :func:`serve`; read back :attr:`Sandbox.records` and :attr:`Sandbox.violations`. For
ready-made accounts (the ones ``adops demo`` uses), :func:`serve_seeded` serves seeded sandboxes and hands back each
vendor's client settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from ._base import Fault, Request, RequestRecord, Response, Sandbox, SandboxClock, Violation, route, serve

__all__ = [
    "Fault",
    "Request",
    "RequestRecord",
    "Response",
    "Sandbox",
    "SandboxClock",
    "Violation",
    "route",
    "serve",
    "serve_seeded",
]


@contextmanager
def serve_seeded(*vendors: str, speed: float = 1.0) -> Iterator[dict[str, dict[str, Any]]]:
    """Serve seeded sandboxes on 127.0.0.1 for the ``with`` block; yield each vendor's client settings.

    The sandboxes are the ones ``adops demo`` and ``adops ... --sandbox`` use (thousands of line items, orders,
    campaigns and goals, reports that take a few seconds). The settings are keyword arguments of the vendor's client,
    so they go straight to :class:`~adops_async.AdOps` or
    :func:`~adops_async.integrations.fastapi.adops_lifespan`::

        with serve_seeded("appnexus", "adnuntius") as settings:
            async with AdOps(**settings) as ops:
                ...

    Args:
        *vendors: ``appnexus``, ``adnuntius``, ``ooyala``, ``pulsepro``; none means all four.
        speed: vendor seconds per real second, as ``adops demo --speed`` (1: the vendors' own pace).

    Raises:
        ValueError: a vendor name that is not one of the four.
    """
    from ..vendors import VENDORS

    unknown = [name for name in vendors if name not in VENDORS]
    if unknown:
        raise ValueError(f"no sandbox for {', '.join(unknown)}: choose from {', '.join(VENDORS)}")
    with ExitStack() as stack:
        settings: dict[str, dict[str, Any]] = {}
        for name in vendors or tuple(VENDORS):
            spec = VENDORS[name].sandbox
            sandbox = spec.build(speed)
            settings[name] = spec.settings(sandbox, stack.enter_context(serve(sandbox)))
        yield settings
