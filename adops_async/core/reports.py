"""Report jobs: submit, poll with backoff, download whole and checked, then parse rows with flat memory.

Every vendor's report workflow ends in a :class:`ReportJob`: ``async for row in job.rows()`` and
``await job.save(path)``. A report body is first downloaded into an anonymous temporary file by :func:`download`
(memory: one write batch), inside the client's gate slot, which it gives back as soon as the body is complete; the
rows are then parsed from that file. So a caller who stops iterating holds a file, never a gate slot, and a body is
checked whole before a single row is trusted: its Content-Type, its Content-Length (or, without one, a complete
last line), its UTF-8, and afterwards the vendor's own row count where it gives one.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import os
import secrets
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio
import httpx
from typing_extensions import Self

from ..observe._meta import attach
from .clock import Clock
from .codecs import Codec
from .errors import BODY_LIMIT, AdOpsError, DecodeError, ErrorContext, IncompleteData, TransportError
from .policies import Priority
from .retry import Failure

if TYPE_CHECKING:
    from .client import BaseClient

__all__ = [
    "BodyFormat",
    "Progress",
    "ReportBody",
    "ReportJob",
    "csv_rows",
    "decoded",
    "download",
    "error_context",
    "poll",
]

T = TypeVar("T")

logger = logging.getLogger("adops_async.reports")


@dataclass(frozen=True)
class Progress:
    """What a progress callback hears: the job's state, rows and bytes so far."""

    state: str
    rows: int = 0
    bytes: int = 0


ProgressCallback = Callable[[Progress], None]


class ReportJob(ABC):
    """A report the vendor has produced (or is producing). Subclasses implement :meth:`rows`.

    :meth:`rows` downloads the whole body (checked, into a temporary file) before it yields the first row, and the
    client's gate slot is free again from then on. A loop that stops early should still close the iterator, so the
    temporary file goes at once rather than when the iterator is garbage-collected::

        from contextlib import aclosing

        async with aclosing(job.rows()) as rows:
            async for row in rows:
                if enough(row):
                    break

    A body that is not the vendor's report (an HTML page on a 200), not UTF-8, or shorter than its Content-Length or
    its last line raises :class:`~adops_async.core.errors.DecodeError` or, once the download's retries are spent,
    :class:`~adops_async.core.errors.TransportError`; fewer (or more) rows than the vendor announced raise
    :class:`~adops_async.core.errors.IncompleteData` after the last row, never a quiet end.
    """

    vendor: str = ""
    """The vendor's name, as in errors."""
    id: str = ""
    """The vendor's id of the report."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        job = super().__new__(cls)
        attach(job)  # adops_async.response_meta(job): the response that created (or last polled) the job
        return job

    @abstractmethod
    def rows(self) -> AsyncIterator[dict[str, Any]]:
        """The report's rows as dicts (downloaded whole and checked first; see the class docs)."""

    async def save(
        self,
        path: str | Path,
        format: Literal["csv", "jsonl"] = "csv",
        *,
        progress: ProgressCallback | None = None,
    ) -> int:
        """Write every row to ``path`` (CSV with a header line, or one JSON object per line); return the row count.

        The rows go to a temporary file beside ``path``, renamed to ``path`` only once every row is written: after a
        failure (or a cancellation) ``path`` is as it was before, and the temporary file is gone.
        """
        count = 0
        async with replacing(path) as out:
            writer: Any = None
            fields: list[str] = []
            buffer = _LineBuffer()
            rows = self.rows()
            try:
                async for row in rows:
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
            finally:
                if isinstance(rows, AsyncGenerator):  # let go of its download now, not when it is collected
                    await rows.aclose()
            await out.write(buffer.take())
        if progress is not None:
            progress(Progress("saved", rows=count))
        return count


@asynccontextmanager
async def replacing(path: str | Path) -> AsyncIterator[anyio.AsyncFile[str]]:
    """A text file written beside ``path`` that replaces it only when the block ends without an error: after a
    failure (or a cancellation) ``path`` is as it was, and the temporary file is gone."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        async with await anyio.open_file(partial, "x", newline="", encoding="utf-8") as out:
            yield out
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


_WRITE_BATCH = 256 * 1024
_READ_SIZE = 256 * 1024


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


# -- downloading a report body whole and checked ------------------------------------------------------------------


@dataclass(frozen=True)
class BodyFormat:
    """What a vendor's report download must be: the media types it is declared with, and how a whole body ends.

    ``end="line"``: CSV or TSV, whose last byte is a newline outside quotes; ``end="json"``: one JSON object,
    whose last byte (whitespace aside) is ``}``. The end is checked only when no Content-Length says the size.
    """

    label: str
    media_types: frozenset[str]
    end: Literal["line", "json"]


class ReportBody:
    """A downloaded, checked report body in an anonymous temporary file, read back in chunks.

    :attr:`context` says where it came from (vendor, status, method, URL, request id), for errors raised later.
    """

    def __init__(self, file: anyio.AsyncFile[bytes], size: int, context: ErrorContext) -> None:
        self._file = file
        self.size = size
        self.context = context

    async def chunks(self, size: int = _READ_SIZE) -> AsyncIterator[bytes]:
        """The body from its first byte, ``size`` bytes at a time."""
        await self._file.seek(0)
        while chunk := await self._file.read(size):
            yield chunk

    def check_rows(self, seen: int, expected: int | None) -> None:
        """Raise :class:`IncompleteData` when ``seen`` rows are not the ``expected`` the vendor announced."""
        if expected is not None and seen != expected:
            raise IncompleteData(
                f"the report has {seen} rows where the vendor announced {expected}",
                expected=expected,
                seen=seen,
                **error_context(self.context, "row-count"),
            )


@asynccontextmanager
async def download(
    client: BaseClient,
    url: str,
    format: BodyFormat,
    *,
    params: Mapping[str, Any] | None = None,
    codec: Codec | None = None,
    priority: Priority = Priority.BULK,
) -> AsyncIterator[ReportBody]:
    """``GET url`` into an anonymous temporary file; yield it once the whole body has arrived and passed its checks.

    The client's gate slot is held only while the body downloads, at most the retry policy's deadline. A body that
    breaks off (a transport error, fewer bytes than its Content-Length, or, without one, an end inside a line) is a
    failed attempt of a safe GET: it is downloaded again under the client's
    :class:`~adops_async.core.retry.RetryPolicy` (each download that got a response counts as one attempt, and the
    policy's deadline runs from the first), then raised as :class:`TransportError`. A body of another media type
    than ``format``'s, or not UTF-8, raises :class:`DecodeError` at once. The temporary file is in the system's temp
    directory without a name, so it is gone when this block ends, fails, or is abandoned and garbage-collected.
    """
    file = anyio.wrap_file(tempfile.TemporaryFile())  # noqa: SIM115 - closed in the finally below, after the yield
    try:
        retry_safe = client.dialect.idempotent("GET")
        started = client.clock.now()
        attempt = 0
        while True:
            attempt += 1
            answered: list[ErrorContext] = []
            try:
                size = await _receive(client, url, format, file, params, codec, priority, answered)
                break
            except TransportError as error:
                if not answered:  # the pipeline's own failure before any response: already retried there
                    raise
                broken = error
            failure = Failure(retry_safe=retry_safe, status=broken.status, transport_error=broken)
            delay = client.retry.delay(failure, attempt=attempt, elapsed=client.clock.now() - started)
            if delay is None:
                raise broken
            logger.info("downloading again in %.3f s after %s", delay, broken)
            await client.clock.sleep_until(client.clock.now() + delay)
        yield ReportBody(file, size, answered[0])
    finally:
        file.wrapped.close()


async def _receive(
    client: BaseClient,
    url: str,
    format: BodyFormat,
    file: anyio.AsyncFile[bytes],
    params: Mapping[str, Any] | None,
    codec: Codec | None,
    priority: Priority,
    answered: list[ErrorContext],
) -> int:
    """One download attempt into ``file`` (emptied first); append the response's context to ``answered``."""
    await file.seek(0)
    await file.truncate()
    # One download may take as long as the whole retry deadline (not the per-request timeout): the pipeline bounds it
    # by the deadline, and a body that stalls between two reads by httpx's read timeout.
    stream = client.stream("GET", url, params=params, codec=codec, priority=priority, timeout=client.retry.deadline)
    async with stream as response:
        context = ErrorContext(
            vendor=client.vendor,
            status=response.status_code,
            method=response.request.method,
            url=client.redactor.url(response.request.url),
            request_id=client.dialect.request_id(response),
        )
        answered.append(context)
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type and media_type not in format.media_types:
            start = await _first_bytes(response)
            raise DecodeError(
                f"the report download is {media_type}, not {format.label}",
                **error_context(context, "content-type", body=client.redactor.text(start)),
            )
        check = _BodyCheck(format, context)
        batch = bytearray()
        async for chunk in response.aiter_bytes():
            check.feed(chunk)
            batch += chunk
            if len(batch) >= _WRITE_BATCH:
                await file.write(bytes(batch))
                batch.clear()
        await file.write(bytes(batch))
        declared = response.headers.get("content-length")
        received = response.num_bytes_downloaded
        if declared is not None and declared.strip().isdigit() and int(declared) != received:
            raise TransportError(
                f"the body had {received} bytes where its Content-Length said {int(declared)}",
                **error_context(context, "content-length"),
            )
        if declared is None and not check.complete():
            raise TransportError(
                f"the body (no Content-Length, {received} bytes) ends inside its last "
                + ("line" if format.end == "line" else "JSON document"),
                **error_context(context, "incomplete-body"),
            )
        check.finish()
    await file.flush()
    return check.size


async def _first_bytes(response: httpx.Response) -> str:
    """The start of a body that is not the report (at most ``BODY_LIMIT`` bytes), for the error's ``body``."""
    start = b""
    async for chunk in response.aiter_bytes():
        start += chunk
        if len(start) >= BODY_LIMIT:
            break
    return start[:BODY_LIMIT].decode("utf-8", "replace")


class _BodyCheck:
    """Checks a body as it passes: valid UTF-8 (with the offset of the first bad byte) and what its end looks like.

    Quotes are counted in bytes: in UTF-8 the byte ``"`` is never part of another character.
    """

    def __init__(self, format: BodyFormat, context: ErrorContext) -> None:
        self._format = format
        self._context = context
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.size = 0
        self._quotes = 0
        self._last = b""

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self._decode(chunk, final=False)
        self.size += len(chunk)
        if self._format.end == "line":
            self._quotes += chunk.count(b'"')
            self._last = chunk[-1:]
        else:
            stripped = chunk.rstrip()
            if stripped:
                self._last = stripped[-1:]

    def complete(self) -> bool:
        if self._format.end == "json":
            return self._last == b"}"
        return self._quotes % 2 == 0 and self._last in (b"", b"\n")

    def finish(self) -> None:
        self._decode(b"", final=True)

    def _decode(self, chunk: bytes, *, final: bool) -> None:
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc, self.size - pending, self._context) from None


def _not_utf8(exc: UnicodeDecodeError, offset: int, context: ErrorContext | None) -> DecodeError:
    """``exc`` as a :class:`DecodeError` naming the byte offset in the whole body (``offset``: where the decoded
    input began)."""
    at = offset + exc.start
    bad = exc.object[exc.start : exc.start + 1].hex()
    return DecodeError(
        f"the report body is not UTF-8: byte 0x{bad} at offset {at} ({exc.reason})",
        **error_context(context, "encoding"),
    )


def error_context(context: ErrorContext | None, code: str, *, body: str | None = None) -> ErrorContext:
    """A copy of ``context`` (where a report body came from) with ``code`` (and ``body``) set, for an error about it."""
    merged = ErrorContext() if context is None else context.copy()
    merged["code"] = code
    if body is not None:
        merged["body"] = body
    return merged


# -- parsing ---------------------------------------------------------------------------------------------------------


async def decoded(
    chunks: AsyncIterator[bytes],
    *,
    encoding: Literal["utf-8", "utf-8-sig"] = "utf-8",
    context: ErrorContext | None = None,
) -> AsyncIterator[str]:
    """Text from a byte stream, decoded incrementally (a character split across chunks is fine); bytes that are not
    UTF-8 raise :class:`DecodeError` with their offset in the stream (carrying ``context``)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    chunk = b""
    try:
        async for chunk in chunks:
            text = decoder.decode(chunk)
            offset += len(chunk)
            yield text
        chunk = b""
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc, offset - len(exc.object) + len(chunk), context) from None


async def csv_rows(
    chunks: AsyncIterator[bytes],
    *,
    delimiter: str = ",",
    fieldnames: Sequence[str] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    context: ErrorContext | None = None,
) -> AsyncIterator[dict[str, str]]:
    """Parse CSV from a byte stream as it arrives; memory holds one chunk and one partial line at most.

    Quoted fields may contain newlines: a line is only handed to the CSV reader once its quotes balance. Bytes that
    are not UTF-8, a body that ends inside quotes, or a line the CSV reader refuses raise :class:`DecodeError`
    (carrying ``context``: vendor, status, URL, request id).
    """
    pending = ""
    header: list[str] | None = list(fieldnames) if fieldnames is not None else None

    def parse(lines: list[str]) -> list[list[str]]:
        try:
            return list(csv.reader(lines, delimiter=delimiter))
        except csv.Error as exc:
            raise DecodeError(f"malformed CSV: {exc}", **error_context(context, "decode")) from None

    def counted(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if on_bytes is None:
            return chunks

        async def counting() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                on_bytes(len(chunk))
                yield chunk

        return counting()

    async for text in decoded(counted(chunks), encoding="utf-8-sig", context=context):
        pending += text
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
    if pending.strip():
        if pending.count('"') % 2:
            raise DecodeError("the CSV ends inside a quoted field", **error_context(context, "decode"))
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
