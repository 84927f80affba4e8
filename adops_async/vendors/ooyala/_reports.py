"""Reporting API 2.0 and Forecast jobs: submit, poll, then stream the result.

As docs/vendors/ooyala.md has it: ``POST /api/2.0/report`` answers ``202`` + ``Location``; the job answers ``200``
while it runs (and also when it FAILED, so the body is read), ``201`` + ``Location`` when done, ``404`` for an unknown
id; the result is JSON ``{"id", "headers": [...], "rows": [[...], ...]}``, downloaded whole and checked into a
temporary file first (:func:`~adops_async.core.reports.download`); :func:`json_table_rows` parses that shape from the
file chunk by chunk, so a report of any size costs one row of memory, not the whole document. The result carries no
row count to check.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from typing_extensions import Self

from ...core.errors import DecodeError, ErrorContext
from ...core.policies import Priority
from ...core.reports import BodyFormat, ReportJob, decoded, download, error_context, poll
from ._dialect import JSON_CODEC, ReportFailed
from ._models import ReportDefinition

if TYPE_CHECKING:
    from ._client import OoyalaPulse

__all__ = ["OoyalaReportJob", "Reports", "json_table_rows"]

_HEADERS = re.compile(r'"headers"\s*:\s*')
_ROWS = re.compile(r'"rows"\s*:\s*\[')
_SPACE = re.compile(r"[\s,]*")
_decoder = json.JSONDecoder()
#: The result is one JSON document (docs/vendors/ooyala.md); an HTML page on a 200 is not a report.
_BODY = BodyFormat("JSON", frozenset({"application/json", "text/json"}), end="json")


_ROW_COUNT = re.compile(r'"rowCount"\s*:\s*(\d+)')


def _header_name(header: Any) -> str:
    # Reporting 2.0 names its columns with strings; Custom Reporting with {"name": ..., "type": ...}.
    return str(header.get("name")) if isinstance(header, Mapping) else str(header)


def _note_row_count(segment: str, meta: dict[str, Any] | None) -> None:
    if meta is not None and "rowCount" not in meta and (found := _ROW_COUNT.search(segment)):
        meta["rowCount"] = int(found.group(1))


async def json_table_rows(
    chunks: AsyncIterator[bytes], *, context: ErrorContext | None = None, meta: dict[str, Any] | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Rows of ``{"headers": [...], "rows": [[...], ...]}`` as dicts, parsed as the bytes arrive.

    A header is a column name or ``{"name", "type"}``. ``meta``, when given, receives the ``rowCount`` the body
    states outside its rows (Custom Reporting's ``metaData``), once the rows are done.
    When ``rows`` comes before ``headers`` (JSON does not fix key order), the body is read whole instead. A body that
    is not UTF-8, not JSON, has no ``rows`` list or ends inside it raises :class:`DecodeError` (carrying ``context``).
    """
    where = error_context(context if context is not None else ErrorContext(vendor="ooyala"), "decode")
    text = ""
    headers: list[str] | None = None
    at = 0  # where the next row starts, once inside "rows": [
    buffered = False
    async for piece in decoded(chunks, context=where):
        text += piece
        if buffered:
            continue
        if headers is None:
            found = _HEADERS.search(text)
            rows_key = _ROWS.search(text)
            if rows_key is not None and (found is None or rows_key.start() < found.start()):
                buffered = True
                continue
            if found is None:
                continue
            try:
                value, end = _decoder.raw_decode(text, found.end())
            except json.JSONDecodeError:
                continue  # not all of the header list has arrived yet
            headers = [_header_name(h) for h in value]
            _note_row_count(text[: found.start()], meta)
            text, at = text[end:], -1
        if at < 0:
            rows_key = _ROWS.search(text)
            if rows_key is None:
                continue
            _note_row_count(text[: rows_key.start()], meta)
            at = rows_key.end()
        while True:
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            if at >= len(text) or text[at] == "]":
                break
            try:
                row, end = _decoder.raw_decode(text, at)
            except json.JSONDecodeError:
                break  # a partial row: wait for more bytes
            yield dict(zip(headers, row, strict=False))
            at = end
        text, at = text[at:], 0
    if buffered or headers is None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DecodeError(f"malformed report JSON: {exc}", **where) from None
        rows = data.get("rows") if isinstance(data, Mapping) else None
        if not isinstance(rows, list):
            raise DecodeError("the report JSON has no rows list", **where)
        stated = (data.get("metaData") or {}).get("rowCount") if isinstance(data.get("metaData"), Mapping) else None
        if meta is not None and isinstance(stated, int):
            meta["rowCount"] = stated
        names = [_header_name(h) for h in data.get("headers") or []]
        for row in rows:
            yield dict(zip(names, row, strict=False))
    elif at < 0:
        raise DecodeError("the report JSON has no rows list", **where)
    elif not text.lstrip().startswith("]"):
        raise DecodeError("the report body ended inside its rows", **where)
    else:
        _note_row_count(text, meta)


def _job_id(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1].split("?")[0]


class OoyalaReportJob(ReportJob):
    """A submitted report (or forecast): :meth:`wait` polls the job, :meth:`rows` streams the result.

    Args:
        client: the client whose serial gate every poll and the download pass through.
        job_url: where the job's status lives (``/api/2.0/report/job/{id}``).
        result_url: the result's URL when the job does not give one in its ``201 Location``.
        result_params: query parameters of the result (``repeatDimensionValues=true``).
    """

    vendor = "ooyala"

    def __init__(
        self,
        client: OoyalaPulse,
        job_url: str,
        result_url: str,
        result_params: Mapping[str, Any] | None = None,
    ) -> None:
        self.client = client
        """The client every request goes through."""
        self.id = _job_id(job_url)
        self.job_url = job_url
        """The job's URL, polled until it is done."""
        self.result_url = result_url
        """Where the result is fetched once the job is done."""
        self.result_params = dict(result_params or {})
        """Query parameters of the result request."""
        self.state = "SUBMITTED"
        """The job's status from the last poll (``SUBMITTED`` until the first)."""
        self.done = False
        """Whether the job reached an end state."""

    def __repr__(self) -> str:
        return f"<OoyalaReportJob {self.id} {self.state}>"

    async def check(self) -> bool:
        """Ask once: ``True`` when done; raise :class:`ReportFailed` with the vendor's reason when it failed."""
        if self.done:
            return True
        reply = await self.client.request("GET", self.job_url, codec=JSON_CODEC, priority=Priority.BULK)
        if reply.status == 201:
            self.state, self.done = "DONE", True
            location = reply.headers.get("location")
            if location:
                self.result_url = location
            return True
        body = reply.data if isinstance(reply.data, Mapping) else {}
        self.state = str(body.get("status") or body.get("state") or "RUNNING").upper()
        if self.state in ("FAILED", "CANCELLED", "CANCELED"):
            reason = body.get("message") or body.get("reason") or body.get("error") or "no reason given"
            raise ReportFailed(
                f"report job {self.id} {self.state.lower()}: {reason}",
                vendor="ooyala",
                status=reply.status,
                code=self.state,
            )
        return False

    async def wait(self, *, first: float = 1.0, longest: float = 30.0, give_up_after: float = 3600.0) -> Self:
        """Poll until done (backoff from ``first`` to ``longest`` seconds); raise on FAILED or on timeout."""

        async def ready() -> bool | None:
            return True if await self.check() else None

        await poll(
            ready,
            self.client.clock,
            first=first,
            longest=longest,
            give_up_after=give_up_after,
            what=f"report job {self.id}",
            vendor="ooyala",
        )
        return self

    async def fetch(self) -> dict[str, Any]:
        """The whole result in memory (forecasts are small; use :meth:`rows` for reports)."""
        if not self.done:
            await self.wait()
        reply = await self.client.request("GET", self.result_url, params=self.result_params, codec=JSON_CODEC)
        return dict(reply.data or {})

    async def rows(self) -> AsyncIterator[dict[str, Any]]:
        """Each row as ``{header: value}`` (waits for the job first).

        The result is downloaded whole and checked first (see :class:`ReportJob`), holding the client's one request
        slot only for the download: other calls of the same client may run inside the loop.
        """
        if not self.done:
            await self.wait()
        async with download(
            self.client, self.result_url, _BODY, params=self.result_params, codec=JSON_CODEC, priority=Priority.BULK
        ) as body:
            async for row in json_table_rows(body.chunks(), context=body.context):
                yield row


REPORTING = "api/2.0"


class Reports:
    """``/api/2.0/report-definition`` and ``/api/2.0/report``."""

    def __init__(self, client: OoyalaPulse) -> None:
        self.client = client
        """The client every request goes through."""

    async def definitions(self) -> list[ReportDefinition]:
        """Every report definition of the account (``GET /api/2.0/report-definition``)."""
        reply = await self.client.request("GET", f"{REPORTING}/report-definition", codec=JSON_CODEC)
        return [ReportDefinition.model_validate(raw) for raw in reply.data or []]

    async def definition(self, id: str) -> ReportDefinition:
        """One report definition (``GET /api/2.0/report-definition/<id>``)."""
        url = f"{REPORTING}/report-definition/{quote(id, safe='')}"
        reply = await self.client.request("GET", url, codec=JSON_CODEC)
        return ReportDefinition.model_validate(reply.data)

    async def run(
        self,
        definition_id: str,
        filters: Sequence[Mapping[str, Any]] = (),
        *,
        use_names: bool = False,
        repeat_dimension_values: bool = True,
    ) -> OoyalaReportJob:
        """Submit a report of definition ``definition_id``; ``await job.wait()`` or iterate ``job.rows()``.

        ``filters``: ``{"type": "CAMPAIGN", "id": ...}``, ``{"type": "TIME_PERIOD", "dynamicTimePeriodType":
        "LAST_7_DAYS"}``, ... (docs/vendors/ooyala.md). ``use_names`` returns names instead of ids.
        """
        reply = await self.client.request(
            "POST",
            f"{REPORTING}/report",
            params={"useNames": "true" if use_names else "false"},
            payload={"filters": [dict(f) for f in filters], "id": definition_id},
            codec=JSON_CODEC,
        )
        location = reply.headers.get("location")
        if not location:
            raise DecodeError("the report request was accepted without a Location", vendor="ooyala")
        job_id = _job_id(location)
        job_url = location if "/job/" in location else f"{REPORTING}/report/job/{job_id}"
        params = {"repeatDimensionValues": "true" if repeat_dimension_values else "false"}
        return OoyalaReportJob(self.client, job_url, f"{REPORTING}/report/{job_id}", params)

    def job(self, job_id: str) -> OoyalaReportJob:
        """A handle on a report job submitted earlier (for example by another process)."""
        quoted = quote(job_id, safe="")
        params = {"repeatDimensionValues": "true"}
        return OoyalaReportJob(self.client, f"{REPORTING}/report/job/{quoted}", f"{REPORTING}/report/{quoted}", params)
