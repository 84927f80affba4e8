"""The FastAPI example end to end: uvicorn on a real socket in front of the vendor sandboxes."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from adops_async.sandbox import Sandbox, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox
from examples.fastapi_app import create_app

pytestmark = pytest.mark.anyio

SPEED = 60


@contextmanager
def service(tmp_path: Path, reads: int = 100) -> Iterator[tuple[str, dict[str, Sandbox]]]:
    appnexus = AppNexusSandbox(speed=SPEED, reads=reads, report_rows=3_000, report_delay=2)
    appnexus.seed_line_items(2_000, advertisers=4)
    for i in range(3):
        appnexus.add("insertion-order", name=f"IO {i}", advertiser_id=1)
    adnuntius = AdnuntiusSandbox(speed=SPEED)
    adnuntius.seed("orders", ({"id": f"order_{i}", "name": f"Order {i}"} for i in range(4)))
    ooyala = OoyalaSandbox(speed=SPEED)
    ooyala.beans["campaign"]["c1"] = {"id": "c1", "name": "Pulse campaign", "status": "ACTIVE"}
    apps: dict[str, Sandbox] = {"appnexus": appnexus, "adnuntius": adnuntius, "ooyala": ooyala}
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(app)) for name, app in apps.items()}
        # Settings, not clients: the app builds its clients on its own event loop, in its lifespan.
        clients = {
            "appnexus": {
                "username": "api-user",
                "password": "secret",
                "base_url": urls["appnexus"],
                "speed": SPEED,
                "reads": reads,
            },
            "adnuntius": {"username": "user@example.com", "password": "secret", "base_url": urls["adnuntius"]},
            "ooyala": {"api_key": "sandbox-key", "base_url": urls["ooyala"]},
        }
        yield stack.enter_context(serve(create_app(clients, tmp_path))), apps


async def test_campaigns_report_in_background_and_streamed_csv(tmp_path: Path) -> None:
    with service(tmp_path) as (url, apps):
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            response = await http.get("/campaigns")
            assert response.status_code == 200, response.text
            campaigns = response.json()
            assert sorted((c["vendor"], c["name"]) for c in campaigns) == [
                ("adnuntius", "Order 0"),
                ("adnuntius", "Order 1"),
                ("adnuntius", "Order 2"),
                ("adnuntius", "Order 3"),
                ("appnexus", "IO 0"),
                ("appnexus", "IO 1"),
                ("appnexus", "IO 2"),
                ("ooyala", "Pulse campaign"),
            ]
            started = await http.post("/reports/appnexus")
            assert started.status_code == 202
            with anyio.fail_after(30):
                while (await http.get("/reports/appnexus/status")).json()["status"] != "done":  # noqa: ASYNC110
                    await anyio.sleep(0.05)  # the app runs on another thread's loop: poll its status endpoint
            with (tmp_path / "appnexus.csv").open(newline="") as f:
                assert sum(1 for _ in csv.DictReader(f)) == 3_000
            streamed = await http.get("/reports/appnexus.csv")
            assert streamed.headers["content-type"].startswith("text/csv")
            assert len(list(csv.DictReader(streamed.text.splitlines()))) == 3_000
            assert (await http.post("/reports/nosuch")).status_code == 404
    assert [v for app in apps.values() for v in app.violations] == []


async def test_a_handler_is_served_while_a_bulk_pull_saturates_the_same_quota(tmp_path: Path) -> None:
    # 20 reads per vendor minute: the bulk pull's 20 pages need a whole vendor minute (one real second).
    with service(tmp_path, reads=20) as (url, apps):
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            assert (await http.post("/sync/appnexus")).status_code == 202
            with anyio.fail_after(10):
                while (await http.get("/sync/appnexus/status")).json()["line_items"] < 300:  # noqa: ASYNC110
                    await anyio.sleep(0.01)  # the pull is under way and the quota is spoken for
            start = time.perf_counter()
            campaigns = await http.get("/campaigns")
            latency = time.perf_counter() - start
            during = (await http.get("/sync/appnexus/status")).json()
            with anyio.fail_after(10):
                while (await http.get("/sync/appnexus/status")).json()["status"] != "done":  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            final = (await http.get("/sync/appnexus/status")).json()
    assert campaigns.status_code == 200
    assert during["status"] == "running"  # the handler did not wait for the bulk pull to finish
    assert latency < 0.5  # at most one slot of the quota (3 vendor seconds = 50 ms) plus the other vendors
    assert final["line_items"] == 2_000
    assert [v for app in apps.values() for v in app.violations] == []
