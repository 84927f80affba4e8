"""RedisStore: one vendor budget shared by every process and host of an account.

A gate whose policies are given ``store=RedisStore(...)`` keeps their state in Redis instead of this process. Every
admission is one Lua script (``_scripts.lua``): it checks the shared pause, the sliding logs, the token bucket and the
Serial lease, and takes from all of them at once, atomically, on the Redis server's clock (``TIME``), so hosts whose
clocks drift still agree. A denied take answers with the wait until the next slot opens, so waiting costs no polling;
Serial waiters are also woken by pub/sub when the lease is freed. Each request costs about one round trip: its take,
which carries the settles this process owes (a settle that frees a place another process may wait for is sent at once
unless a take of this process goes with it straight away; a sliding-log release waits at most ``settle_delay``).

The arithmetic is the memory store's (:mod:`adops_async.core.meters`), written again in Lua; the tests run the same
policy scenarios against both stores.

redis-py's asyncio client runs on asyncio only, so a gate with a RedisStore does too.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import anyio
import anyio.lowlevel

from .errors import QuotaStoreUnavailable
from .redact import Secret
from .steps import Step

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

__all__ = ["Grant", "RedisStore"]

logger = logging.getLogger("adops_async.shared")

_SCRIPT = resources.files(__package__).joinpath("_scripts.lua").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Grant:
    """What a shared take answered."""

    admitted: bool
    wait: float
    """Clock seconds until the take surely succeeds (0 when admitted)."""
    sure: float = 0.0
    """Refused: clock seconds before which it surely fails again. Less than :attr:`wait` where the opening hinges on
    requests in flight, whose releases may come any time: asking before ``wait`` may succeed, asking before ``sure``
    cannot, so only ``sure`` may refuse a call at once for its deadline."""
    blocker: str = ""
    """The step type that said no (``"S"``: another process holds the Serial lease)."""
    seq: int = 0
    """The token bucket's admission number, to tell later admissions apart from the one a response answers."""
    epoch: str = ""
    """The store's epoch: it changes when Redis restarted empty."""
    next_wait: float | None = 0.0
    """Admitted: clock seconds until a next take of the same steps can succeed, as far as that is sure; ``None``
    when the sliding log's next opening hinges on requests in flight (whose releases then matter to others)."""


@dataclass(frozen=True)
class _Owed:
    """Settle steps that wait for this process's next take, and when they were built (on their gate's clock)."""

    steps: tuple[Step, ...]
    since: float
    now: Callable[[], float]


def identity(value: str | Secret) -> str:
    """A stable, non-reversible key part for a username or an API key: a secret never goes into Redis."""
    text = value.reveal() if isinstance(value, Secret) else value
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class RedisStore:
    """Gate state in Redis (or Valkey), shared by every process and host that uses the same keys.

    Args:
        redis: a URL (``redis://host:6379/0``) or your own ``redis.asyncio.Redis`` (you keep ownership of it).
        prefix: put before every key, so several applications can share one Redis.
        on_store_error: ``"fail"`` (default) raises :class:`~adops_async.QuotaStoreUnavailable` when Redis does not
            answer or refuses (out of memory, read-only, loading: any redis-py error), and nothing is sent;
            ``"local"`` meters ``1 / expected_processes`` of each budget in this process until Redis is back (logged
            once per outage), then shared mode resumes.
        expected_processes: how many processes share the account, for the ``"local"`` share.
        lease: real seconds a Serial holder owns the slot without renewing (renewed every third of it while the request
            runs; a request is stopped before its lease ends), and the longest a sliding-log entry counts as in
            flight after its process died.
        timeout: seconds one Redis call may take before it counts as a store error.
        retry_every: after a store error in ``"local"`` mode, seconds before Redis is asked again.
        time: clock seconds to use instead of the server's ``TIME`` (virtual-time tests only).
        settle_delay: real seconds a sliding-log release may wait to travel with this process's next take instead of
            costing a round trip of its own (0: sent at once). It lands as if sent when the request ended.

    Use it as ``store=`` of a vendor client (its default gate is then shared) or of :class:`ReadWriteQuota`,
    :class:`TokenBucket`, :class:`Cooldown` and :class:`Serial`. Close it with :meth:`aclose`.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        prefix: str = "adops:",
        on_store_error: Literal["fail", "local"] = "fail",
        expected_processes: int = 1,
        lease: float = 30.0,
        timeout: float = 2.0,
        retry_every: float = 1.0,
        time: Callable[[], float] | None = None,
        settle_delay: float = 0.1,
    ) -> None:
        try:
            from redis.asyncio import Redis
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("RedisStore needs redis-py: pip install 'adops-async[redis]'") from exc
        if on_store_error not in ("fail", "local"):
            raise ValueError('on_store_error is "fail" or "local"')
        if expected_processes < 1 or lease <= 0 or timeout <= 0 or settle_delay < 0:
            raise ValueError(
                "expected_processes must be at least 1; lease and timeout positive; settle_delay not negative"
            )
        self._owns_redis = isinstance(redis, str)
        self.redis: Redis = (
            Redis.from_url(redis, socket_timeout=timeout, socket_connect_timeout=timeout)
            if isinstance(redis, str)
            else redis
        )
        """The redis-py client (ours when a URL was given, closed by :meth:`aclose`)."""
        self.prefix = prefix
        """Put before every key."""
        self.on_store_error = on_store_error
        """``"fail"`` or ``"local"``: what a call does when Redis does not answer."""
        self.expected_processes = expected_processes
        """How many processes share the account, for the ``"local"`` share."""
        self.lease = lease
        """Real seconds a holder owns a shared place without renewing it."""
        self.timeout = timeout
        """Seconds one Redis call may take before it counts as a store error."""
        self.retry_every = retry_every
        """Seconds before Redis is asked again after a store error in ``"local"`` mode."""
        self.time = time
        """Clock seconds used instead of the server's ``TIME``, or ``None`` (virtual-time tests only)."""
        self.settle_delay = settle_delay
        """Real seconds a sliding-log release may wait for this process's next take."""
        self.calls = 0
        """Redis round trips so far (takes, settles, renewals), for measuring the cost per request."""
        self._script = self.redis.register_script(_SCRIPT)
        self._pubsubs: dict[str, PubSub] = {}
        self._owed: dict[float, list[_Owed]] = {}
        """Settle steps not sent yet, per clock speed (a script call runs on one speed's time)."""
        self._pressing: set[float] = set()
        """Speeds whose owed steps free a place another process may wait for: sent at once (:meth:`send_pressing`)."""
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    def key(self, *parts: str) -> str:
        """``prefix`` + ``parts`` joined by ``:``."""
        return self.prefix + ":".join(parts)

    @staticmethod
    def token() -> str:
        """A random id for one admission (its sliding-log entry, its Serial lease)."""
        return secrets.token_hex(12)

    def __repr__(self) -> str:
        # The connection's repr would carry its password; the prefix says enough.
        return f"RedisStore(prefix={self.prefix!r}, on_store_error={self.on_store_error!r})"

    async def aclose(self) -> None:
        """Send the settles still owed, close pub/sub connections, and the Redis client if the store created it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with anyio.CancelScope(shield=True):
            await self._flush_all()
            if self._flushes:
                await asyncio.gather(*self._flushes, return_exceptions=True)
        pubsubs, self._pubsubs = list(self._pubsubs.values()), {}
        for pubsub in pubsubs:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except Exception:
                logger.debug("closing a pub/sub connection failed", exc_info=True)
        if self._owns_redis:
            await self.redis.aclose()

    # -- the script ----------------------------------------------------------------------------------------------

    async def _run(self, op: str, steps: Sequence[Step], speed: float, epoch: str = "") -> Any:
        keys: list[str] = []
        args: list[str | float] = []
        for step in steps:
            keys.extend(step.keys)
            args.extend(step.argv())
        return await self._call(op, keys, args, speed, epoch)

    async def _call(self, op: str, keys: list[str], args: list[str | float], speed: float, epoch: str = "") -> Any:
        from redis.exceptions import RedisError

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("RedisStore runs on asyncio only (redis-py's asyncio client), not on trio") from None
        now = "" if self.time is None else repr(self.time())
        self.calls += 1
        try:
            with anyio.fail_after(self.timeout):
                return await self._script(
                    keys=[self.key("epoch"), *keys], args=[now, repr(speed), op, epoch, secrets.token_hex(8), *args]
                )
        except (RedisError, OSError, TimeoutError) as exc:
            # Not only an outage: a Redis out of memory (OutOfMemoryError), a read-only replica (ReadOnlyError) or a
            # script error cannot meter the call either. Its text names only the error type (a URL may hold a password).
            raise QuotaStoreUnavailable(f"the shared quota store did not answer ({type(exc).__name__})") from None

    async def take(self, steps: Sequence[Step], speed: float, epoch: str = "") -> Grant:
        """Admit one request against every step at once, or say how long until that is possible. The settles this
        process owes on ``speed`` travel with it (run first, whatever the take decides).

        ``epoch``: the one the caller last saw; steps marked ``"lost"`` run only if the store's differs.
        """
        owed = self._carry(speed)
        # Owed settles land even if the waiter is cancelled meanwhile, as a settle of their own would.
        with anyio.CancelScope(shield=bool(owed)):
            try:
                reply = await self._run("take", [*owed, *steps], speed, epoch)
            except QuotaStoreUnavailable:
                if owed:
                    logger.warning("could not settle with the shared store")
                raise
        admitted, value, extra, seen, opens = reply
        if admitted == b"1":
            next_wait = max(0.0, float(opens)) if opens else None
            return Grant(True, 0.0, seq=int(extra) if extra else 0, epoch=seen.decode(), next_wait=next_wait)
        wait, sure = max(0.0, float(value)), max(0.0, float(opens))
        return Grant(False, wait, sure=min(sure, wait), blocker=extra.decode(), epoch=seen.decode())

    async def settle(self, steps: Sequence[Step], speed: float) -> bool:
        """Release, pause and lower after a response (with the settles owed on ``speed``); ``True`` when the shared
        pause grew."""
        steps = [*self._carry(speed), *steps]
        if not steps:
            return False
        extended, _ = await self._run("settle", steps, speed)
        return bool(extended == b"1")

    # -- settles that travel with the next take ---------------------------------------------------------------

    def owe(self, steps: Sequence[Step], speed: float, now: Callable[[], float], *, pressing: bool) -> None:
        """Send ``steps`` (a settle, built at ``now()`` of the caller's clock) with this process's next call on
        ``speed``. ``pressing``: they free a place another process may wait for, so the caller then awaits
        :meth:`send_pressing`; otherwise they go at the latest :attr:`settle_delay` from now."""
        if not steps:
            return
        self._owed.setdefault(speed, []).append(_Owed(tuple(steps), now(), now))
        if pressing or self.settle_delay == 0:
            self._pressing.add(speed)
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.settle_delay, self._flush_soon)

    async def send_pressing(self, speed: float) -> None:
        """Send the pressing settles owed on ``speed`` now, unless a take of this process (a waiter the release just
        woke, which runs first) already carried them."""
        if speed not in self._pressing:
            return
        with anyio.CancelScope(shield=True):
            await anyio.lowlevel.checkpoint()
            if speed in self._pressing:
                await self._flush(speed)

    def _carry(self, speed: float) -> list[Step]:
        """The steps owed on ``speed``, each dated by how long it waited; no longer owed."""
        self._pressing.discard(speed)
        return [step.aged(owed.now() - owed.since) for owed in self._owed.pop(speed, ()) for step in owed.steps]

    def _flush_soon(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._flush_all())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush_all(self) -> None:
        for speed in list(self._owed):
            await self._flush(speed)

    async def _flush(self, speed: float) -> None:
        # Nothing that matters is lost if this fails: entries and leases expire on their own, conservatively.
        try:
            await self.settle((), speed)
        except QuotaStoreUnavailable:
            logger.warning("could not settle with the shared store")

    async def renew(self, steps: Sequence[Step], speed: float) -> bool:
        """Extend the leases a running request holds; ``False`` if any is no longer its own."""
        return bool(await self._run("renew", steps, speed))

    async def wait_freed(self, channel: str, within: float) -> None:
        """Wait up to ``within`` real seconds for a Serial lease on ``channel`` to be freed.

        The first call only subscribes and returns, so the caller's next take happens after the subscription and no
        release can slip between them. Errors fall back to sleeping out the timeout (bounded polling).
        """
        pubsub = self._pubsubs.get(channel)
        try:
            if pubsub is None:
                pubsub = self.redis.pubsub()
                with anyio.fail_after(self.timeout):
                    await pubsub.subscribe(channel)
                self._pubsubs[channel] = pubsub
                return
            with anyio.move_on_after(within):
                while await pubsub.get_message(ignore_subscribe_messages=True, timeout=within) is None:
                    pass
        except Exception:
            self._pubsubs.pop(channel, None)
            await anyio.sleep(within)
