"""``adops quota``: what the gates hold back. With ``--redis URL``, every shared account's state across the fleet.

A process's gate lives in that process, so the one view of a whole fleet is the :class:`~adops_async.RedisStore` its
processes share. ``--redis`` reads the store's keys (``core/shared.py``, ``core/steps.py`` and ``core/_scripts.lua``
say what each holds; ``core/jobs.py`` the job quotas) and shows, per account key, what every process together has
used and what is left, on the Redis server's clock (``TIME``), as the store's own script counts. It only reads:
``SCAN``, then one ``MULTI`` of reads with ``TIME``, so the snapshot is consistent. Keys carry hashed identities
(:func:`~adops_async.core.shared.identity`) and values hold times and random tokens; no token is printed.

Redis holds the usage, not the limits (each process passes its own with every call), so "left" is counted against the
vendor client's default limits (``AppNexus(reads=100, writes=60, per=60)`` and so on, read from the client's
signature; a key of no known vendor: the policy's defaults); each line says which limit it used.

Without ``--redis`` it shows the gates of the clients the command itself builds from the environment or ``--config``
(or ``--sandbox``). A fresh process has sent nothing, so those gates are idle: the view tells what each vendor's
client starts with (budgets, slots, store mode), not what another process is doing.

``--watch SECONDS`` redraws the block in place on a terminal; anywhere else it prints a new block each time, never a
``\\r`` (like the status line of :mod:`adops_async.cli._status`).
"""

from __future__ import annotations

import argparse
import inspect
import shutil
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

import anyio

from ..core.client import BaseClient
from ..core.errors import QuotaStoreUnavailable
from ..core.jobs import JobQuota
from ..core.meters import Gcra, GcraState, SlidingLog, WindowLog
from ..core.policies import ReadWriteQuota, Serial, TokenBucket
from ._commands import _client
from ._vendors import VENDORS, UsageError, load_config, settings, unknown

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["add_quota_parser", "run_quota"]

HELP = "show the gates' budgets, waiters and cooldowns; with --redis, every shared account of the fleet"
DESCRIPTION = """\
With --redis URL (the main use): the state of every account whose quota the fleet's processes share through that
RedisStore (the same URL and --prefix as theirs), read live and read-only: reads and writes used in the current window
and left, token-bucket calls left, requests in flight, the one-at-a-time slot's holder and queue, the pause after a
rate signal, report jobs held. "left" counts against each vendor client's default limits (the line names the limit).

Without --redis: the gates this command builds for the vendors configured in the environment or --config (or the
built-in sandboxes with --sandbox). A fresh process has sent nothing, so these gates are idle: the view shows what
each client starts with (budgets, slots, store mode), not what other processes are doing."""

_PARTS = ("reads", "writes", "bucket", "flying", "lease", "queue", "seen", "cooldown", "jobs")
"""The key suffixes of the shared state (``tickets`` and ``epoch`` are bookkeeping, shown nowhere)."""


def add_quota_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register ``adops quota`` on the subparsers ``commands``."""
    quota = commands.add_parser(
        "quota",
        parents=[common],
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    names = ", ".join(sorted(VENDORS))
    quota.add_argument("vendors", nargs="*", metavar="VENDOR", help=f"only these ({names}; default: all)")
    quota.add_argument("--redis", metavar="URL", help="the fleet's RedisStore, e.g. redis://host:6379/0")
    quota.add_argument("--prefix", default="adops:", help="the RedisStore's key prefix (default: adops:)")
    quota.add_argument("--timeout", type=float, default=2.0, help="seconds Redis may take to answer (default: 2)")
    quota.add_argument("--sandbox", action="store_true", help="without --redis: the clients of the built-in sandboxes")
    quota.add_argument("--watch", type=float, metavar="SECONDS", help="refresh every SECONDS until interrupted")
    quota.add_argument("--count", type=int, metavar="N", help="with --watch: stop after N views")
    quota.set_defaults(speed=1.0)  # the sandbox speed _client reads; an idle gate looks the same at any speed


async def run_quota(args: argparse.Namespace) -> int:
    """``adops quota``: one view, or one every ``--watch`` seconds; 0 once shown."""
    for name in args.vendors:
        if name not in VENDORS:
            raise unknown("vendor", name, VENDORS)
    if args.watch is not None and args.watch <= 0:
        raise UsageError("--watch takes a positive number of seconds")
    if args.count is not None and args.count < 1:
        raise UsageError("--count takes a positive number")
    screen = Screen(sys.stdout)
    async with AsyncExitStack() as stack:
        if args.redis is not None:
            if args.sandbox:
                raise UsageError("--sandbox shows this process's own gates; it does not go with --redis")
            fleet = Fleet(args.redis, args.prefix, args.vendors, timeout=args.timeout)
            stack.push_async_callback(fleet.aclose)
            view: Callable[[], Awaitable[list[str]]] = fleet.view
        else:
            clients = await _local_clients(args, stack)
            view = _local_view(clients)
        shown = 0
        while True:
            screen.show(await view())
            shown += 1
            if args.watch is None or (args.count is not None and shown >= args.count):
                return 0
            await anyio.sleep(args.watch)


class Screen:
    """Shows one block of lines: on a terminal each new block replaces the last; elsewhere blocks follow each other,
    a blank line apart (plain lines, no ``\\r`` and no cursor movement)."""

    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", None)
        self.live = live if live is not None else bool(isatty and isatty())
        self._drawn = 0

    def show(self, lines: Sequence[str]) -> None:
        """Show ``lines`` as the current block."""
        if self.live:
            width = shutil.get_terminal_size().columns - 1  # a wrapped line would throw the redraw off
            if self._drawn:
                self.stream.write(f"\x1b[{self._drawn}F\x1b[J")  # up to the block's first line, then clear below
            self.stream.write("".join(line[:width] + "\n" for line in lines))
            self._drawn = len(lines)
        else:
            self.stream.write(("\n" if self._drawn else "") + "".join(line + "\n" for line in lines))
            self._drawn += 1
        self.stream.flush()


# -- without --redis: this process's own gates -----------------------------------------------------------------------


async def _local_clients(args: argparse.Namespace, stack: AsyncExitStack) -> dict[str, BaseClient]:
    names = args.vendors or sorted(VENDORS)
    if not args.sandbox and not args.vendors:
        # Every vendor the environment or --config gives credentials for; an incomplete set is still an error.
        config = load_config(args.config)
        names = [name for name in names if _configured(name, config.get(name, {}))]
        if not names:
            raise UsageError(
                "no vendor credentials in the environment or --config (adops --help lists them); "
                "use --sandbox, or --redis URL to see the processes sharing a RedisStore"
            )
    return {name: await stack.enter_async_context(_client(args, VENDORS[name])) for name in names}


def _configured(name: str, table: Mapping[str, Any]) -> bool:
    try:
        settings(VENDORS[name], table)
    except UsageError as exc:
        if str(exc).startswith(f"no {name} credentials"):
            return False
        raise
    return True


def _local_view(clients: Mapping[str, BaseClient]) -> Callable[[], Awaitable[list[str]]]:
    async def view() -> list[str]:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines = [f"this process's gates at {stamp} (idle: a fresh process has sent nothing; --redis shows the fleet)"]
        for name, client in clients.items():
            lines.extend(gate_lines(name, client))
        return lines

    return view


def gate_lines(name: str, client: BaseClient) -> list[str]:
    """The lines of one client's gate (:meth:`~adops_async.Gate.stats`) and report slots."""
    gate = client.gate
    stats = gate.stats()
    store = {None: "this process", "shared": "shared (Redis)", "local": "local share (Redis not answering)"}
    lines = [f"{name}  store: {store.get(stats.store, str(stats.store))}"]
    budgets = ", ".join(f"{budget} {left}" for budget, left in stats.budgets.items())
    lines.append(_row("budgets", budgets or "no call budget"))
    capacity = "no cap" if stats.capacity is None else f"of {stats.capacity}"
    lines.append(_row("in flight", f"{stats.in_flight} {capacity}"))
    waiting = ", ".join(f"{prio.name.lower()} {n}" for prio, n in stats.waiters.items() if n)
    lines.append(_row("waiters", waiting or "none"))
    now = gate.clock.now()
    left = (
        0.0 if stats.cooldown_until is None else (stats.cooldown_until - now) / float(getattr(gate.clock, "speed", 1))
    )
    lines.append(_row("cooldown", f"{left:.1f} s left" if left > 0 else "none"))
    slots = getattr(client, "report_slots", None)
    if isinstance(slots, JobQuota):
        lines.append(_row("jobs", f"{slots.held(now)} held of {slots.limit}"))
    return lines


def _row(label: str, text: str) -> str:
    return f"  {label:<10} {text}"


# -- with --redis: the fleet's shared state --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """The limits "left" is counted against, for the keys of one vendor."""

    reads: int
    writes: int
    window: float
    rate: float
    per: float
    burst: int
    in_flight: int | None
    jobs: int | None

    @classmethod
    def of(cls, vendor: str) -> Limits:
        """The vendor client's defaults (its constructor's), else the policies' own."""
        spec = VENDORS.get(vendor)
        own = _defaults(spec.client) if spec is not None else {}
        quota, bucket = _defaults(ReadWriteQuota), _defaults(TokenBucket)
        return cls(
            reads=own.get("reads", quota["reads"]),
            writes=own.get("writes", quota["writes"]),
            window=own.get("per", quota["per"]) if "reads" in own else quota["per"],
            rate=own.get("rate", bucket["rate"]),
            per=own.get("per", bucket["per"]) if "rate" in own else bucket["per"],
            burst=own.get("burst", bucket["burst"]),
            in_flight=own.get("max_in_flight"),
            jobs=own.get("reports_pending"),
        )


def _defaults(function: Callable[..., Any]) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


class Fleet:
    """The shared state under one RedisStore's ``prefix``, read-only."""

    def __init__(self, url: str, prefix: str, vendors: Sequence[str] = (), *, timeout: float = 2.0) -> None:
        try:
            from redis.asyncio import Redis
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise UsageError("--redis needs redis-py: pip install 'adops-async[redis]'") from exc
        parts = urlsplit(url)
        # Never the URL itself: it may carry a password.
        self.where = f"{parts.hostname}:{parts.port or 6379}{parts.path}" if parts.hostname else parts.path
        self.redis: Redis = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.prefix = prefix
        self.vendors = tuple(vendors)
        self.timeout = timeout

    async def aclose(self) -> None:
        """Close the connection to Redis."""
        await self.redis.aclose()

    async def view(self) -> list[str]:
        now, accounts = await self.read()
        stamp = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        counted = f"{len(accounts)} account{'' if len(accounts) == 1 else 's'}"
        lines = [f"Redis {self.where}, prefix {self.prefix!r}, server time {stamp}: {counted}"]
        if not accounts:
            lines.append("  no shared quota state under this prefix (no process has used it lately)")
        for account, state in sorted(accounts.items()):
            lines.append(account)
            lines.extend(account_lines(account, state, now))
        return lines

    async def read(self) -> tuple[float, dict[str, dict[str, Any]]]:
        """The server's time and, per account key (without the prefix), each part's raw value at that time."""
        from redis.exceptions import RedisError

        try:
            with anyio.fail_after(self.timeout * 4):
                keys = [key async for key in self.redis.scan_iter(match=_glob(self.prefix) + "*", count=1000)]
                found = sorted(self._parts(keys))
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.time()
                    for key, _, part in found:
                        _read(pipe, key, part)
                    results = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError, TimeoutError) as exc:
            raise QuotaStoreUnavailable(f"Redis at {self.where} did not answer ({type(exc).__name__})") from None
        seconds, micros = results[0]
        accounts: dict[str, dict[str, Any]] = {}
        index = 1
        for _, account, part in found:
            count = 2 if part == "lease" else 1
            values = results[index : index + count]
            index += count
            if not any(isinstance(value, Exception) for value in values):  # a key of another type: not ours
                accounts.setdefault(account, {})[part] = values if part == "lease" else values[0]
        return seconds + micros / 1e6, accounts

    def _parts(self, keys: list[bytes]) -> list[tuple[bytes, str, str]]:
        found = []
        for key in keys:
            name = key.decode(errors="replace")[len(self.prefix) :]
            account, _, part = name.rpartition(":")
            if part not in _PARTS or not account:
                continue
            if self.vendors and account.split(":", 1)[0] not in self.vendors:
                continue
            found.append((key, account, part))
        return found


def _glob(text: str) -> str:
    """``text`` as a literal in a Redis ``MATCH`` pattern."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _read(pipe: Any, key: bytes, part: str) -> None:
    if part in ("reads", "writes", "flying", "jobs"):
        pipe.zrange(key, 0, -1, withscores=True)
    elif part == "bucket":
        pipe.hmget(key, ["tat", "hold_left", "hold_until"])
    elif part == "lease":
        pipe.get(key)
        pipe.pttl(key)
    elif part == "queue":
        pipe.zrange(key, 0, -1)
    elif part == "seen":
        pipe.hgetall(key)
    else:  # cooldown
        pipe.get(key)


def account_lines(account: str, state: Mapping[str, Any], now: float) -> list[str]:
    """What one account's shared state means at server time ``now`` (clock seconds of a client at speed 1)."""
    limits = Limits.of(account.split(":", 1)[0])
    lines = []
    for kind, limit in (("reads", limits.reads), ("writes", limits.writes)):
        if kind in state:
            lines.append(_row(kind, _log(state[kind], limit, limits.window, now)))
    if "bucket" in state:
        lines.append(_row("bucket", _bucket(state["bucket"], limits, now)))
    if "flying" in state:
        flying = sum(1 for _, score in state["flying"] if score > now)
        cap = "" if limits.in_flight is None else f" of {limits.in_flight}"
        lines.append(_row("in flight", f"{flying}{cap}"))
    if "lease" in state or "queue" in state:
        lines.append(_row("serial", _serial(state, now)))
    pause = None if state.get("cooldown") is None else float(state["cooldown"]) - now
    if pause is not None and pause > 0:
        lines.append(_row("pause", f"{pause:.1f} s left"))
    if "jobs" in state:
        jobs = sum(1 for _, score in state["jobs"] if score > now)
        cap = "" if limits.jobs is None else f" of {limits.jobs}"
        lines.append(_row("jobs", f"{jobs} held{cap}"))
    return lines


def _log(entries: list[tuple[bytes, float]], limit: int, window: float, now: float) -> str:
    """A sliding log (member -> when it stops counting as in flight, then when its response came)."""
    log = WindowLog(
        done=deque(sorted(score for _, score in entries if score <= now)),
        in_flight=sum(1 for _, score in entries if score > now),  # admitted; its release has not rewritten it yet
    )
    left = SlidingLog(limit, window).left(log, now)  # drops what the window no longer holds
    used = len(log.done) + log.in_flight
    return f"{used} used ({log.in_flight} in flight), {left} left of {limit} per {window:g} s"


def _bucket(fields: list[bytes | None], limits: Limits, now: float) -> str:
    """A GCRA bucket (its TAT), lowered by the vendor's ``RateLimit-Remaining`` until ``hold_until``."""
    tat, hold_left, hold_until = (float("-inf") if value is None else float(value) for value in fields)
    left = Gcra(limits.rate, limits.per, limits.burst).left(GcraState(tat), now)
    held = ""
    if hold_until > now:
        left = min(left, int(max(0.0, hold_left)))
        held = f", held by the vendor's Remaining for {hold_until - now:.1f} s"
    return f"{left} left of {limits.burst}, refilling {limits.rate:g} per {limits.per:g} s{held}"


def _serial(state: Mapping[str, Any], now: float) -> str:
    """The one-at-a-time slot: its lease (a holder's random token, or ``recovering``) and its ticket queue."""
    holder, ttl = state.get("lease", (None, -2))
    if holder is None:
        held = "free"
    elif holder == b"recovering":
        held = f"closed for {ttl / 1000:.1f} s (Redis restarted; a holder may still run)"
    else:
        held = f"held ({ttl / 1000:.1f} s of lease left)"
    seen = {token: float(at) for token, at in state.get("seen", {}).items()}
    # A waiter that stopped asking for Serial.STALE seconds (its process died) has lost its place.
    waiting = sum(1 for token in state.get("queue", []) if seen.get(token, float("-inf")) >= now - Serial.STALE)
    return f"{held}, {waiting} waiting"
