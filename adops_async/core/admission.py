"""Shared admission: a gate's turn taken from a :class:`~adops_async.RedisStore` rather than from this process.

The in-process scheduler (:mod:`.gate`) decides which waiter goes next; when the gate's policies are shared, that
waiter then asks the store (one script for every shared policy, :mod:`.steps`) before it is admitted. This module
holds everything about that conversation: the take, the store's epoch (a Redis that restarted empty), falling back
to local metering while the store is down (``on_store_error="local"``) and writing back when it returns, settling
after the response (with the next take where that can wait: :meth:`RedisStore.owe`), and the lease guard that keeps a
running request's shared place alive.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol

import anyio

from .clock import Clock
from .errors import LeaseLost, QuotaStoreUnavailable
from .policies import Kind, Policy, Serial, Turn
from .shared import RedisStore
from .steps import Step

__all__ = ["LeaseGuard", "SharedAdmission"]

logger = logging.getLogger("adops_async.gate")


class SharedAdmission:
    """The shared half of a gate: its shared policies' state lives in ``store``.

    Args:
        store: the one store of the gate's shared policies.
        policies: those policies.
        clock: the gate's clock.
        on_mode_change: called when local metering starts or ends (capacities change with it).
    """

    def __init__(
        self, store: RedisStore, policies: Sequence[Policy], clock: Clock, on_mode_change: Callable[[], None]
    ) -> None:
        self.store = store
        self.policies = list(policies)
        self.clock = clock
        self.speed = float(getattr(clock, "speed", 1.0))
        self._on_mode_change = on_mode_change
        # Refusals that end when a holder elsewhere publishes its release: wait for that instead of polling.
        self._channels = {p.wakes: p.channel for p in self.policies if p.wakes}
        # Until when the store said no, per kind: no point asking again before.
        self._hint = dict.fromkeys(Kind, -math.inf)
        self._down_at: float | None = None
        """Clock time the store first failed, until a take succeeds again."""
        self.local = False
        """Metering locally (``on_store_error="local"``) while the store is down."""
        self._probe_at = 0.0
        self._epoch = ""
        self._crowded: set[Kind] = set()
        """Kinds whose last admitted take left the store's next opening hinging on requests in flight."""

    def ready_at(self, kind: Kind, now: float) -> float:
        """The earliest the store may say yes, as far as its last refusal tells (``now`` while metering locally)."""
        return now if self.local else self._hint[kind]

    def asks(self) -> bool:
        """Shared mode, or local mode and time to see whether the store is back."""
        return not self.local or anyio.current_time() >= self._probe_at

    async def take(self, slot: SlotState) -> bool:
        """Ask the store for ``slot``'s turn (one script for every shared policy); ``True`` if granted. ``False``:
        refused (after waiting for the holder's release where one is published), or the store failed and the gate
        now meters locally; the waiter is judged again either way."""
        now = self.clock.now()
        if slot.turn is None:  # one token per waiter, so a Serial waiter keeps its ticket across asks
            slot.turn = Turn(slot.kind, self.store.token(), self.speed, now)
        turn, down_at = slot.turn, self._down_at
        turn.now = now
        steps = [
            step
            for policy in self.policies
            for step in (*(policy.resume_steps(turn, down_at) if down_at is not None else ()), *policy.take_steps(turn))
        ]
        slot.lease_from = anyio.current_time()
        try:
            grant = await self.store.take(steps, self.speed, self._epoch)
        except QuotaStoreUnavailable:
            if self._down_at is None:
                self._down_at = now
            if self.store.on_store_error == "fail":
                raise
            slot.turn = None
            self._go_local()
            return False
        self._learn_epoch(grant.epoch, resumed=down_at is not None)
        if grant.admitted:
            turn.seq = grant.seq
            # Where the next opening is sure, the next waiter does not ask before it. Where it hinges on requests in
            # flight, their releases matter to every process: until a take says otherwise, none waits for a take.
            if grant.next_wait is None:
                self._crowded.add(slot.kind)
            else:
                self._crowded.discard(slot.kind)
                if grant.next_wait > 0:
                    self._hint[slot.kind] = self.clock.now() + grant.next_wait
            return True
        # Not before the store can say yes: `sure`, not `wait`, which may be a running request's whole lease.
        self._hint[slot.kind] = self.clock.now() + grant.sure
        channel = self._channels.get(grant.blocker)
        if channel is not None:
            # Another process holds the slot: its release publishes, so wait for that (or re-ask soon, so a Serial
            # waiter that stops asking is known to have died).
            await self.store.wait_freed(channel, min(grant.wait / self.speed, Serial.STALE / 3))
        return False

    def _learn_epoch(self, epoch: str, *, resumed: bool) -> None:
        if resumed:
            for policy in self.policies:
                policy.resume()
            if self.local:
                down = self.clock.now() - (self._down_at or 0.0)
                logger.warning("shared quota store back after %.1f s: shared mode resumes", down)
            self._down_at, self.local = None, False
            self._on_mode_change()
        elif self._epoch and epoch != self._epoch:
            # Redis restarted empty between two calls without this gate seeing it fail: cover what it forgot with
            # the next take (which still compares against the old epoch).
            self._down_at = self.clock.now()
            return
        self._epoch = epoch

    def _go_local(self) -> None:
        self._probe_at = anyio.current_time() + self.store.retry_every
        if self.local:
            return
        now = self.clock.now()
        for policy in sorted(self.policies, key=lambda p: not isinstance(p, Serial)):  # Serial may refuse: first
            policy.enter_local(now)
        self.local = True
        self._on_mode_change()
        logger.warning(
            "shared quota store unreachable: metering 1/%d of each budget in this process until it is back",
            self.store.expected_processes,
        )

    async def leave(self, slot: SlotState) -> None:
        """A waiter gave up: give its place back at once rather than blocking others until it lapses."""
        await self._write(slot, lambda p, turn: p.leave_steps(turn), "could not give back a shared place; it lapses")

    def settle(self, slot: SlotState) -> None:
        """After the response: owe the store the release of the shared log entries, the pauses and rate headers to
        publish, the lease to free. They travel with this process's next take; call :meth:`send_settles` once the
        slot's local place is given back (a waiter it wakes takes at once, carrying them)."""
        turn = slot.turn
        if turn is None:
            return
        turn.now = self.clock.now()
        steps = [step for policy in self.policies for step in policy.settle_steps(turn)]
        pressing = slot.kind in self._crowded or not all(step.deferrable for step in steps)
        self.store.owe(steps, self.speed, self.clock.now, pressing=pressing)

    async def send_settles(self) -> None:
        """Send the settles that must not wait (they free a place others may wait for, or publish a pause or rate
        headers), unless a take of this process carried them meanwhile; the others go with the next take, or soon."""
        await self.store.send_pressing(self.speed)

    async def _write(self, slot: SlotState, steps_of: Callable[[Policy, Turn], Sequence[Step]], failed: str) -> None:
        if slot.turn is None:
            return
        slot.turn.now = self.clock.now()
        steps = [step for policy in self.policies for step in steps_of(policy, slot.turn)]
        with anyio.CancelScope(shield=True):  # even when the request was cancelled
            try:
                await self.store.settle(steps, self.speed)
            except QuotaStoreUnavailable:
                logger.warning(failed)

    def lease_guard(self, slot: SlotState) -> LeaseGuard | None:
        """The guard of the shared leases ``slot`` holds while its request runs, if it holds any."""
        if slot.turn is None:
            return None
        leases = [step for policy in self.policies for step in policy.lease_steps(slot.turn)]
        return LeaseGuard(self.store, leases, self.speed, slot.lease_from) if leases else None


class SlotState(Protocol):
    """What shared admission reads and keeps per slot (a :class:`~adops_async.core.gate.Slot` is one)."""

    kind: Kind
    turn: Turn | None
    lease_from: float


class LeaseGuard:
    """Keeps the shared leases of a running request (a Serial slot, a MaxInFlight place): renews them every third of
    the lease, and stops the request before a lease it could not renew runs out, so it never runs unaccounted."""

    def __init__(self, store: RedisStore, leases: list[Step], speed: float, taken_at: float) -> None:
        self.store, self.leases, self.speed = store, leases, speed
        self.margin = store.lease / 10
        # Measured from before the take was sent: the lease cannot have started earlier than that.
        self.scope = anyio.CancelScope(deadline=taken_at + store.lease - self.margin)
        self._renewals = anyio.create_task_group()

    async def __aenter__(self) -> None:
        await self._renewals.__aenter__()
        self._renewals.start_soon(self._renew)
        self.scope.__enter__()

    async def _renew(self) -> None:
        while True:
            await anyio.sleep(self.store.lease / 3)
            asked_at = anyio.current_time()
            try:
                renewed = await self.store.renew(self.leases, self.speed)
            except QuotaStoreUnavailable:
                renewed = False
            if not renewed:
                logger.warning("could not renew a shared lease; the request stops before it runs out")
                return
            self.scope.deadline = asked_at + self.store.lease - self.margin

    def exit(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        swallowed = bool(self.scope.__exit__(exc_type, exc, tb))
        if self.scope.cancelled_caught:
            raise LeaseLost(f"the shared lease ran out ({self.store.lease} s) before the request finished")
        return swallowed

    async def stop(self) -> None:
        self._renewals.cancel_scope.cancel()
        await self._renewals.__aexit__(None, None, None)
