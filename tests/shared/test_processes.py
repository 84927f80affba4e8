"""N OS processes, one vendor budget: each worker (``tests/shared/worker.py``) is its own process with its own gate,
all sharing one RedisStore on a real redis-server; the sandbox, served in this process on a real socket, judges.

These tests drive processes, not coroutines, so they are plain synchronous tests.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import pytest

from adops_async.sandbox import Fault, serve
from adops_async.sandbox.appnexus import AppNexusSandbox, SandboxUser
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox

from ..redis_server import RedisServer
from ..sandboxes import FillsTheCap
from . import worker

PROCESSES, TASKS = 4, 50


# Workers fork from a server process that has imported them once (the library, httpx, redis-py, pydantic): a fresh
# interpreter per worker spent more CPU importing than working.
PROCESSES_CONTEXT = multiprocessing.get_context("forkserver")
PROCESSES_CONTEXT.set_forkserver_preload(["tests.shared.worker"])


@dataclass
class Worker:
    """One worker process (:func:`tests.shared.worker.serve`) and this end of its pipe."""

    process: BaseProcess
    pipe: Connection

    def ready(self) -> None:
        """Wait until the worker has built its client."""
        assert self.pipe.poll(60), "the worker never got ready"
        assert self.pipe.recv() == {"ready": True}

    def go(self) -> None:
        self.pipe.send("go")

    def finish(self, timeout: float = 60) -> dict[str, Any]:
        if not self.pipe.poll(timeout):
            self.process.kill()
            raise AssertionError("worker hung")
        result: dict[str, Any] = self.pipe.recv()
        self.process.join()
        assert self.process.exitcode == 0
        return result


def start(job: dict[str, Any]) -> Worker:
    here, there = PROCESSES_CONTEXT.Pipe()
    process = PROCESSES_CONTEXT.Process(target=worker.serve, args=(job, there))
    process.start()
    there.close()
    return Worker(process, here)


@contextmanager
def workers(jobs: list[dict[str, Any]]) -> Iterator[list[Worker]]:
    """Start one worker process per job and wait until each is ready; kill whatever is left on the way out."""
    started = [start(job) for job in jobs]
    try:
        for w in started:
            w.ready()
        yield started
    finally:
        for w in started:
            if w.process.is_alive():
                w.process.kill()
            w.process.join()


def run(
    jobs: list[dict[str, Any]], during: Callable[[], None] = lambda: None, timeout: float = 60
) -> list[dict[str, Any]]:
    """Run the workers to the end, all starting at once; ``during`` acts on the run while they work."""
    with workers(jobs) as started:
        for w in started:
            w.go()
        during()
        return [w.finish(timeout) for w in started]


def wait_for(condition: Callable[[], bool], within: float = 30) -> None:
    """Poll what the sandbox recorded (its server thread writes it) until ``condition`` holds."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.002)


@pytest.fixture
def prefix(redis_server: RedisServer) -> str:
    """A key prefix of this test's own."""
    return f"t-{uuid.uuid4().hex[:8]}:"


def dump(redis_url: str, prefix: str) -> str:
    """Every key, member, field and value written under ``prefix``, as text."""
    import redis

    client = redis.Redis.from_url(redis_url)
    parts: list[str] = []
    for key in client.scan_iter(f"{prefix}*"):
        parts.append(key.decode())
        kind = client.type(key).decode()
        if kind == "string":
            parts.append(str(client.get(key)))
        elif kind == "zset":
            parts.extend(f"{m!r} {s}" for m, s in client.zrange(key, 0, -1, withscores=True))
        elif kind == "hash":
            parts.extend(f"{k!r} {v!r}" for k, v in client.hgetall(key).items())
        else:
            parts.append(f"{kind}?")
    client.close()
    return "\n".join(parts)


def slices(ids: list[Any], n: int) -> list[list[Any]]:
    return [ids[i::n] for i in range(n)]


# -- AppNexus: 100 reads per member per minute ------------------------------------------------------------------


def test_4_processes_share_one_appnexus_member_quota(redis_server: RedisServer, prefix: str) -> None:
    # A vendor minute lasts two real seconds; 40 reads a minute keeps the machine (sandbox and 4 workers on 2 cores)
    # well below its own limit, so the rule, not the CPU, sets the pace. Every real millisecond the machine adds to a
    # request still costs 0.03 vendor seconds of the minute, where against the real API it costs nothing.
    # 30 tasks a process: 120 reads are three full minutes of the member's quota, so every process waits on the
    # shared log twice; more tasks would add only vendor minutes of the same waiting.
    speed, reads, tasks = 30, 40, 30
    users = {f"worker-{n}": SandboxUser(f"pw-{n}-secret", 958) for n in range(PROCESSES)}
    app = AppNexusSandbox(speed=speed, reads=reads, users=users)
    ids = app.seed_line_items(10 * tasks, advertisers=tasks)  # one small page per task
    advertisers = sorted({item["advertiser_id"] for item in app.data["line-item"].values()})
    with serve(app) as url:
        jobs = [
            {
                "vendor": "appnexus",
                "url": url,
                "redis": redis_server.url,
                "prefix": prefix,
                "speed": speed,
                "username": user,
                "password": users[user].password,
                "member": "958",
                "reads": reads,
                "slices": advertisers,
            }
            for user in users
        ]
        written: list[str] = []

        def dump_mid_run() -> None:
            # The member's sliding log lapses two real seconds after its last entry (a vendor minute at speed 30):
            # read the keys while the run writes them, as well as after it.
            wait_for(lambda: app.count("GET") >= PROCESSES * tasks // 2)
            written.append(dump(redis_server.url, prefix))

        results = run(jobs, during=dump_mid_run)
    assert app.violations == []
    for result in results:
        assert result["errors"] == []
        assert sorted(result["ids"]) == sorted(ids)  # each entity exactly once per process
    reads_at = sorted(r.at for r in app.records if r.method == "GET")
    assert len(reads_at) == PROCESSES * tasks
    # The rule lets read k+40 go one vendor minute after read k, no sooner; the mean of those cycles is the rate.
    cycles = [later - earlier for earlier, later in zip(reads_at, reads_at[reads:], strict=False)]
    assert min(cycles) > 60.0
    # How close the shared quota comes to the allowed rate is a wall-clock figure: benchmarks/shared_quota.py.
    secrets = [user.password for user in users.values()] + list(app._sessions)
    assert_no_secret_in_redis(redis_server.url, prefix, secrets, expect="appnexus:member:958", also=written)
    assert_few_redis_calls(results)


def assert_few_redis_calls(results: list[dict[str, Any]]) -> None:
    """Waiting costs no polling: a take, a settle, and at most one denied take per process racing for each opening."""
    calls = sum(r["calls"] for r in results) / sum(r["requests"] for r in results)
    assert calls <= 2 + len(results), f"{calls:.2f} Redis round trips per request"


def assert_no_secret_in_redis(
    redis_url: str, prefix: str, secrets: list[str], *, expect: str, also: list[str] | None = None
) -> None:
    """No secret in what the run left under ``prefix``, nor in the dumps ``also`` taken while it ran."""
    written = "\n".join([*(also or []), dump(redis_url, prefix)])
    assert expect in written  # the scan saw the keys of this run
    assert not [s for s in secrets if s in written]


def test_4_processes_of_one_appnexus_user_keep_15_in_flight_between_them(
    redis_server: RedisServer, prefix: str
) -> None:
    # No quota pressure: only the concurrency rule. The first requests stay at the server until the 15 places have
    # all been taken at once (tests/sandboxes.py), so the cap is seen to be reached whatever the machine's load.
    app = FillsTheCap(speed=60, reads=10_000, latency=0.03)
    tasks = 25
    ids = app.seed_line_items(10 * tasks, advertisers=tasks)
    advertisers = sorted({item["advertiser_id"] for item in app.data["line-item"].values()})
    with serve(app) as url:
        job = {"vendor": "appnexus", "url": url, "redis": redis_server.url, "prefix": prefix, "speed": 60}
        job |= {"username": "api-user", "password": "secret", "member": "1", "reads": 10_000, "slices": advertisers}
        results = run([job] * PROCESSES)
    assert app.violations == []
    # 100 tasks against 15 places: the processes filled the 15 between them (a cap read too low, or places not
    # handed on, stays below), never more (a violation above).
    assert app.peak_in_flight == 15
    for result in results:
        assert result["errors"] == []
        assert sorted(result["ids"]) == sorted(ids)


# -- PulsePro: one token bucket per organization ----------------------------------------------------------------


def test_4_processes_share_one_pulsepro_bucket(redis_server: RedisServer, prefix: str) -> None:
    # 100 calls: a burst of 60, then 40 at one per vendor second, shared by the 4 processes; more calls would add
    # only vendor seconds of the same waiting.
    speed, per_task, tasks = 30, 1, 25
    app = PulseProSandbox(speed=speed, inspections=PROCESSES * tasks)
    ids = [item["id"] for item in app.inspections][: tasks * per_task]
    with serve(app) as url:
        job = {"vendor": "pulsepro", "url": f"{url}/api/v1", "redis": redis_server.url, "prefix": prefix}
        results = run([{**job, "api_key": "test-key", "speed": speed, "slices": slices(ids, tasks)}] * PROCESSES)
    assert app.rate_violations == 0
    assert not [r for r in app.records if r.status == 429]
    for result in results:
        assert result["errors"] == []
        assert sorted(result["ids"]) == sorted(ids)
    times = sorted(r.at for r in app.records if r.status == 200)
    assert len(times) == PROCESSES * tasks * per_task
    # How fast the burst and the refill are used is a wall-clock figure on a real socket: benchmarks/shared_quota.py
    # measures the shared rate; tests/vendors/test_pulsepro_rate.py proves the schedule exactly in virtual time.
    assert_no_secret_in_redis(redis_server.url, prefix, ["test-key"], expect="pulsepro:")
    assert_few_redis_calls(results)


# -- Ooyala Pulse: one request in flight per credentials --------------------------------------------------------


def test_4_processes_take_turns_on_one_ooyala_slot(redis_server: RedisServer, prefix: str) -> None:
    app = OoyalaSandbox(latency=0.002)
    ids = app.seed("campaign", TASKS)
    with serve(app) as url:
        job = {"vendor": "ooyala", "url": url, "redis": redis_server.url, "prefix": prefix, "api_key": "sandbox-key"}
        results = run([{**job, "slices": slices(ids, TASKS)}] * PROCESSES)
    assert app.violations == []  # not one overlap among 200 requests from 4 processes
    for result in results:
        assert result["errors"] == []
        assert sorted(result["ids"]) == sorted(ids)
    assert app.count("GET") == PROCESSES * len(ids)
    assert_no_secret_in_redis(redis_server.url, prefix, ["sandbox-key"], expect="ooyala:")
    assert_few_redis_calls(results)


def test_a_killed_lease_holder_frees_the_ooyala_slot_when_its_lease_ends(
    redis_server: RedisServer, prefix: str
) -> None:
    lease = 1.5
    app = OoyalaSandbox(latency=0.002)
    ids = app.seed("campaign", 40)
    with serve(app) as url:
        job = {"vendor": "ooyala", "url": url, "redis": redis_server.url, "prefix": prefix, "api_key": "sandbox-key"}
        jobs = [{**job, "lease": lease, "slices": [[ids[0]]]}]
        jobs += [{**job, "lease": lease, "slices": slices(ids, 20)}] * 2
        with workers(jobs) as (victim, *others):
            app.latency = 0.6  # the victim's request is long enough to die in the middle of
            victim.go()
            wait_for(lambda: bool(app.busy), within=10)
            victim.process.kill()  # SIGKILL: no cleanup, no lease given back
            # When the victim's lease runs out, by Redis: no sooner than this (read before Redis was asked).
            lease_ends = lease_end(redis_server.url, prefix, app.clock.now())
            app.latency = 0.002
            for w in others:
                w.go()
            results = [w.finish() for w in others]
    assert victim.process.exitcode == -signal.SIGKILL
    assert app.violations == []  # the victim's request ran to its end on the server; nobody overlapped it
    for result in results:
        assert result["errors"] == []
        assert sorted(result["ids"]) == sorted(ids)
    records = sorted(app.records, key=lambda r: r.at)
    killed = next(r for r in records if ids[0] in r.path)
    first_after = next(r for r in records if r.at > killed.at)
    # Nobody went when the victim's request ended (0.6 s), only once its lease (1.5 s) had run out in Redis; and the
    # others went on then (they finished, above). Load can only make the first of them later.
    assert first_after.at >= lease_ends


def lease_end(redis_url: str, prefix: str, now: float) -> float:
    """``now`` plus what is left of the one Serial lease under ``prefix``: never after the lease's real end."""
    import redis

    client = redis.Redis.from_url(redis_url)
    (key,) = list(client.scan_iter(f"{prefix}*:lease"))
    left_ms = client.pttl(key)
    client.close()
    assert left_ms > 0, "the victim's lease was gone at once"
    return now + left_ms / 1000


def test_one_429_pauses_every_process_of_the_account(redis_server: RedisServer, prefix: str) -> None:
    # A vendor second lasts 0.2 real s: one admission per vendor second past the burst, so only a request admitted
    # in the instant before the 429's pause reached Redis can still arrive inside the pause.
    speed = 5
    app = PulseProSandbox(speed=speed, inspections=100)
    ids = [item["id"] for item in app.inspections][:18]
    with serve(app) as url:
        job = {"vendor": "pulsepro", "url": f"{url}/api/v1", "redis": redis_server.url, "prefix": prefix}
        job |= {"api_key": "test-key", "speed": speed, "slices": slices(ids, 18)}

        def refuse_one_call_past_the_burst() -> None:
            wait_for(lambda: app.count() >= 62, within=20)  # past the burst (60): one call per vendor second
            app.inject(Fault("status", status=429, headers={"Retry-After": "5"}, path="/inspections/"))

        results = run([job] * PROCESSES, during=refuse_one_call_past_the_burst)
    for result in results:
        assert result["errors"] == []  # the refused call was retried after the pause
        assert sorted(result["ids"]) == sorted(ids)
    records = sorted(app.records, key=lambda r: r.at)
    refused = [r for r in records if r.status == 429]
    assert len(refused) == 1
    after = [r.at - refused[0].at for r in records if r.at > refused[0].at]
    assert len(records) == 4 * 18 + 1  # each process's 18 reads once, and the refused one again
    assert after, "nothing was sent after the pause"
    # No process of the account sent anything for Retry-After: 5 vendor seconds, but the one request the shared
    # bucket may have admitted before the pause was known.
    assert sum(1 for wait in after if wait < 5.0) <= 1, after


def test_a_process_with_a_clock_10_s_off_keeps_the_shared_rule(redis_server: RedisServer, prefix: str) -> None:
    speed, reads = 60, 40
    users = {"steady": SandboxUser("pw-steady", 7), "skewed": SandboxUser("pw-skewed", 7)}
    app = AppNexusSandbox(speed=speed, reads=reads, users=users)
    ids = app.seed_line_items(10 * TASKS, advertisers=TASKS)
    advertisers = sorted({item["advertiser_id"] for item in app.data["line-item"].values()})
    with serve(app) as url:
        job = {"vendor": "appnexus", "url": url, "redis": redis_server.url, "prefix": prefix, "speed": speed}
        job |= {"member": "7", "reads": reads, "slices": advertisers}
        results = run(
            [
                {**job, "username": user, "password": users[user].password, "skew": 10.0 if user == "skewed" else 0}
                for user in users
            ]
        )
    assert app.violations == []
    for result in results:
        assert result["errors"] == []
        assert sorted(result["ids"]) == sorted(ids)


def test_2_processes_keep_the_rule_while_redis_is_down_and_resume_sharing(prefix: str) -> None:
    """``on_store_error="local"``: Redis is killed mid-run and restarted empty; the member's rule holds throughout."""
    speed, reads = 60, 20
    users = {"a": SandboxUser("pw-a-secret", 5), "b": SandboxUser("pw-b-secret", 5)}
    app = AppNexusSandbox(speed=speed, reads=reads, users=users)
    ids = app.seed_line_items(10 * TASKS, advertisers=TASKS)
    advertisers = sorted({item["advertiser_id"] for item in app.data["line-item"].values()})
    with RedisServer() as redis, serve(app) as url:
        job = {"vendor": "appnexus", "url": url, "redis": redis.url, "prefix": prefix, "speed": speed}
        job |= {"member": "5", "reads": reads, "slices": advertisers, "on_store_error": "local", "expected": 2}
        job |= {"store_timeout": 0.3, "retry_every": 0.2}

        def outage() -> None:
            wait_for(lambda: app.count("GET") >= 30)  # a window and a half shared
            redis.stop()
            wait_for(lambda: app.count("GET") >= 60)  # at least a window metered locally, on half the budget each
            redis.start()

        results = run([{**job, "username": u, "password": users[u].password} for u in users], during=outage)
    assert app.violations == []
    for result in results:
        assert result["errors"] == []
        assert sorted(result["ids"]) == sorted(ids)
        assert result["log"].count("unreachable") == 1  # logged once per outage
        assert result["log"].count("shared mode resumes") == 1
