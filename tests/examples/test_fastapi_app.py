"""The FastAPI example end to end: uvicorn on a real socket in front of the vendor sandboxes."""

from __future__ import annotations

import csv
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from adops_async import ScaledClock
from adops_async.sandbox import Sandbox, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox
from examples.fastapi_app import create_app

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]

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
                "clock": ScaledClock(SPEED),
                "reads": reads,
            },
            "adnuntius": {
                "username": "user@example.com",
                "password": "secret",
                "context": "network_1",
                "base_url": urls["adnuntius"],
            },
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
            campaigns = await http.get("/campaigns")
            during = (await http.get("/sync/appnexus/status")).json()
            with anyio.fail_after(10):
                while (await http.get("/sync/appnexus/status")).json()["status"] != "done":  # noqa: ASYNC110
                    await anyio.sleep(0.05)
            final = (await http.get("/sync/appnexus/status")).json()
    assert campaigns.status_code == 200
    assert during["status"] == "running"  # the handler did not wait for the bulk pull to finish
    # In the sandbox's own order of arrival, the handler's AppNexus read went in the middle of the bulk pull, not after
    # it. How long it waited (one slot of the quota, not the pull) is a wall-clock figure on a real socket:
    # benchmarks/handler_latency.py; that an interactive call overtakes queued bulk calls is proven by order in
    # tests/integrations/test_fastapi.py.
    arrived = [r.path for r in apps["appnexus"].records if r.method == "GET"]
    handler_read = arrived.index("/insertion-order")
    assert "/line-item" in arrived[:handler_read]
    assert "/line-item" in arrived[handler_read + 1 :]
    assert final["line_items"] == 2_000
    assert [v for app in apps.values() for v in app.violations] == []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def documented_command(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The example as its docstring runs it: ``ADOPS_EXAMPLE_SANDBOX=1 uvicorn --factory ...``, from the repo root."""
    uvicorn = shutil.which("uvicorn", path=os.path.dirname(sys.executable)) or shutil.which("uvicorn")
    assert uvicorn is not None, "uvicorn's command is installed with the package"
    port = free_port()
    log = tmp_path / "uvicorn.log"
    env = {**os.environ, "ADOPS_EXAMPLE_SANDBOX": "1", "ADOPS_REPORT_DIR": str(tmp_path)}
    command = [
        uvicorn,
        "--factory",
        "examples.fastapi_app:from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while "Uvicorn running on" not in log.read_text():
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)  # waiting for another process to start; no order of events depends on it
            yield url, log
        finally:
            server.terminate()
            server.wait(10)


def test_the_documented_sandbox_command_serves_every_vendor_and_keeps_uvicorns_log(tmp_path: Path) -> None:
    # The service under test is another process (its event loop is uvicorn's, not this test's): a plain synchronous
    # test, run once, as the tests of processes in tests/shared/test_processes.py are.
    with documented_command(tmp_path) as (url, log):
        with httpx.Client(base_url=url, timeout=60) as http:
            response = http.get("/campaigns")
            assert response.status_code == 200, response.text
            by_vendor: dict[str, int] = {}
            for campaign in response.json():
                by_vendor[campaign["vendor"]] = by_vendor.get(campaign["vendor"], 0) + 1
            assert by_vendor == {"appnexus": 40, "adnuntius": 50, "ooyala": 40}
            assert http.post("/reports/adnuntius").status_code == 202
            deadline = time.monotonic() + 30
            while (status := http.get("/reports/adnuntius/status").json())["status"] != "done":
                assert time.monotonic() < deadline, status
                time.sleep(0.05)  # the report runs in another process: poll its status endpoint
            assert status == {"status": "done", "rows": 5_000}
            with (tmp_path / "adnuntius.csv").open(newline="") as f:
                assert sum(1 for _ in csv.DictReader(f)) == 5_000
        output = log.read_text()
    assert f"Uvicorn running on {url}" in output
    assert '"GET /campaigns HTTP/1.1" 200' in output  # the access log is on, too


def test_a_sandbox_leaves_the_hosts_uvicorn_logging_as_it_was() -> None:
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    loggers = [logging.getLogger(name) for name in names]
    saved = [(logger.level, list(logger.handlers), logger.propagate, list(logger.filters)) for logger in loggers]
    heard: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            heard.append(record)

    host = Keep()
    error, access = loggers[1], loggers[2]
    error.setLevel(logging.INFO)
    access.setLevel(logging.INFO)
    error.addHandler(host)
    access.addHandler(host)
    try:
        sandbox = AppNexusSandbox()
        with serve(sandbox) as url:
            assert httpx.get(f"{url}/line-item").status_code == 401  # no token: the sandbox answers and logs
            error.info("the host's own line")
        assert [logger.level for logger in loggers[1:3]] == [logging.INFO, logging.INFO]
        assert host in error.handlers
        assert host in access.handlers
        assert access.propagate is True
        assert [record.getMessage() for record in heard] == ["the host's own line"]  # none of the sandbox's lines
    finally:
        for logger, (level, handlers, propagate, filters) in zip(loggers, saved, strict=True):
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.filters[:] = filters
