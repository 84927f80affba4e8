"""Report jobs: submit, poll with backoff, then stream rows with flat memory.

Every vendor's report workflow ends in a :class:`ReportJob`: ``async for row in job.rows()`` parses while the body
streams, and ``await job.save(path)`` writes CSV or JSON lines to disk without holding the report in memory.
"""

from __future__ import annotations

import codecs
import csv
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio

from .clock import Clock
from .errors import AdOpsError

__all__ = ["Progress", "ReportJob", "csv_rows", "poll"]

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    """What a progress callback hears: the job's state, rows and bytes so far."""

    state: str
    rows: int = 0
    bytes: int = 0


ProgressCallback = Callable[[Progress], None]


class ReportJob(ABC):
    """A report the vendor has produced (or is producing). Subclasses implement :meth:`rows`."""

    vendor: str = ""
    id: str = ""

    @abstractmethod
    def rows(self) -> AsyncIterator[dict[str, Any]]:
        """The report's rows as dicts, parsed while the body streams."""

    async def save(
        self,
        path: str | Path,
        format: Literal["csv", "jsonl"] = "csv",
        *,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Write every row to ``path`` (CSV with a header line, or one JSON object per line); return the row count."""
        count = 0
        async with await anyio.open_file(path, "w", newline="", encoding="utf-8") as out:
            writer: Any = None
            fields: list[str] = []
            buffer = _LineBuffer()
            async for row in self.rows():
                if format == "jsonl":
                    buffer.write(json.dumps(row, default=str) + "\n")
                else:
                    if writer is None:
                        fields = list(row)
                        writer = csv.writer(buffer)
                        writer.writerow(fields)
                    writer.writerow([row.get(name, "") for name in fields])
                count += 1
                if buffer.size >= _WRITE_BATCH:  # one thread hop per batch, not per row
                    await out.write(buffer.take())
                if progress is not None and count % 10_000 == 0:
                    progress(Progress("saving", rows=count))
            await out.write(buffer.take())
        if progress is not None:
            progress(Progress("saved", rows=count))
        return count


_WRITE_BATCH = 256 * 1024


class _LineBuffer:
    """A file-like sink for ``csv.writer`` that hands back what was written since the last call."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self.size += len(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self._parts)
        self._parts.clear()
        self.size = 0
        return text


async def csv_rows(
    chunks: AsyncIterator[bytes],
    *,
    delimiter: str = ",",
    fieldnames: Sequence[str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> AsyncIterator[dict[str, str]]:
    """Parse CSV from a byte stream as it arrives; memory holds one chunk and one partial line at most.

    Quoted fields may contain newlines: a line is only handed to the CSV reader once its quotes balance.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    pending = ""
    header: list[str] | None = list(fieldnames) if fieldnames is not None else None

    def parse(lines: list[str]) -> list[list[str]]:
        return list(csv.reader(lines, delimiter=delimiter))

    async for chunk in chunks:
        if on_bytes is not None:
            on_bytes(len(chunk))
        pending += decoder.decode(chunk)
        cut = _last_complete_line_end(pending)
        if cut <= 0:
            continue
        complete, pending = pending[:cut], pending[cut:]
        for record in parse(complete.splitlines(keepends=True)):
            if not record:
                continue
            if header is None:
                header = record
                continue
            yield dict(zip(header, record, strict=False))
    pending += decoder.decode(b"", final=True)
    if pending.strip():
        for record in parse(pending.splitlines(keepends=True)):
            if record and header is not None:
                yield dict(zip(header, record, strict=False))


def _last_complete_line_end(text: str) -> int:
    """Index just after the last newline that is outside quotes (0 when there is none)."""
    if '"' not in text:
        return text.rfind("\n") + 1
    quoted = False
    last = 0
    for index, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif char == "\n" and not quoted:
            last = index + 1
    return last


async def poll(
    check: Callable[[], Awaitable[T | None]],
    clock: Clock,
    *,
    first: float = 1.0,
    factor: float = 1.5,
    longest: float = 30.0,
    give_up_after: float = 900.0,
    what: str = "report",
    vendor: str = "",
) -> T:
    """Call ``check`` until it returns something, waiting ``first``, then longer (up to ``longest``) between calls.

    Raises :class:`AdOpsError` when ``give_up_after`` seconds pass first (AppNexus' reports time out at 15 minutes).
    """
    started = clock.now()
    wait = first
    while True:
        result = await check()
        if result is not None:
            return result
        if clock.now() - started + wait > give_up_after:
            raise AdOpsError(f"{what} not ready after {give_up_after:g} s", vendor=vendor, code="timeout")
        await clock.sleep_until(clock.now() + wait)
        wait = min(longest, wait * factor)
