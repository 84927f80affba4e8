"""Several async sources as one stream: one producer task per source, a bounded memory stream between them and
the consumer (backpressure, flat memory), a slow source never blocking the others.

It is an async context manager, not an async generator, on purpose: a task group must not stay open across a
``yield`` of a generator the caller may abandon. Leaving the block (normally, by ``break`` or by cancellation)
cancels every producer, so nothing leaks.

No exception group ever leaves it: a failure comes out as itself (see :func:`merge`), so ``except AdOpsError``
catches what the vendors raised, and cancellation stays cancellation on asyncio and trio alike.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["Merged", "SourceFailure", "merge"]

T = TypeVar("T")

ErrorPolicy = Literal["raise", "collect"]


@dataclass(frozen=True)
class SourceFailure:
    """A source that failed while the others went on (``on_error="collect"``)."""

    source: str
    """The source's name (the vendor)."""
    error: Exception
    """What it raised."""


@dataclass
class Merged(Generic[T]):
    """The consumer's side: iterate it; :attr:`failures` lists the sources that failed (collect mode)."""

    _receive: MemoryObjectReceiveStream[T]
    failures: list[SourceFailure] = field(default_factory=list)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._receive.__aiter__()


@asynccontextmanager
async def merge(
    sources: Mapping[str, Callable[[], AsyncIterable[T]]],
    *,
    buffer: int = 256,
    on_error: ErrorPolicy = "raise",
) -> AsyncIterator[Merged[T]]:
    """Items from every source, in arrival order: ``async with merge({...}) as items: async for item in items``.

    Args:
        sources: a name and a factory of an async iterable per source (called inside its own task).
        buffer: items held between producers and the consumer; producers wait when it is full.
        on_error: ``"raise"`` stops everything at the first failure and raises it as it is (not wrapped in an
            exception group); ``"collect"`` records it in :attr:`Merged.failures` and lets the other sources finish.

    Which failure is raised: an exception raised in the ``async with`` block itself (the consumer's own) wins, as
    it is; else the first source failure in time. A source that itself raises an exception group (several failures
    of its own at once) counts as its first failure that is not a cancellation, and the others are listed in that
    exception's ``__notes__``. Failures of other sources cancelled by the first are dropped (they stay in
    :attr:`Merged.failures` when they happened before the cancellation reached them).
    """
    send, receive = anyio.create_memory_object_stream[T](buffer)
    merged = Merged(receive)
    own: Exception | None = None
    async with receive, anyio.create_task_group() as tg:

        async def produce(name: str, make: Callable[[], AsyncIterable[T]], out: MemoryObjectSendStream[T]) -> None:
            async with out:
                try:
                    iterable = make()
                    try:
                        async for item in iterable:
                            await out.send(item)
                    finally:
                        # Close an abandoned generator now (its finally blocks, its paginator's HTTP), not at GC
                        # time; what its cleanup raises is a failure of this source like any other.
                        aclose = getattr(iterable, "aclose", None)
                        if aclose is not None:
                            await aclose()
                except anyio.get_cancelled_exc_class():
                    raise
                except anyio.BrokenResourceError:
                    return  # the consumer left
                except Exception as exc:
                    merged.failures.append(SourceFailure(name, _first_failure(exc)))
                    if on_error == "raise":
                        tg.cancel_scope.cancel()

        with send:
            for name, make in sources.items():
                tg.start_soon(produce, name, make, send.clone())
        try:
            yield merged
        except Exception as exc:
            # Raised after the task group, or the group would wrap it; cancellation passes through untouched.
            own = exc
        finally:
            tg.cancel_scope.cancel()
    if own is not None:
        raise own
    if on_error == "raise" and merged.failures:
        raise merged.failures[0].error


def _first_failure(error: Exception) -> Exception:
    """``error`` itself, or for an exception group its first leaf that is not a cancellation, the other leaves
    named in its notes on Python 3.11+ (a group of cancellations alone stays as it is)."""
    if _members(error) is None:
        return error
    cancelled = anyio.get_cancelled_exc_class()
    real = [leaf for leaf in _leaves(error) if isinstance(leaf, Exception) and not isinstance(leaf, cancelled)]
    if not real:
        return error
    first = real[0]
    if sys.version_info >= (3, 11):  # notes are shown from 3.11 on; before, the others are dropped
        for other in real[1:]:
            first.add_note(f"also failed at the same time: {other!r}")
    return first


def _members(error: BaseException) -> tuple[BaseException, ...] | None:
    """The members of an exception group, else ``None`` (``BaseExceptionGroup`` is built in from Python 3.11 on;
    before, anyio raises the ``exceptiongroup`` backport's, which has the same shape)."""
    members = getattr(error, "exceptions", None)
    if isinstance(members, tuple) and all(isinstance(member, BaseException) for member in members):
        return members
    return None


def _leaves(error: BaseException) -> Iterator[BaseException]:
    members = _members(error)
    if members is None:
        yield error
        return
    for member in members:
        yield from _leaves(member)
