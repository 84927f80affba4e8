"""A web handler's wait while a bulk pull saturates the same vendor quota: the FastAPI example service, timed.

The example (``examples/fastapi_app.py``) runs in front of the AppNexus, Adnuntius and Ooyala sandboxes at a
compressed clock, with AppNexus at 20 reads a vendor minute. A background sync pulls 2,000 line items (20 pages, a
whole vendor minute of quota); while it runs, ``GET /campaigns`` reads each vendor once. Printed: the handler's
latency during the pull against the same call with the quota idle, in the same run. The handler's read is
interactive, so it should wait for at most one slot of the quota (3 vendor seconds, 50 real ms at speed 60), not for
the pull. Moved here from tests/examples/test_fastapi_app.py, which keeps the order check (at most one bulk page
arrives before the handler's read).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # examples/ is not an installed package

from adops_async import ScaledClock
from adops_async.sandbox import serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox
from examples.fastapi_app import create_app

SPEED, READS, RUNS = 60, 20, 5


async def campaigns_latency(http: httpx.AsyncClient) -> float:
    start = time.perf_counter()
    response = await http.get("/campaigns")
    response.raise_for_status()
    return time.perf_counter() - start


async def main() -> None:
    idle: list[float] = []
    busy: list[float] = []
    for _ in range(RUNS):
        appnexus = AppNexusSandbox(speed=SPEED, reads=READS)
        appnexus.seed_line_items(2_000, advertisers=4)
        appnexus.add("insertion-order", name="IO", advertiser_id=1)
        adnuntius = AdnuntiusSandbox(speed=SPEED)
        adnuntius.seed("orders", [{"id": "order_1", "name": "Order"}])
        ooyala = OoyalaSandbox(speed=SPEED)
        ooyala.beans["campaign"]["c1"] = {"id": "c1", "name": "Campaign", "status": "ACTIVE"}
        with ExitStack() as stack, tempfile.TemporaryDirectory() as reports:
            an, adn, pulse = (stack.enter_context(serve(app)) for app in (appnexus, adnuntius, ooyala))
            clients = {
                "appnexus": {
                    "username": "api-user",
                    "password": "secret",
                    "base_url": an,
                    "clock": ScaledClock(SPEED),
                    "reads": READS,
                },
                "adnuntius": {
                    "username": "user@example.com",
                    "password": "secret",
                    "context": "network_1",
                    "base_url": adn,
                },
                "ooyala": {"api_key": "sandbox-key", "base_url": pulse},
            }
            url = stack.enter_context(serve(create_app(clients, Path(reports))))
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                idle.append(await campaigns_latency(http))
                await http.post("/sync/appnexus")
                # The app runs on another thread's loop: poll its status endpoint (no event to share).
                while (await http.get("/sync/appnexus/status")).json()["line_items"] < 300:  # noqa: ASYNC110
                    await anyio.sleep(0.01)  # the pull is under way and the quota is spoken for
                busy.append(await campaigns_latency(http))
                while (await http.get("/sync/appnexus/status")).json()["status"] != "done":  # noqa: ASYNC110
                    await anyio.sleep(0.05)
        assert not appnexus.violations, appnexus.violations
    quiet, loaded = statistics.median(idle), statistics.median(busy)
    print(f"handler_latency: GET /campaigns, median of {RUNS} runs, AppNexus at {READS} reads per vendor minute")
    print(f"  quota idle:                   {quiet * 1000:7.1f} ms")
    print(f"  during a saturating bulk pull: {loaded * 1000:7.1f} ms ({loaded / quiet:.2f}x; one quota slot = 50 ms)")


if __name__ == "__main__":
    anyio.run(main)
