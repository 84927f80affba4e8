"""The priority of calls made in the current context, so a whole code path can be marked interactive at once.

A FastAPI handler runs under ``Priority.INTERACTIVE`` (see :mod:`adops_async.integrations.fastapi`): every call it
makes, through any client, overtakes background bulk pulls on the same quota. An explicit ``priority=`` on a call
still wins, so a background job started from a handler can say ``BULK``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .policies import Priority

__all__ = ["current_priority", "priority", "set_priority"]

_current: ContextVar[Priority | None] = ContextVar("adops_async_priority", default=None)


@contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Calls made inside this block (and tasks it starts) default to ``level``."""
    token = _current.set(level)
    try:
        yield
    finally:
        _current.reset(token)


def set_priority(level: Priority) -> None:
    """Calls made from now on in the current context (and tasks it starts) default to ``level``, with no block to
    leave: for a context that ends with its task, such as a web framework's per-request dependency."""
    _current.set(level)


def current_priority(explicit: Priority | None, default: Priority) -> Priority:
    """``explicit`` if given, else the block's :func:`priority`, else ``default``."""
    if explicit is not None:
        return explicit
    context = _current.get()
    return context if context is not None else default
