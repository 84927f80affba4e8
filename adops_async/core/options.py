"""The options every client takes, whatever its vendor: one typed set, written once.

:class:`BaseClient <adops_async.core.client.BaseClient>` and each vendor client take them as
``**options: Unpack[ClientOptions]`` and hand them on unchanged, so ``AppNexus(username=..., timeout=5)`` reads as
before, a type checker knows each key's type, and a misspelt key is refused (by the type checker, and at run time by
:func:`check_options`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

import httpx

from ..observe._dispatch import Observer
from .clock import Clock
from .retry import RetryPolicy

__all__ = ["ClientOptions", "check_options"]


class ClientOptions(TypedDict, total=False):
    """The keyword arguments every client takes besides its vendor's own: ``AppNexus(username=..., timeout=5)``,
    ``OoyalaPulse(api_key=..., observers=[...])``. Each may be left out; a vendor may choose its own default (noted
    below), and a dict of them can be spread into any client: ``PulsePro(api_key=..., base_url=..., **options)``."""

    http: httpx.AsyncClient | None
    """Your own ``httpx.AsyncClient`` (transport, proxy, limits); you keep ownership and close it yourself. Default:
    one the client creates and closes."""
    retry: RetryPolicy | None
    """When to retry. Default: :class:`~adops_async.RetryPolicy` (PulsePro: its ``spike_retry(deadline)``)."""
    timeout: float
    """Wall-clock bound of one attempt in real seconds, from sending to the last byte of the body (also httpx's
    per-read timeout of the client created when ``http`` is not given). Default 30 (OoyalaPulse: 60, and with a
    shared ``store`` at most 0.8 of its lease)."""
    clock: Clock | None
    """Time source shared by the gate, retry, token expiry and every vendor duration (quota windows, login budgets,
    report polling). Default: the gate's, else the event loop's. Against a compressed-clock sandbox give
    ``sandbox.client_clock()`` (a :class:`~adops_async.ScaledClock`): the vendor's own numbers then apply."""
    max_body_size: int
    """The largest response body read into memory, in bytes (default 32 MiB); a larger one is a
    :class:`~adops_async.DecodeError`. Streamed bodies (report downloads) are not capped."""
    observers: Iterable[Observer]
    """Callables given every event of this client's calls and gate (:mod:`adops_async.observe`);
    ``ADOPS_LOG=info|debug`` in the environment adds :func:`adops_async.observe.logging` at that level."""


def check_options(client: str, options: Mapping[str, Any]) -> None:
    """Refuse a keyword that is not a :class:`ClientOptions` key, as a signature that named them would (a misspelt
    ``timout=5`` must not be dropped silently when no type checker ran)."""
    unknown = sorted(set(options) - set(ClientOptions.__annotations__))
    if unknown:
        raise TypeError(f"{client}.__init__() got an unexpected keyword argument {unknown[0]!r}")
