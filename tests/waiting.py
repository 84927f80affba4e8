"""Waiting for state, not for time: poll a condition on the system under test until it holds.

A short sleep between looks is fine here: it orders nothing, it only spaces the looks. The bound is a hang guard,
far above any run's need, so a loaded machine never trips it and a broken run still ends.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

import anyio

__all__ = ["HANG_GUARD", "until"]

HANG_GUARD = 30.0
"""Seconds after which a wait that never came true fails the test."""


async def until(condition: Callable[[], bool | Awaitable[bool]], *, within: float = HANG_GUARD) -> None:
    """Return once ``condition()`` (sync, or async for state read over a connection) is true."""
    with anyio.fail_after(within):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await anyio.sleep(0.005)
