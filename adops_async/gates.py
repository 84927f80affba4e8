"""Gates: where every request waits until each of the vendor's rules lets it go.

    gate = Gate(ReadWriteQuota(reads=100, writes=60, per=60), MaxInFlight(15), Cooldown())
    async with gate.slot(Kind.READ, priority=Priority.INTERACTIVE) as slot:
        response = await http.get(url)
        slot.observe(response.status_code, response.headers)

Every vendor client takes ``gate=`` to replace its default one, and ``store=RedisStore(...)`` to share its default
gate's budget with every other process of the account. This module holds what one configures a gate with (its
policies, stores and clocks); the meters behind the policies stay in ``adops_async.core.meters``.
"""

from .core.clock import AnyioClock, Clock, ScaledClock, VirtualClock
from .core.gate import CooldownEvent, Gate, GateStats, Slot
from .core.meters import MemoryStore
from .core.policies import (
    Cooldown,
    ExistingLimiter,
    Kind,
    Limiter,
    MaxInFlight,
    Policy,
    Priority,
    ReadWriteQuota,
    Serial,
    TokenBucket,
)
from .core.shared import RedisStore

__all__ = [
    "AnyioClock",
    "Clock",
    "Cooldown",
    "CooldownEvent",
    "ExistingLimiter",
    "Gate",
    "GateStats",
    "Kind",
    "Limiter",
    "MaxInFlight",
    "MemoryStore",
    "Policy",
    "Priority",
    "ReadWriteQuota",
    "RedisStore",
    "ScaledClock",
    "Serial",
    "Slot",
    "TokenBucket",
    "VirtualClock",
]
