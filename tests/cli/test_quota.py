"""``adops quota``: the fleet's shared quota state read from a real redis-server after real traffic through shared
gates (adops_async/cli/_quota.py), and the idle gates of the command's own clients.

The command runs in a worker thread (``main`` starts its own event loop) while the test's clients hold what it must
see: a Serial lease and its queue, a pause, a job ticket. The numbers it prints are checked against the sandboxes'
records of what was sent.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from typing import Any

import anyio
import pytest

from adops_async import RateLimited, RedisStore, RetryPolicy
from adops_async.cli import main
from adops_async.cli._quota import Screen
from adops_async.core.shared import Grant, identity
from adops_async.core.steps import Step
from adops_async.observe import Event, RequestSent
from adops_async.sandbox import Fault, serve
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.appnexus import AppNexus
from adops_async.vendors.ooyala import OoyalaPulse

from ..redis_server import RedisServer, free_port

SECRETS = ("secret", "api-user", "sandbox-key")
"""The sandboxes' credentials: none may show."""


@pytest.fixture
def prefix() -> str:
    return f"test-quota:{uuid.uuid4().hex}:"


def _asyncio_only(anyio_backend: str) -> None:
    if anyio_backend != "asyncio":
        pytest.skip("redis-py's asyncio client runs on asyncio only")


async def quota(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``adops quota ARGS`` in a worker thread (it runs its own event loop): exit status, stdout, stderr."""
    capsys.readouterr()
    status = await anyio.to_thread.run_sync(main, ["quota", *args])
    out, err = capsys.readouterr()
    return status, out, err


def account(out: str, key: str) -> list[str]:
    """The lines of account ``key`` in a ``--redis`` view (its indented rows, without the indentation)."""
    lines = out.splitlines()
    start = lines.index(key) + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        rows.append(" ".join(line.split()))
    return rows


class Watched(RedisStore):
    """A store that says when the shared script first refused it a take."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.refused = anyio.Event()

    async def take(self, steps: Sequence[Step], speed: float, epoch: str = "") -> Grant:
        grant = await super().take(steps, speed, epoch)
        if not grant.admitted:
            self.refused.set()
        return grant


def _clean(out: str, err: str) -> None:
    for secret in SECRETS:
        assert secret not in out + err
    assert "\r" not in out + err  # captured output is not a terminal: plain lines
    assert "\x1b" not in out


@pytest.mark.anyio
async def test_an_appnexus_pull_a_request_in_flight_a_pause_and_a_report_ticket(
    anyio_backend: str, redis_server: RedisServer, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _asyncio_only(anyio_backend)
    app = AppNexusSandbox()
    ids = app.seed_line_items(250)
    store = RedisStore(redis_server.url, prefix=prefix)
    user = f"appnexus:user:{identity('api-user')}"
    armed: list[bool] = []
    sent = anyio.Event()

    def on_event(event: Event) -> None:
        if armed and isinstance(event, RequestSent):
            sent.set()

    try:
        with serve(app) as url:
            async with AppNexus(
                username="api-user", password="secret", base_url=url, store=store, observers=[on_event]
            ) as an:
                assert len([item async for item in an.line_items.list()]) == 250
                async with anyio.create_task_group() as group:
                    app.inject(Fault("endless", path="/line-item", body=b"{", delay=0.05))  # in flight until cancelled
                    armed.append(True)
                    group.start_soon(an.line_items.get, ids[0])
                    await sent.wait()
                    app.inject(Fault("status", status=429, headers={"Retry-After": "30"}, path="/line-item"))
                    with pytest.raises(RateLimited):  # one attempt: the 429's pause stays in Redis
                        await an.with_options(retry=RetryPolicy(attempts=1)).line_items.get(ids[1])
                    ticket = await an.report_slots.acquire(an.clock)
                    await ticket.started()
                    status, out, err = await quota(capsys, "--redis", redis_server.url, "--prefix", prefix)
                    group.cancel_scope.cancel()
                await ticket.finished()
                after, later, _ = await quota(capsys, "--redis", redis_server.url, "--prefix", prefix)
    finally:
        await store.aclose()

    assert (status, err) == (0, "")
    reads = sum(1 for r in app.records if r.method == "GET")
    writes = sum(1 for r in app.records if r.method != "GET")
    assert (reads, writes) == (5, 1)  # 3 pages, the endless get, the refused get; the login
    rows = account(out, user)
    assert rows[:3] == [
        f"reads {reads} used (1 in flight), {100 - reads} left of 100 per 60 s",
        f"writes {writes} used (0 in flight), {60 - writes} left of 60 per 60 s",
        "in flight 1 of 15",
    ]
    pause = re.fullmatch(r"pause (\d+\.\d) s left", rows[3])
    assert pause is not None
    assert 0 < float(pause.group(1)) <= 30
    assert len(rows) == 4
    assert account(out, f"{user}:reports") == ["jobs 1 held of 5"]
    assert out.splitlines()[0].endswith(": 2 accounts")
    _clean(out, err)

    assert after == 0
    later_rows = account(later, user)  # the cancelled request gave its place back; its read still counts
    assert later_rows[0] == f"reads {reads} used (0 in flight), {100 - reads} left of 100 per 60 s"
    assert "in flight 1 of 15" not in later_rows
    assert f"{user}:reports" not in later.splitlines()  # the finished ticket freed at once: no job held
    assert later.splitlines()[0].endswith(": 1 account")


@pytest.mark.anyio
async def test_an_ooyala_serial_holder_and_the_process_queued_behind_it(
    anyio_backend: str, redis_server: RedisServer, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _asyncio_only(anyio_backend)
    app = OoyalaSandbox()
    app.inject(Fault("endless", path="/api/1.0/campaign", body=b"[", delay=0.05))  # holds the slot until cancelled
    stores = [Watched(redis_server.url, prefix=prefix) for _ in range(2)]  # one per "process"
    key = f"ooyala:{identity('sandbox-key')}"
    sent = anyio.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, RequestSent):
            sent.set()

    try:
        with serve(app) as url:
            async with (
                OoyalaPulse(api_key="sandbox-key", base_url=url, store=stores[0], observers=[on_event]) as first,
                OoyalaPulse(api_key="sandbox-key", base_url=url, store=stores[1]) as second,
                anyio.create_task_group() as group,
            ):
                group.start_soon(first.request, "GET", "/api/1.0/campaign")
                await sent.wait()  # the first holds the lease now
                group.start_soon(second.request, "GET", "/api/1.0/campaign")
                await stores[1].refused.wait()  # a refused Serial take leaves its ticket in the queue
                status, out, err = await quota(capsys, "ooyala", "--redis", redis_server.url, "--prefix", prefix)
                group.cancel_scope.cancel()
    finally:
        for store in stores:
            await store.aclose()

    assert (status, err) == (0, "")
    [serial] = account(out, key)
    held = re.fullmatch(r"serial held \((\d+\.\d) s of lease left\), 1 waiting", serial)
    assert held is not None
    assert 0 < float(held.group(1)) <= 30  # the store's lease: 30 s
    assert len([r for r in app.records if r.path == "/api/1.0/campaign"]) == 1  # the second never went
    _clean(out, err)


@pytest.mark.anyio
async def test_watch_prints_a_block_per_refresh_without_redrawing_off_a_terminal(
    anyio_backend: str, redis_server: RedisServer, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _asyncio_only(anyio_backend)
    store = RedisStore(redis_server.url, prefix=prefix)
    try:
        writes = (await store.redis.info("persistence"))["rdb_changes_since_last_save"]
        status, out, err = await quota(
            capsys, "--redis", redis_server.url, "--prefix", prefix, "--watch", "0.01", "--count", "3"
        )
        assert (await store.redis.info("persistence"))["rdb_changes_since_last_save"] == writes  # read-only
    finally:
        await store.aclose()
    assert (status, err) == (0, "")
    blocks = out.split("\n\n")
    assert len(blocks) == 3
    for block in blocks:
        header, empty = block.strip("\n").splitlines()
        assert header.startswith(f"Redis 127.0.0.1:{redis_server.port}/0, prefix {prefix!r}, server time ")
        assert header.endswith(": 0 accounts")
        assert empty == "  no shared quota state under this prefix (no process has used it lately)"
    _clean(out, err)


def test_a_redis_that_does_not_answer_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    status = main(["quota", "--redis", f"redis://:hunter2@127.0.0.1:{port}/0", "--timeout", "0.5"])
    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert err == f"error: Redis at 127.0.0.1:{port}/0 did not answer (ConnectionError)\n"
    assert "hunter2" not in err


def test_without_redis_the_sandbox_clients_idle_gates(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["quota", "appnexus", "pulsepro", "--sandbox"])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("this process's gates at ")
    assert lines[1:] == [
        "appnexus  store: this process",
        "  budgets    reads 100, writes 60",
        "  in flight  0 of 15",
        "  waiters    none",
        "  cooldown   none",
        "  jobs       0 held of 5",
        "pulsepro  store: this process",
        "  budgets    bucket 60",
        "  in flight  0 of 10",
        "  waiters    none",
        "  cooldown   none",
    ]
    _clean(out, err)


def test_without_redis_or_credentials_it_says_what_to_give(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for name in [name for name in os.environ if name.startswith("ADOPS_")]:
        monkeypatch.delenv(name)
    assert main(["quota"]) == 2
    assert "use --sandbox, or --redis URL" in capsys.readouterr().err


def test_a_terminal_sees_each_block_redrawn_in_place() -> None:
    stream = io.StringIO()
    screen = Screen(stream, live=True)
    screen.show(["one", "  two"])
    screen.show(["three"])
    assert stream.getvalue() == "one\n  two\n\x1b[2F\x1b[Jthree\n"
