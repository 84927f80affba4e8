"""The event stream of the pipeline and the gate: small frozen records, one per thing that happened.

Every event says which call it belongs to (:attr:`Event.call`, a number unique in the process), the vendor, the
method, the path as a template (ids replaced by ``{id}``, see :func:`path_template`), the attempt and, once a
response arrived, its status and request id. No event holds a URL's query, a header or a body: nothing secret.

Events are frozen dataclasses whose fields live in the instance's ``__dict__``, filled in one pass by
:func:`_quick_init` (a frozen dataclass's own ``__init__`` sets each field through ``object.__setattr__``, which
made an event cost about twice as much to build).
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from functools import lru_cache
from typing import Any

__all__ = [
    "BudgetSynced",
    "CallEnded",
    "CallStarted",
    "CooldownEnded",
    "CooldownStarted",
    "Event",
    "GateWaited",
    "LeaseLost",
    "QuotaStoreMode",
    "RateSignal",
    "RequestFailed",
    "RequestSent",
    "ResponseReceived",
    "RetryScheduled",
    "path_template",
]


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event carries. Fields a source cannot know are ``None`` (or ``0`` for :attr:`attempt`)."""

    vendor: str = ""
    """The client's vendor (``"appnexus"``, ...); empty for a gate event no client has claimed yet."""
    method: str | None = None
    """The HTTP method of the call, or ``None``."""
    path: str | None = None
    """The path as a template: ``/line-item/{id}``, never ids or query parameters."""
    status: int | None = None
    """The HTTP status of the response concerned, or ``None``."""
    attempt: int = 0
    """1 for the first try of a call, 2 for its first retry, ...; 0 when the event belongs to no attempt."""
    request_id: str | None = None
    """The vendor's request id of the response concerned, or ``None``."""
    call: int = 0
    """Which call the event belongs to (unique in the process), 0 for none: correlates a call's events."""
    at: float = 0.0
    """Time on the client's clock when it happened."""


@dataclass(frozen=True, kw_only=True)
class CallStarted(Event):
    """A logical call entered the pipeline (before its first wait at the gate)."""

    kind: str = "read"
    """``"read"`` or ``"write"``: which budget the call spends."""
    priority: str = "NORMAL"
    """The call's priority by name (``INTERACTIVE``, ``NORMAL``, ``BULK``)."""


@dataclass(frozen=True, kw_only=True)
class GateWaited(Event):
    """An attempt waited at the gate before it could go."""

    wait: float = 0.0
    """Seconds waited (clock seconds)."""
    kind: str = "read"
    """``"read"`` or ``"write"``."""
    priority: str = "NORMAL"
    """The call's priority by name."""
    blocked_by: str = ""
    """What held it when it started waiting: a policy's name (``ReadWriteQuota``, ``Cooldown``, ...),
    ``capacity`` (requests in flight), ``queue`` (waiters ahead) or ``shared`` (the shared store)."""


@dataclass(frozen=True, kw_only=True)
class RequestSent(Event):
    """An attempt left the gate and its request is being sent."""


@dataclass(frozen=True, kw_only=True)
class ResponseReceived(Event):
    """A response arrived (any status), its body read and decoded."""

    elapsed: float = 0.0
    """Seconds from sending to the decoded body (clock seconds)."""


@dataclass(frozen=True, kw_only=True)
class RequestFailed(Event):
    """An attempt ended without a usable response: a network failure, its time bound, a body too large."""

    error: str = ""
    """The error's class name (``TransportError``, ...)."""
    elapsed: float = 0.0
    """Seconds from sending to the failure (clock seconds)."""


@dataclass(frozen=True, kw_only=True)
class RetryScheduled(Event):
    """The retry policy will try the call again after :attr:`delay` seconds, because of :attr:`reason`."""

    delay: float = 0.0
    """Seconds until the next attempt (clock seconds)."""
    reason: str = ""
    """The failed attempt's error class name (``RateLimited``, ``ServerError``, ``TransportError``, ...)."""


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    """A call left the pipeline: with its reply, or raising :attr:`error`."""

    attempts: int = 0
    """HTTP attempts the call took."""
    gate_wait: float = 0.0
    """Seconds waited at the gate, summed over attempts."""
    elapsed: float = 0.0
    """Seconds from the call entering the pipeline to leaving it (clock seconds), gate waits included."""
    error: str | None = None
    """The raised error's class name, ``None`` on success."""


@dataclass(frozen=True, kw_only=True)
class RateSignal(Event):
    """The vendor signalled a rate limit (a 429, a 503 with Retry-After, or its own body code)."""

    retry_after: float | None = None
    """Seconds the vendor asked to wait, or ``None`` when it did not say."""
    reason: str = ""
    """The vendor's message with the signal."""


@dataclass(frozen=True, kw_only=True)
class CooldownStarted(Event):
    """A rate signal closed (or extended the closing of) the gate for every task."""

    wait: float = 0.0
    """Seconds the gate stays closed from now."""
    until: float = 0.0
    """Clock time the gate opens again."""
    reason: str = ""
    """What the vendor said."""


@dataclass(frozen=True, kw_only=True)
class CooldownEnded(Event):
    """The first admission after a cooldown: the gate is open again."""

    duration: float = 0.0
    """Seconds the gate stayed closed, from the signal that last extended it."""
    reason: str = ""
    """What the vendor said when it closed the gate."""


@dataclass(frozen=True, kw_only=True)
class BudgetSynced(Event):
    """A response's rate headers (``RateLimit-Remaining``/``-Reset``/``-Limit``) were read into the gate."""

    remaining: int | None = None
    """Calls the vendor says are left (``RateLimit-Remaining``), or ``None``."""
    limit: int | None = None
    """The vendor's announced limit (``RateLimit-Limit`` or its policy header), or ``None``."""
    reset: float | None = None
    """Seconds until the vendor gives calls back (``RateLimit-Reset``), or ``None``."""


@dataclass(frozen=True, kw_only=True)
class LeaseLost(Event):
    """A shared lease could not be renewed, so the request was stopped before it ran out."""


@dataclass(frozen=True, kw_only=True)
class QuotaStoreMode(Event):
    """The gate's shared quota store changed mode: ``"shared"`` (Redis answers) or ``"local"`` (metering a share
    in this process while it does not)."""

    mode: str = "shared"
    """``"shared"`` or ``"local"``."""


FIELDS_IN_DICT: set[type[Event]] = set()
"""The event classes whose instance ``__dict__`` is exactly their fields, in order (see :func:`_quick_init`)."""


def _quick_init(cls: type[Event]) -> None:
    """Give the frozen dataclass ``cls`` an ``__init__`` with the same keyword-only signature that fills the instance
    dict in one pass, instead of one ``object.__setattr__`` per field. Frozen still holds: assigning a field raises
    :class:`dataclasses.FrozenInstanceError`."""
    names = [f.name for f in fields(cls)]
    defaults: dict[str, Any] = {}
    for f in fields(cls):
        assert f.default is not MISSING, f"{cls.__name__}.{f.name} needs a default"
        defaults[f"_default_{f.name}"] = f.default
    parameters = ", ".join(f"{name}=_default_{name}" for name in names)
    body = "".join(f"    fields[{name!r}] = {name}\n" for name in names)
    namespace = dict(defaults)
    exec(f"def __init__(self, *, {parameters}):\n    fields = self.__dict__\n{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    FIELDS_IN_DICT.add(cls)


_event_classes: list[type[Event]] = [Event, *Event.__subclasses__()]  # every event class derives from Event directly
for _event_class in _event_classes:
    _quick_init(_event_class)

_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_TOKEN = re.compile(r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-.~%]{16,}")
_NUMBER = re.compile(r"[0-9][0-9_.\-]*")


def _id_like(segment: str) -> bool:
    return bool(
        _NUMBER.fullmatch(segment) or _UUID.fullmatch(segment) or _HEX.fullmatch(segment) or _TOKEN.fullmatch(segment)
    )


@lru_cache(maxsize=2048)
def path_template(path: str) -> str:
    """``path`` with every id-like segment replaced by ``{id}``: numbers, UUIDs, hex ids (8 digits or more) and long
    tokens of letters and digits (16 characters or more). Matrix parameters (``;context=...``) are dropped.

    >>> path_template("/line-item/123/creative/9f86d081884c7d65")
    '/line-item/{id}/creative/{id}'
    """
    segments = []
    for segment in path.split("/"):
        segment = segment.split(";", 1)[0]
        segments.append("{id}" if segment and _id_like(segment) else segment)
    return "/".join(segments)
