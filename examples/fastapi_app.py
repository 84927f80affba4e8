"""A small ad-ops service: campaigns across vendors, reports kicked off in the background, reports streamed as CSV.

Run it against real accounts (credentials from ``ADOPS_<VENDOR>_<SETTING>`` environment variables, the names
``adops --help`` lists: ``ADOPS_APPNEXUS_USERNAME``, ``ADOPS_ADNUNTIUS_CONTEXT``, ...)::

    uvicorn --factory examples.fastapi_app:from_environment

or against the built-in sandboxes, served on 127.0.0.1 for as long as the app runs::

    ADOPS_EXAMPLE_SANDBOX=1 uvicorn --factory examples.fastapi_app:from_environment

Both need the ``fastapi`` extra (``pip install 'adops-async[fastapi]'``) and run from the repository's root.

Every call a handler makes runs at interactive priority (the ``vendor_client``/``get_adops`` dependencies), so it
overtakes the background report pulls waiting on the same vendor quota.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException
from fastapi.responses import StreamingResponse

from adops_async import AdOps, AdOpsError, Priority, priority
from adops_async.integrations.fastapi import adops_lifespan, get_adops
from adops_async.sandbox import serve_seeded

#: The vendors the service serves, and the settings each takes from the environment.
VENDORS: dict[str, tuple[str, ...]] = {
    "appnexus": ("username", "password", "base_url"),
    "adnuntius": ("username", "password", "api_key", "context", "base_url"),
    "ooyala": ("api_key", "username", "password", "base_url"),
}

REPORTS: dict[str, dict[str, Any]] = {
    "appnexus": {"report_type": "network_analytics", "columns": ["day", "imps", "clicks"], "report_interval": "today"},
    "adnuntius": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z", "group_by": "LINE_ITEM"},
    "ooyala": {"definition_id": "56de9277498ed663342784c7"},
}


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(clients: Mapping[str, Any], report_dir: Path) -> FastAPI:
    """The service, for the given vendor clients (or their settings)."""
    return build_app(adops_lifespan(**clients), report_dir)


def sandbox_app(report_dir: Path) -> FastAPI:
    """The service in front of the built-in sandboxes, which it serves on 127.0.0.1 from startup to shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Entered here, not in the factory: the sandboxes must outlive the call that builds the app.
        with serve_seeded(*VENDORS) as settings:
            clients: dict[str, Any] = settings
            async with adops_lifespan(**clients)(app):
                yield

    return build_app(lifespan, report_dir)


def build_app(lifespan: Lifespan, report_dir: Path) -> FastAPI:
    """The service's routes, on an app whose ``lifespan`` installs :func:`adops_lifespan`."""
    app = FastAPI(title="adops example", lifespan=lifespan)
    finished: dict[str, int] = {}

    @app.get("/campaigns")
    async def campaigns(ops: Annotated[AdOps, Depends(get_adops)]) -> list[dict[str, Any]]:
        """Campaigns (AppNexus insertion orders, Adnuntius orders, Ooyala campaigns), normalized."""
        async with ops.paginate("campaigns") as entities:
            return [entity.model_dump(mode="json") async for entity in entities]

    async def pull_report(ops: AdOps, vendor: str) -> None:
        with priority(Priority.BULK):  # background work must not compete with handlers
            counts = await ops.reports({vendor: REPORTS[vendor]}, directory=report_dir)
        finished[vendor] = counts[vendor]

    @app.post("/reports/{vendor}", status_code=202)
    async def start_report(
        vendor: str, background: BackgroundTasks, ops: Annotated[AdOps, Depends(get_adops)]
    ) -> dict[str, str]:
        """Kick off a report pull; it is written to ``<report_dir>/<vendor>.csv`` in the background."""
        if vendor not in REPORTS or vendor not in ops.clients:
            raise HTTPException(404, f"no report for {vendor}")
        background.add_task(pull_report, ops, vendor)
        return {"status": "started", "poll": f"/reports/{vendor}/status"}

    synced: dict[str, int] = {}

    async def sync_line_items(ops: AdOps, vendor: str) -> None:
        synced[vendor] = 0
        with priority(Priority.BULK):
            async with ops.paginate({vendor: "line_items"}) as entities:
                async for _ in entities:
                    synced[vendor] += 1
        finished[f"sync:{vendor}"] = synced[vendor]

    @app.post("/sync/{vendor}", status_code=202)
    async def start_sync(
        vendor: str, background: BackgroundTasks, ops: Annotated[AdOps, Depends(get_adops)]
    ) -> dict[str, str]:
        """Kick off a full listing of a vendor's line items in the background (a bulk pull on the vendor's quota)."""
        if vendor not in ops.clients:
            raise HTTPException(404, f"{vendor} is not configured")
        background.add_task(sync_line_items, ops, vendor)
        return {"status": "started", "poll": f"/sync/{vendor}/status"}

    @app.get("/sync/{vendor}/status")
    async def sync_status(vendor: str) -> dict[str, Any]:
        done = finished.get(f"sync:{vendor}")
        return {"status": "done" if done is not None else "running", "line_items": synced.get(vendor, 0)}

    @app.get("/reports/{vendor}/status")
    async def report_status(vendor: str) -> dict[str, Any]:
        rows = finished.get(vendor)
        return {"status": "done", "rows": rows} if rows is not None else {"status": "running"}

    @app.get("/reports/{vendor}.csv")
    async def stream_report(vendor: str, ops: Annotated[AdOps, Depends(get_adops)]) -> StreamingResponse:
        """Run a report and stream it to the caller as CSV while it downloads."""
        if vendor not in REPORTS or vendor not in ops.clients:
            raise HTTPException(404, f"no report for {vendor}")
        job = await ops.clients[vendor].reports.run(**REPORTS[vendor])  # type: ignore[attr-defined]

        async def lines() -> AsyncIterator[str]:
            out = io.StringIO()
            writer: csv.DictWriter[str] | None = None
            async for row in job.rows():
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(row))
                    writer.writeheader()
                writer.writerow(row)
                if out.tell() > 65_536:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue()

        return StreamingResponse(lines(), media_type="text/csv")

    @app.exception_handler(AdOpsError)
    async def vendor_error(request: Any, exc: AdOpsError) -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"vendor": exc.vendor, "status": exc.status, "code": exc.code, "error": exc.message}, 502)

    return app


def settings_from_environment() -> dict[str, dict[str, str]]:
    """Each vendor's client settings from ``ADOPS_<VENDOR>_<SETTING>``; a vendor with none set is left out."""
    clients: dict[str, dict[str, str]] = {}
    for vendor, names in VENDORS.items():
        settings = {name: value for name in names if (value := os.environ.get(f"ADOPS_{vendor}_{name}".upper()))}
        if settings:
            clients[vendor] = settings
    return clients


def from_environment() -> FastAPI:
    """The app for ``uvicorn --factory``: vendors configured in the environment, or the sandboxes."""
    report_dir = Path(os.environ.get("ADOPS_REPORT_DIR", "."))
    if os.environ.get("ADOPS_EXAMPLE_SANDBOX"):
        return sandbox_app(report_dir)
    return create_app(settings_from_environment(), report_dir)
