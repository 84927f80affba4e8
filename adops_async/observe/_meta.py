"""What a returned object knows about the response it was read from: :func:`response_meta`.

The pipeline records each successful call's :class:`ResponseMeta` in the current context (task); a vendor model,
a page or a report job built afterwards in the same task picks up the latest one as it is constructed, which for
the objects the library returns is the reply they were read from. Nothing is added to the objects themselves
(pydantic models compare and serialise as before): the record lives in a weak registry next to them and goes when
they go. The rule is about time, not data: a model you build yourself after a call, in the same task, carries that
call's record too; a model built where no call was made has none.
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["ResponseMeta", "attach", "record", "response_meta"]


@dataclass(frozen=True, slots=True)
class ResponseMeta:
    """The response an object was read from, and what the call took to get it."""

    vendor: str
    """The vendor that answered."""
    method: str
    """The HTTP method of the request."""
    path: str
    """The path as a template (``/line-item/{id}``)."""
    status: int
    """The response's HTTP status."""
    request_id: str | None
    """The vendor's request id header, for support tickets."""
    attempts: int
    """HTTP attempts the call took (1 when no retry was needed)."""
    gate_wait: float
    """Seconds the call waited at the gate, summed over its attempts."""
    response: httpx.Response | None = None
    """The raw response, kept only in raw-response mode (``client.with_options(raw_response=True)``)."""


_current: ContextVar[ResponseMeta | None] = ContextVar("adops_async_response_meta", default=None)
_registry: dict[int, tuple[weakref.ref[Any], ResponseMeta]] = {}


def record(meta: ResponseMeta) -> None:
    """The current task's latest reply (called by the pipeline)."""
    _current.set(meta)


def attach(obj: object) -> None:
    """Remember the current task's latest reply as the one ``obj`` was built from (called by the objects' classes)."""
    meta = _current.get()
    if meta is None:
        return
    key = id(obj)
    try:
        ref = weakref.ref(obj, lambda _, key=key: _registry.pop(key, None))  # type: ignore[misc]
    except TypeError:
        return
    _registry[key] = (ref, meta)


def response_meta(obj: object) -> ResponseMeta | None:
    """The :class:`ResponseMeta` of a model, page or report job the library returned, else ``None``."""
    entry = _registry.get(id(obj))
    if entry is None or entry[0]() is not obj:
        return None
    return entry[1]
