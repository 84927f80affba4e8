"""FastAPI embedding: open the vendor clients once per app, hand each handler its client at interactive priority.

    from fastapi import Depends, FastAPI
    from adops_async.integrations.fastapi import adops_lifespan, vendor_client

    app = FastAPI(lifespan=adops_lifespan(appnexus={"username": ..., "password": ...}))

    @app.get("/campaigns")
    async def campaigns(an: Annotated[AppNexus, Depends(vendor_client("appnexus"))]):
        return [c.name async for c in an.insertion_orders.list()]

Every call a handler makes through a client from :func:`vendor_client` or :func:`get_adops` runs at
``Priority.INTERACTIVE``, so it overtakes background bulk pulls on the same vendor quota (at most one slot of wait).
Background work started from a handler inherits that priority: wrap it in ``with priority(Priority.BULK):``.

"Answer now or not at all": ``vendor_client("appnexus", max_wait=1)`` gives the handler a view of the client whose
calls never wait at the gate longer than a second, and raise :class:`~adops_async.GateWaitTooLong` at once when the
gate can tell they would (the quota refills later, a cooldown). :func:`add_exception_handlers` turns that error into
``503 Service Unavailable`` with ``Retry-After`` (the gate's predicted wait, rounded up)::

    app = FastAPI(lifespan=adops_lifespan(...))
    add_exception_handlers(app)
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ..core.client import BaseClient
from ..core.errors import AdOpsError, GateWaitTooLong
from ..core.policies import Priority
from ..core.priority import set_priority
from ..core.shared import RedisStore
from ..ops import AdOps
from ..vendors import VENDORS

__all__ = ["add_exception_handlers", "adops_lifespan", "gate_wait_too_long", "get_adops", "vendor_client"]


def adops_lifespan(
    *,
    redis: str | None = None,
    **clients: BaseClient | Mapping[str, Any] | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A FastAPI ``lifespan`` that opens the given vendor clients at startup and closes them at shutdown.

    Keyword names are vendors (``appnexus``, ``adnuntius``, ``ooyala``, ``pulsepro``: the names in
    :data:`adops_async.vendors.VENDORS`); values are clients or their constructor settings, as for
    :class:`~adops_async.AdOps`.

    ``redis``: a Redis URL. Each worker process (``uvicorn --workers N``, gunicorn) then opens one
    :class:`~adops_async.RedisStore` and gives it to every client built from settings, so all workers of the
    service share each vendor account's budget instead of breaking it N-fold (asyncio only).
    """

    unknown = set(clients) - set(VENDORS)
    if unknown:
        raise TypeError(f"unknown vendor(s): {', '.join(sorted(unknown))}")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = RedisStore(redis) if redis is not None else None

        def settings(vendor: str) -> BaseClient | Mapping[str, Any] | None:
            given = clients.get(vendor)
            if store is None or given is None or isinstance(given, BaseClient) or "store" in given:
                return given
            return {**given, "store": store}

        given: dict[str, Any] = {vendor: settings(vendor) for vendor in clients}  # Any: beside buffer= and observers=
        ops = AdOps(**given)
        try:
            async with ops:
                app.state.adops = ops
                yield
        finally:
            if store is not None:
                await store.aclose()

    return lifespan


def _interactive() -> None:
    # Set, not reset: each request runs in its own task whose context ends with it.
    set_priority(Priority.INTERACTIVE)


async def get_adops(request: Request) -> AdOps:
    """Dependency: the app's :class:`AdOps`; the handler's calls run at interactive priority."""
    ops = getattr(request.app.state, "adops", None)
    if not isinstance(ops, AdOps):
        raise RuntimeError("adops_lifespan is not installed on this app")
    _interactive()
    return ops


def vendor_client(vendor: str, *, max_wait: float | None = None) -> Callable[[Request], Any]:
    """Dependency factory: the app's client for ``vendor``; the handler's calls run at interactive priority.

    ``max_wait``: the handler gets ``client.with_options(max_wait=max_wait)``, whose calls wait at the gate at most
    that many seconds (see the module docs for the 503 it becomes).
    """
    views: dict[int, BaseClient] = {}

    async def dependency(request: Request) -> BaseClient:
        ops = await get_adops(request)
        try:
            client = ops.clients[vendor]
        except KeyError:
            raise AdOpsError(f"{vendor} is not configured in adops_lifespan", vendor=vendor) from None
        if max_wait is None:
            return client
        view = views.get(id(client))  # a view holds its client: the id stays its own
        if view is None:
            view = views[id(client)] = client.with_options(max_wait=max_wait)
        return view

    return dependency


async def gate_wait_too_long(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler: :class:`GateWaitTooLong` as ``503`` with ``Retry-After`` (seconds, rounded up) when the gate
    predicted a wait. The body names the vendor and the wait, never the vendor URL."""
    assert isinstance(exc, GateWaitTooLong)
    headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))} if exc.retry_after is not None else {}
    body: dict[str, Any] = {"detail": "the vendor's quota does not allow this call now", "vendor": exc.vendor}
    if exc.retry_after is not None:
        body["retry_after"] = exc.retry_after
    return JSONResponse(body, status_code=503, headers=headers)


def add_exception_handlers(app: FastAPI) -> None:
    """Install :func:`gate_wait_too_long` on ``app``."""
    app.add_exception_handler(GateWaitTooLong, gate_wait_too_long)
