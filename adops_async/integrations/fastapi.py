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
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from ..core.client import BaseClient
from ..core.errors import AdOpsError
from ..core.policies import Priority
from ..core.priority import _current
from ..core.shared import RedisStore
from ..ops import AdOps

__all__ = ["adops_lifespan", "get_adops", "vendor_client"]


def adops_lifespan(
    *,
    redis: str | None = None,
    **clients: BaseClient | Mapping[str, Any] | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A FastAPI ``lifespan`` that opens the given vendor clients at startup and closes them at shutdown.

    Keyword names are vendors (``appnexus``, ``adnuntius``, ``ooyala``, ``pulsepro``); values are clients or their
    constructor settings, as for :class:`~adops_async.AdOps`.

    ``redis``: a Redis URL. Each worker process (``uvicorn --workers N``, gunicorn) then opens one
    :class:`~adops_async.RedisStore` and gives it to every client built from settings, so all workers of the
    service share each vendor account's budget instead of breaking it N-fold (asyncio only).
    """

    unknown = set(clients) - {"appnexus", "adnuntius", "ooyala", "pulsepro"}
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

        ops = AdOps(
            appnexus=settings("appnexus"),
            adnuntius=settings("adnuntius"),
            ooyala=settings("ooyala"),
            pulsepro=settings("pulsepro"),
        )
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
    _current.set(Priority.INTERACTIVE)


async def get_adops(request: Request) -> AdOps:
    """Dependency: the app's :class:`AdOps`; the handler's calls run at interactive priority."""
    ops = getattr(request.app.state, "adops", None)
    if not isinstance(ops, AdOps):
        raise RuntimeError("adops_lifespan is not installed on this app")
    _interactive()
    return ops


def vendor_client(vendor: str) -> Callable[[Request], Any]:
    """Dependency factory: the app's client for ``vendor``; the handler's calls run at interactive priority."""

    async def dependency(request: Request) -> BaseClient:
        ops = await get_adops(request)
        try:
            return ops.clients[vendor]
        except KeyError:
            raise AdOpsError(f"{vendor} is not configured in adops_lifespan", vendor=vendor) from None

    return dependency
