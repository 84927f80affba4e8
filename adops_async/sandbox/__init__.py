"""Strict vendor sandboxes: ASGI apps that behave like the vendors' APIs and enforce their request rules.

Run one on a real socket with :func:`serve`; read back :attr:`Sandbox.records` and :attr:`Sandbox.violations`.
"""

from ._base import Fault, Request, RequestRecord, Response, Sandbox, SandboxClock, Violation, route, serve

__all__ = ["Fault", "Request", "RequestRecord", "Response", "Sandbox", "SandboxClock", "Violation", "route", "serve"]
