"""Several async sources as one stream: one producer task per source, a bounded memory stream between them and
the consumer (backpressure, flat memory), a slow source never blocking the others.

It is an async context manager, not an async generator, on purpose: a task group must not stay open across a
``yield`` of a generator the caller may abandon. Leaving the block (normally, by ``break`` or by cancellation)
cancels every producer, so nothing leaks.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
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
    error: Exception


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
    """
    send, receive = anyio.create_memory_object_stream[T](buffer)
    merged = Merged(receive)
    async with receive, anyio.create_task_group() as tg:

        async def produce(name: str, make: Callable[[], AsyncIterable[T]], out: MemoryObjectSendStream[T]) -> None:
            iterable = make()
            async with out:
                try:
                    async for item in iterable:
                        await out.send(item)
                except anyio.get_cancelled_exc_class():
                    raise
                except anyio.BrokenResourceError:
                    return  # the consumer left
                except Exception as exc:
                    merged.failures.append(SourceFailure(name, exc))
                    if on_error == "raise":
                        tg.cancel_scope.cancel()
                finally:
                    # Close an abandoned generator now (its finally blocks, its paginator's HTTP), not at GC time.
                    aclose = getattr(iterable, "aclose", None)
                    if aclose is not None:
                        await aclose()

        with send:
            for name, make in sources.items():
                tg.start_soon(produce, name, make, send.clone())
        try:
            yield merged
        finally:
            tg.cancel_scope.cancel()
    if on_error == "raise" and merged.failures:
        raise merged.failures[0].error
