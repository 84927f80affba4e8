"""Report downloads land whole or fail typed (issue 16 items 2, 10 and part of 11), over real sockets.

Judged by the sandbox's records (how many downloads were sent, zero violations) and the exceptions' types.
"""

from __future__ import annotations

import csv
import gc
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from adops_async import Adnuntius, AppNexus, OoyalaPulse, ScaledClock
from adops_async.core.client import BaseClient
from adops_async.core.errors import DecodeError, IncompleteData, TransportError
from adops_async.core.retry import RetryPolicy
from adops_async.sandbox import Fault, Request, Response, Sandbox, route, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox, report_cell
from adops_async.sandbox.ooyala import DEFINITIONS, OoyalaSandbox
from adops_async.vendors.appnexus import AppNexusReportJob

pytestmark = pytest.mark.anyio

COLUMNS = ["day", "imps"]
SPEED = 600
#: Retries at once (no backoff), so a test spends no time waiting; the attempt count is the policy's default.
AT_ONCE = RetryPolicy(backoff=0.0)
HTML = b"<!DOCTYPE html><html><body><h1>Service temporarily unavailable</h1></body></html>"
HANG_GUARD = 10.0
"""Seconds after which a test that would hang fails instead (never reached when the code is right)."""


def expected_rows(count: int) -> list[dict[str, str]]:
    return [{column: report_cell(column, n) for column in COLUMNS} for n in range(count)]


def csv_body(count: int) -> bytes:
    lines = [",".join(COLUMNS)] + [",".join(report_cell(c, n) for c in COLUMNS) for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


@asynccontextmanager
async def appnexus_report(app: AppNexusSandbox, **options: object) -> AsyncIterator[tuple[AppNexus, AppNexusReportJob]]:
    """A client on ``app`` and a report that is ready (polled until the sandbox says so)."""
    options.setdefault("retry", AT_ONCE)
    with serve(app) as url:
        async with AppNexus(
            username="api-user", password="secret", base_url=url, clock=ScaledClock(SPEED), **options
        ) as an:
            job = await an.reports.run(report_type="network_analytics", columns=COLUMNS, report_interval="yesterday")
            assert isinstance(job, AppNexusReportJob)
            yield an, job


def sandbox(rows: int = 1000) -> AppNexusSandbox:
    return AppNexusSandbox(speed=SPEED, report_delay=1, report_rows=rows)


def downloads(app: AppNexusSandbox) -> int:
    return app.count("GET", "/report-download")


def files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def read_into(rows: list[dict[str, str]], job: AppNexusReportJob) -> None:
    """Append each row to ``rows`` as it comes, so a test sees what arrived before an error."""
    async for row in job.rows():
        rows.append(row)


# -- item 2: a body that is not the report, or not all of it, is a typed error -------------------------------------


async def test_an_html_page_on_a_200_is_a_decode_error_and_save_leaves_nothing(tmp_path: Path) -> None:
    app = sandbox()
    headers = {"content-type": "text/html; charset=utf-8", "x-an-requestid": "req-html"}
    app.inject(Fault("status", status=200, body=HTML, headers=headers, path="/report-download", count=2))
    target = tmp_path / "report.csv"
    async with appnexus_report(app) as (_, job):
        with pytest.raises(DecodeError) as caught:
            await job.save(target)
        rows: list[dict[str, str]] = []
        with pytest.raises(DecodeError):
            await read_into(rows, job)
    error = caught.value
    assert type(error) is DecodeError
    assert (error.vendor, error.status, error.code, error.request_id) == ("appnexus", 200, "content-type", "req-html")
    assert "text/html" in error.message
    assert "Service temporarily unavailable" in (error.body or "")
    assert rows == []
    assert files(tmp_path) == []  # no file at the target, no temporary one beside it
    assert downloads(app) == 2  # a wrong page is not retried
    assert app.violations == []


async def test_an_html_page_instead_of_an_ooyala_report_is_a_decode_error() -> None:
    app = OoyalaSandbox(report_seconds=0.0)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url) as pulse:
            job = await pulse.reports.run(str(DEFINITIONS[0]["id"]))
            await job.wait(first=0.0)
            app.inject(Fault("status", status=200, body=HTML, headers={"content-type": "text/html"}, path="/report/"))
            with pytest.raises(DecodeError) as caught:
                [row async for row in job.rows()]
    assert (caught.value.vendor, caught.value.status, caught.value.code) == ("ooyala", 200, "content-type")
    assert app.violations == []


async def test_a_body_cut_without_content_length_is_downloaded_again_and_the_rows_are_exact() -> None:
    app = sandbox(rows=1000)
    app.inject(Fault("cut", path="/report-download", fraction=0.5))
    async with appnexus_report(app) as (_, job):
        rows = [row async for row in job.rows()]
    assert rows == expected_rows(1000)
    assert downloads(app) == 2  # the cut one, then the whole one
    assert app.violations == []


async def test_a_body_cut_every_time_raises_transport_error_once_the_attempts_are_spent(tmp_path: Path) -> None:
    app = sandbox(rows=1000)
    app.inject(Fault("cut", path="/report-download", fraction=0.5, count=99, headers={"x-an-requestid": "req-cut"}))
    async with appnexus_report(app, retry=RetryPolicy(attempts=3, backoff=0.0)) as (_, job):
        with pytest.raises(TransportError) as caught:
            await job.save(tmp_path / "report.csv")
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (200, "incomplete-body", "req-cut")
    assert downloads(app) == 3  # every attempt of the policy, and no more
    assert files(tmp_path) == []
    assert app.violations == []


async def test_an_ooyala_json_report_cut_short_is_downloaded_again() -> None:
    app = OoyalaSandbox(report_seconds=0.0, report_rows=500)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url, retry=AT_ONCE) as pulse:
            job = await pulse.reports.run(str(DEFINITIONS[0]["id"]))
            await job.wait(first=0.0)
            app.inject(Fault("cut", path=f"/api/2.0/report/{job.id}", fraction=0.7))
            rows = [row async for row in job.rows()]
    assert [row["Ad"] for row in rows] == [f"ad-{i}" for i in range(500)]
    assert app.count("GET", f"/api/2.0/report/{job.id}") == 2
    assert app.violations == []


async def test_a_body_short_of_its_content_length_is_downloaded_again() -> None:
    app = sandbox(rows=1000)
    app.inject(Fault("truncate", path="/report-download"))  # promises 100 bytes more than it sends, then resets
    async with appnexus_report(app) as (_, job):
        rows = [row async for row in job.rows()]
    assert rows == expected_rows(1000)
    assert downloads(app) == 2
    assert app.violations == []


async def test_a_content_length_the_body_does_not_match_is_caught_without_the_transport_noticing() -> None:
    """In process (no socket, so nothing below httpx counts the bytes): a cut body under a Content-Length that
    claims the whole report is caught by the download's own count, and downloaded again."""
    app = sandbox(rows=1000)
    whole = csv_body(1000)
    cut = whole[: len(whole) // 2]
    headers = {"content-type": "text/csv", "content-length": str(len(whole))}
    app.inject(Fault("status", status=200, body=cut, headers=headers, path="/report-download"))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))  # type: ignore[arg-type]
    async with (
        http,
        AppNexus(
            username="api-user",
            password="secret",
            base_url="http://appnexus.test",
            http=http,
            clock=ScaledClock(SPEED),
            retry=AT_ONCE,
        ) as an,
    ):
        job = await an.reports.run(report_type="network_analytics", columns=COLUMNS, report_interval="yesterday")
        rows = [row async for row in job.rows()]
    assert rows == expected_rows(1000)
    assert downloads(app) == 2
    assert app.violations == []


async def test_invalid_utf8_is_a_decode_error_with_its_byte_offset(tmp_path: Path) -> None:
    app = sandbox()
    body = b"day,imps\n2024-01-01,1\n2024-01-02,\xff\xfe\n"
    app.inject(Fault("status", status=200, body=body, headers={"content-type": "text/csv"}, path="/report-download"))
    rows: list[dict[str, str]] = []
    async with appnexus_report(app) as (_, job):
        with pytest.raises(DecodeError) as caught:
            await read_into(rows, job)
    assert not isinstance(caught.value, UnicodeDecodeError)
    assert (caught.value.status, caught.value.code) == (200, "encoding")
    bad_at = body.index(b"\xff")
    assert f"byte 0xff at offset {bad_at}" in caught.value.message
    assert rows == []  # checked before the first row is trusted
    assert downloads(app) == 1


@pytest.mark.parametrize(("announced", "served"), [(1000, 3), (3, 5)])
async def test_rows_other_than_the_vendors_row_count_raise_incomplete_data(
    announced: int, served: int, tmp_path: Path
) -> None:
    app = sandbox(rows=announced)
    short = Fault("status", status=200, body=csv_body(served), headers={"content-type": "text/csv"}, count=2)
    short.path = "/report-download"
    app.inject(short)
    target = tmp_path / "report.csv"
    target.write_text("yesterday's report\n")
    rows: list[dict[str, str]] = []
    async with appnexus_report(app) as (_, job):
        with pytest.raises(IncompleteData) as from_rows:
            await read_into(rows, job)
        with pytest.raises(IncompleteData) as from_save:
            await job.save(target)
        failed_save = target.read_text(), files(tmp_path)
        assert await job.save(target) == announced  # the fault is spent: this download is whole
    assert rows == expected_rows(served)  # every row arrived, and then the error, never a quiet end
    for caught in (from_rows, from_save):
        assert (caught.value.expected, caught.value.seen) == (announced, served)
        assert (caught.value.vendor, caught.value.status, caught.value.code) == ("appnexus", 200, "row-count")
    assert failed_save == ("yesterday's report\n", ["report.csv"])  # untouched, and no temporary file left beside it
    with target.open(newline="") as saved:
        assert list(csv.DictReader(saved)) == expected_rows(announced)  # replaced once a save succeeded
    assert files(tmp_path) == ["report.csv"]


# -- the temporary file of a download -------------------------------------------------------------------------------


def open_spools(directory: Path) -> int:
    """Open file descriptors of this process into ``directory`` (an anonymous temporary file keeps its directory's
    path in its link, with ``(deleted)`` or ``#inode``)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        count += target.startswith(str(directory))
    return count


@pytest.mark.skipif(sys.platform != "linux", reason="counts open files through /proc")
@pytest.mark.parametrize("ending", ["aclosing", "garbage-collected", "failed"])
async def test_the_download_file_is_gone_when_the_iterator_ends(
    ending: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    app = sandbox(rows=200 if ending != "failed" else 300)
    if ending == "failed":
        body = csv_body(100)
        app.inject(Fault("status", status=200, body=body, headers={"content-type": "text/csv"}, path="/report-"))
    async with appnexus_report(app) as (_, job):
        assert open_spools(spool_dir) == 0
        if ending == "aclosing":
            async with aclosing(job.rows()) as rows:
                async for _ in rows:
                    assert open_spools(spool_dir) == 1  # the body waits in a temporary file while rows are read
                    break
        elif ending == "garbage-collected":
            rows = job.rows()
            await rows.__anext__()
            assert open_spools(spool_dir) == 1
            del rows
            gc.collect()
            await anyio.wait_all_tasks_blocked()  # the event loop finalizes the collected generator
        else:
            seen: list[dict[str, str]] = []
            with pytest.raises(IncompleteData):
                await read_into(seen, job)
            assert len(seen) == 100
        assert open_spools(spool_dir) == 0
    assert files(spool_dir) == []


# -- item 10: an abandoned iterator holds no gate slot ------------------------------------------------------------


async def test_an_abandoned_ooyala_report_iterator_does_not_block_the_next_call() -> None:
    app = OoyalaSandbox(report_seconds=0.0, report_rows=100)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url) as pulse:
            job = await pulse.reports.run(str(DEFINITIONS[0]["id"]))
            await job.wait(first=0.0)
            rows = job.rows()
            async for row in rows:
                assert row["Ad"] == "ad-0"
                break  # and keep the iterator
            with anyio.fail_after(HANG_GUARD):
                definitions = await pulse.reports.definitions()  # the Serial gate's one slot is free
            assert [d.id for d in definitions] == [DEFINITIONS[0]["id"]]
            assert [row["Ad"] async for row in rows] == [f"ad-{i}" for i in range(1, 100)]  # still readable
    assert app.violations == []


async def test_fifteen_abandoned_appnexus_downloads_do_not_block_the_next_call() -> None:
    app = sandbox(rows=100)
    app.add("line-item", name="after the reports")
    with serve(app) as url:
        async with AppNexus(username="api-user", password="secret", base_url=url, clock=ScaledClock(SPEED)) as an:
            abandoned = []
            for _ in range(15):  # as many as the gate lets run at once
                job = await an.reports.run(report_type="network_analytics", columns=COLUMNS, report_interval="today")
                rows = job.rows()
                assert await rows.__anext__() == expected_rows(1)[0]
                abandoned.append(rows)
            with anyio.fail_after(HANG_GUARD):
                items = await an.line_items.list().collect()
            assert [item.name for item in items] == ["after the reports"]
            for rows in abandoned:
                await rows.aclose()  # type: ignore[attr-defined]
    assert app.count("GET", "/report-download") == 15
    assert app.violations == []


# -- item 11 (part): an error mid-body keeps what had already arrived ----------------------------------------------


class _Reports(Sandbox):
    @route("GET", "/report")
    async def report(self, request: Request) -> Response:
        return Response.text("a,b\n" + "1,2\n" * 50_000, content_type="text/csv")


async def read_body(client: BaseClient) -> None:
    async with client.stream("GET", "/report") as response:
        async for _ in response.aiter_bytes():
            pass


async def test_a_transport_error_mid_stream_carries_the_status_and_request_id() -> None:
    app = _Reports()
    app.inject(Fault("truncate", path="/report", headers={"x-request-id": "req-mid"}))
    with serve(app) as url:
        async with BaseClient(base_url=url) as client:
            with pytest.raises(TransportError) as caught:
                await read_body(client)
    assert (caught.value.status, caught.value.request_id, caught.value.method) == (200, "req-mid", "GET")
    assert str(caught.value.url).endswith("/report")


async def test_an_adnuntius_stats_answer_that_is_not_the_stats_shape_is_a_decode_error() -> None:
    app = AdnuntiusSandbox()
    app.inject(
        Fault("status", status=200, path="/api/v1/stats", body=b"null", headers={"content-type": "application/json"})
    )
    with serve(app) as url:
        async with Adnuntius(context="network_1", username="user@example.com", password="secret", base_url=url) as adn:
            job = await adn.reports.run("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")
            with pytest.raises(DecodeError) as caught:
                [row async for row in job.rows()]
    assert caught.value.status == 200
    assert caught.value.vendor == "adnuntius"
