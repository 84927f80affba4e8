"""The step protocol between the shared policies (Python) and the shared-quota script (``_scripts.lua``).

A shared take, settle or renew is one script call carrying a list of steps. Each step is an opcode (a letter the
script branches on), the Redis keys it touches and up to seven arguments; the script reads each opcode's keys in order
and its arguments as ``a(1)``, ``a(2)``, ... . :data:`OPCODES` is the one table of what every opcode takes, by name;
the builders below are the only way Python makes a step, so an argument can neither be forgotten nor put in the wrong
place, and ``tests/shared/test_steps.py`` checks the table against the script's own branches and key counts.

A settle may travel with this process's next take instead of in a call of its own (the script runs a take's settle
steps first): :data:`Opcode.deferrable` says which may wait for it, and :meth:`Step.aged` dates a step that waited.

A step built with ``only_if_lost=True`` runs only when the store's epoch changed since the caller last saw it (Redis
restarted empty): it covers state Redis may have forgotten (see :meth:`~adops_async.gates.Policy.resume_steps`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "OPCODES",
    "Opcode",
    "Step",
    "bucket_check",
    "bucket_forget",
    "bucket_lower",
    "bucket_resume",
    "flying_free",
    "flying_renew",
    "flying_take",
    "log_count",
    "log_release",
    "log_take",
    "pause_check",
    "pause_extend",
    "serial_free",
    "serial_leave",
    "serial_recovering",
    "serial_renew",
    "serial_take",
]

WIDTH = 7
"""Argument slots per step after its opcode; the last one carries the ``only_if_lost`` mark."""
LOST = "lost"


@dataclass(frozen=True)
class Opcode:
    """What one opcode of ``_scripts.lua`` reads: its keys and its arguments, in order, and when it runs."""

    code: str
    ops: frozenset[str]
    """The script operations (``take``, ``settle``, ``renew``) whose branches handle it. A take runs the settle
    steps that travel with it first, through the settle branches."""
    keys: tuple[str, ...]
    args: tuple[str, ...]
    deferrable: bool = False
    """A settle step that may wait (briefly) for this process's next take: what it writes is dated by its ``age``, so
    it lands the same whenever it is sent, and it frees nothing another process waits for."""


def _op(code: str, ops: str, keys: str, args: str = "", *, deferrable: bool = False) -> Opcode:
    return Opcode(code, frozenset(ops.split()), tuple(keys.split()), tuple(args.split()), deferrable)


OPCODES: Mapping[str, Opcode] = {
    op.code: op
    for op in (
        # take: checks first (nothing is written unless every check admits), then takes from each
        _op("C", "take", "pause"),
        _op("X", "take settle", "pause", "wait"),
        _op("L", "take", "log", "limit window lease token"),
        _op("B", "take", "bucket", "interval tolerance"),
        _op("M", "take", "flying", "limit lease token"),
        _op("S", "take", "lease queue seen tickets", "token lease_ms stale"),
        # take, after an outage: what was (or may have been) sent meanwhile
        _op("P", "take", "log", "window count age token"),
        _op("E", "take", "bucket", "empty debt"),
        _op("H", "take", "lease", "lease_ms"),
        # settle: after the response (or a failed or cancelled request); a take runs them first when they travel with it
        _op("R", "settle", "log", "window token age", deferrable=True),
        _op("K", "settle", "bucket"),
        _op("D", "settle", "bucket", "interval tolerance burst remaining reset seq age"),
        _op("F", "settle", "flying", "token channel"),
        _op("U", "settle", "lease", "token channel"),
        _op("Q", "settle", "lease queue seen", "token channel"),
        # renew: while a request runs
        _op("N", "renew", "lease", "token lease_ms"),
        _op("Z", "renew", "flying", "token lease"),
    )
}


@dataclass(frozen=True)
class Step:
    """One opcode with its keys and arguments in the script's order (made by the builders of this module)."""

    code: str
    keys: tuple[str, ...]
    args: tuple[str | float, ...] = ()
    only_if_lost: bool = False

    def argv(self) -> list[str | float]:
        """The step's slots of the script's ARGV: its opcode, then exactly :data:`WIDTH` arguments."""
        padding = [""] * (WIDTH - len(self.args))
        if self.only_if_lost:
            padding[-1] = LOST
        return [self.code, *self.args, *padding]

    @property
    def deferrable(self) -> bool:
        """Whether this step may wait for this process's next take (:attr:`Opcode.deferrable`)."""
        return OPCODES[self.code].deferrable

    def aged(self, by: float) -> Step:
        """This step sent ``by`` clock seconds after it was built: what it dates by its ``age`` lies that much
        further back (a step without an age is sent as it is)."""
        names = OPCODES[self.code].args
        if by <= 0 or "age" not in names:
            return self
        at = names.index("age")
        args = list(self.args)
        args[at] = float(args[at]) + by
        return dataclasses.replace(self, args=tuple(args))


def _step(code: str, keys: tuple[str, ...], only_if_lost: bool = False, **args: str | float) -> Step:
    opcode = OPCODES[code]
    if len(keys) != len(opcode.keys) or set(args) != set(opcode.args):
        raise TypeError(f"step {code} takes keys {opcode.keys} and arguments {opcode.args}")
    return Step(code, keys, tuple(args[name] for name in opcode.args), only_if_lost)


# -- the shared pause (Cooldown) -----------------------------------------------------------------------------------


def pause_check(pause: str) -> Step:
    """Take: not before the shared pause ends."""
    return _step("C", (pause,))


def pause_extend(pause: str, *, wait: float) -> Step:
    """Take or settle: pause every process for ``wait`` clock seconds from now (never shortens a pause)."""
    return _step("X", (pause,), wait=wait)


# -- the sliding log (ReadWriteQuota) -------------------------------------------------------------------------------


def log_take(log: str, *, limit: int, window: float, lease: float, token: str) -> Step:
    """Take: at most ``limit`` entries in ``window``; the new one counts as in flight until ``lease`` from now."""
    return _step("L", (log,), limit=limit, window=window, lease=lease, token=token)


def log_release(log: str, *, window: float, token: str, age: float = 0.0) -> Step:
    """Settle: the request ``token`` ended ``age`` clock seconds ago; its entry counts for ``window`` from then."""
    return _step("R", (log,), window=window, token=token, age=age)


def log_count(log: str, *, window: float, count: int, age: float, token: str, only_if_lost: bool = False) -> Step:
    """Take, after an outage: ``count`` entries sent ``age`` clock seconds ago (negative: in flight until then)."""
    return _step("P", (log,), only_if_lost, window=window, count=count, age=age, token=token)


# -- the token bucket (TokenBucket) ---------------------------------------------------------------------------------


def bucket_check(bucket: str, *, interval: float, tolerance: float) -> Step:
    """Take: GCRA with emission ``interval`` and burst ``tolerance``, and the hold of a ``RateLimit-Reset``."""
    return _step("B", (bucket,), interval=interval, tolerance=tolerance)


def bucket_lower(
    bucket: str,
    *,
    interval: float,
    tolerance: float,
    burst: int,
    remaining: int,
    reset: float,
    seq: int,
    age: float,
) -> Step:
    """Settle: the response to admission ``seq``, seen ``age`` seconds ago, said ``remaining`` calls are left, and
    (``reset > 0``) that they come back ``reset`` seconds after it was seen."""
    return _step(
        "D",
        (bucket,),
        interval=interval,
        tolerance=tolerance,
        burst=burst,
        remaining=remaining,
        reset=reset,
        seq=seq,
        age=age,
    )


def bucket_forget(bucket: str) -> Step:
    """Settle: the vendor announced another policy; the bucket and hold kept under the old one no longer apply."""
    return _step("K", (bucket,))


def bucket_resume(bucket: str, *, empty: float, debt: float, only_if_lost: bool = False) -> Step:
    """Take, after an outage: the bucket may be empty now (``empty``) and owes ``debt`` clock seconds on top."""
    return _step("E", (bucket,), only_if_lost, empty=empty, debt=debt)


# -- requests in flight (MaxInFlight) --------------------------------------------------------------------------------


def flying_take(flying: str, *, limit: int, lease: float, token: str) -> Step:
    """Take: at most ``limit`` requests in flight, each until its lease ends (renewed while it runs)."""
    return _step("M", (flying,), limit=limit, lease=lease, token=token)


def flying_free(flying: str, *, token: str, channel: str) -> Step:
    """Settle: free the place of ``token`` and tell waiting processes on ``channel``."""
    return _step("F", (flying,), token=token, channel=channel)


def flying_renew(flying: str, *, token: str, lease: float) -> Step:
    """Renew: keep the place of ``token`` for ``lease`` more clock seconds, if it is still its own."""
    return _step("Z", (flying,), token=token, lease=lease)


# -- one request at a time (Serial) ----------------------------------------------------------------------------------


def serial_take(lease: str, queue: str, seen: str, tickets: str, *, token: str, lease_ms: int, stale: float) -> Step:
    """Take: the lease, in ticket order; a waiter silent for ``stale`` clock seconds loses its place."""
    return _step("S", (lease, queue, seen, tickets), token=token, lease_ms=lease_ms, stale=stale)


def serial_free(lease: str, *, token: str, channel: str) -> Step:
    """Settle: free the lease if ``token`` holds it (compare and delete) and tell the waiters."""
    return _step("U", (lease,), token=token, channel=channel)


def serial_leave(lease: str, queue: str, seen: str, *, token: str, channel: str) -> Step:
    """Settle: a waiter gave up; leave the queue (and free the lease if the take got it after all)."""
    return _step("Q", (lease, queue, seen), token=token, channel=channel)


def serial_renew(lease: str, *, token: str, lease_ms: int) -> Step:
    """Renew: keep the lease ``lease_ms`` more real milliseconds, if ``token`` still holds it."""
    return _step("N", (lease,), token=token, lease_ms=lease_ms)


def serial_recovering(lease: str, *, lease_ms: int) -> Step:
    """Take, after Redis restarted empty: a holder elsewhere may still run on a lease Redis forgot, so nobody takes
    the slot for one lease."""
    return _step("H", (lease,), True, lease_ms=lease_ms)
