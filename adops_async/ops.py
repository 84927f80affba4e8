"""``AdOps``: several vendor clients as one, and a normalized ad-ops view across the three ad platforms.

    async with AdOps(appnexus=an, adnuntius=adn, ooyala=pulse) as ops:
        async with ops.paginate("line_items") as entities:
            async for item in entities:          # LineItem(vendor="appnexus", id=..., name=..., ...)
                ...

Each vendor's pages come through that vendor's own client, so its gate keeps its rule; one task per vendor feeds a
bounded stream, so a slow vendor never holds back the others and memory stays flat.

Field mapping (``raw`` always holds the vendor's own model):

| normalized | AppNexus | Adnuntius | Ooyala Pulse |
| --- | --- | --- | --- |
| ``Advertiser`` | ``advertisers`` | ``advertisers`` | ``clients`` of type ADVERTISER |
| ``Campaign`` | ``insertion_orders`` | ``orders`` | ``campaigns`` |
| ``LineItem`` | ``line_items`` | ``line_items`` | ``goals`` (listed campaign by campaign) |
| ``Creative`` | ``creatives`` | ``creatives`` | ``ads`` (Ad API) |
| ``status`` | ``state`` | ``objectState`` (``userState``, ``executionState`` in ``raw``) | ``status`` / ``enabled`` |
| ``start`` / ``end`` | ``start_date`` / ``end_date`` | ``startDate`` / ``endDate`` | ``start`` / ``end`` |
| ``budget`` | ``lifetime_budget`` | ``objectives`` (``raw``) | ``budget.value`` |
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ._merge import ErrorPolicy, Merged, SourceFailure, merge
from .core.client import BaseClient
from .core.errors import AdOpsError
from .core.reports import ReportJob, replacing
from .observe import Observer
from .vendors import VENDORS
from .vendors._spec import Lister

if TYPE_CHECKING:
    from .sync import SyncResult, WindowResult

__all__ = ["AdOps", "Advertiser", "Campaign", "Creative", "Entity", "LineItem", "SourceFailure"]


class Entity(BaseModel):
    """One object of one vendor, in the fields every ad platform shares."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    kind: ClassVar[str] = "entity"
    """The normalized kind: ``advertisers``, ``campaigns``, ``line_items``, ``creatives`` (``entity`` for another)."""

    vendor: str
    """The vendor it came from (``"appnexus"``, ``"adnuntius"``, ``"ooyala"``)."""
    id: str
    """The vendor's id, as a string."""
    name: str | None = None
    """The vendor's name of the object, or ``None`` when it has none."""
    status: str | None = None
    """The vendor's state as it says it (AppNexus ``state``, Adnuntius ``objectState``, Ooyala ``status``, or
    ``ENABLED``/``DISABLED``), or ``None``."""
    start: datetime | None = None
    """When it starts delivering, or ``None`` when the vendor gives no start."""
    end: datetime | None = None
    """When it stops delivering, or ``None`` when the vendor gives no end."""
    budget: float | None = None
    """The lifetime budget in the vendor's currency, or ``None`` (Adnuntius objects carry none here)."""
    raw: Any = Field(default=None, repr=False, exclude=True)
    """The vendor's own model, with every field it sent."""


class Advertiser(Entity):
    """AppNexus advertiser, Adnuntius advertiser, Ooyala client."""

    kind = "advertisers"
    """``advertisers``."""


class Campaign(Entity):
    """AppNexus insertion order, Adnuntius order, Ooyala campaign."""

    kind = "campaigns"
    """``campaigns``."""


class LineItem(Entity):
    """AppNexus line item, Adnuntius line item, Ooyala goal."""

    kind = "line_items"
    """``line_items``."""


class Creative(Entity):
    """AppNexus creative, Adnuntius creative, Ooyala ad."""

    kind = "creatives"
    """``creatives``."""


NORMALIZED: Mapping[str, type[Entity]] = {c.kind: c for c in (Advertiser, Campaign, LineItem, Creative)}


def _pick(raw: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = raw.get(name) if isinstance(raw, Mapping) else getattr(raw, name, None)
        if value is None and isinstance(raw, BaseModel) and raw.model_extra:
            value = raw.model_extra.get(name)
        if value is not None:
            return value
    return None


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        text = value.strip().replace(" ", "T", 1).replace("Z", "+00:00")
        if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():  # +0200 -> +02:00
            text = f"{text[:-2]}:{text[-2:]}"
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


def _as_budget(value: Any) -> float | None:
    value = _pick(value, ("value", "amount")) if isinstance(value, (Mapping, BaseModel)) else value
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def normalize(vendor: str, kind: str, raw: Any) -> Entity:
    """The normalized view of one vendor object (``kind`` is ``advertisers``, ``campaigns``, ...; other kinds give a
    plain :class:`Entity`)."""
    spec = VENDORS.get(vendor)
    fields: Mapping[str, tuple[str, ...]] = spec.fields if spec is not None else {}
    status = _pick(raw, fields.get("status", ()))
    if isinstance(status, bool):
        status = "ENABLED" if status else "DISABLED"
    return NORMALIZED.get(kind, Entity)(
        vendor=vendor,
        id=str(_pick(raw, ("id",))),
        name=_pick(raw, ("name",)),
        status=str(status) if status is not None else None,
        start=_as_datetime(_pick(raw, fields.get("start", ()))),
        end=_as_datetime(_pick(raw, fields.get("end", ()))),
        budget=_as_budget(_pick(raw, fields.get("budget", ()))),
        raw=raw,
    )


class AdOps:
    """Several vendor clients at once. Give any subset, as clients (you keep them) or as keyword settings.

    Args:
        buffer: entities held between the vendors and the consumer of :meth:`paginate`.
        observers: event subscribers (:mod:`adops_async.observe`) for every client: given to the clients built
            from settings, and subscribed to the clients given as objects for as long as this ``AdOps`` is open.
        **clients: one keyword per vendor, named as in the registry (:data:`adops_async.vendors.VENDORS`):
            ``appnexus`` (an :class:`~adops_async.AppNexus`), ``adnuntius`` (an :class:`~adops_async.Adnuntius`),
            ``ooyala`` (an :class:`~adops_async.OoyalaPulse`), ``pulsepro`` (a :class:`~adops_async.PulsePro`):
            the client, or a dict of its constructor arguments. Another name is a :class:`TypeError`.
    """

    def __init__(
        self,
        *,
        buffer: int = 256,
        observers: Sequence[Observer] = (),
        **clients: BaseClient | Mapping[str, Any] | None,
    ) -> None:
        for name in clients:
            if name not in VENDORS:
                raise TypeError(f"AdOps() got an unexpected keyword argument {name!r} (vendors: {', '.join(VENDORS)})")
        self._given = {vendor: clients.get(vendor) for vendor in VENDORS}  # the registry's order, whatever the call's
        self.buffer = buffer
        """Entities held between the vendors and the consumer of :meth:`paginate`."""
        self.observers = list(observers)
        """Event subscribers for every client."""
        self.clients: dict[str, BaseClient] = {}
        """The open clients by vendor name, while this ``AdOps`` is open."""
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> AdOps:
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            for vendor, given in self._given.items():
                if given is None:
                    continue
                if isinstance(given, BaseClient):
                    self.clients[vendor] = given
                    for observer in self.observers:
                        given.observers.add(observer)
                        stack.callback(given.observers.remove, observer)
                else:
                    settings = dict(given)
                    settings["observers"] = [*settings.get("observers", ()), *self.observers]
                    self.clients[vendor] = await stack.enter_async_context(VENDORS[vendor].client(**settings))
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None

    def _sources(
        self, what: str | Mapping[str, str], filters: Mapping[str, Any]
    ) -> dict[str, Callable[[], AsyncIterator[Entity]]]:
        wanted = dict(what) if isinstance(what, Mapping) else dict.fromkeys(self.clients, what)
        sources: dict[str, Callable[[], AsyncIterator[Entity]]] = {}
        for vendor, kind in wanted.items():
            client = self.clients.get(vendor)
            if client is None:
                raise AdOpsError(f"{vendor} is not configured", vendor=vendor)
            lister: str | Lister | None = VENDORS[vendor].kinds.get(kind) if kind in NORMALIZED else kind
            if isinstance(lister, str):
                lister = _resource_lister(lister) if hasattr(client, lister) else None
            if lister is None:
                if isinstance(what, Mapping):
                    raise AdOpsError(f"{vendor} has no {kind!r}", vendor=vendor)
                continue  # not an ad platform (PulsePro) or no such kind: the others still answer
            sources[vendor] = _entities(vendor, kind, client, lister, filters)
        if not sources:
            raise AdOpsError(f"no configured vendor has {what!r}")
        return sources

    async def reports(
        self,
        requests: Mapping[str, Mapping[str, Any]],
        *,
        directory: str | Path | None = None,
        merged: str | Path | None = None,
        format: Literal["csv", "jsonl"] = "csv",
    ) -> dict[str, int]:
        """Run several vendors' reports at once and write them; return the rows written per vendor.

        ``requests`` maps a vendor to the arguments of its ``client.reports.run(...)``. Either ``directory`` gets one
        file per vendor (``appnexus.csv``, ...), or ``merged`` gets one JSON-lines file whose rows carry a ``vendor``
        field (vendors' columns differ, so a merged file is JSON lines). Rows stream to disk: memory stays flat. The
        first failure cancels the other reports and is raised as itself (a vendor's :class:`AdOpsError`, or the
        ``OSError`` of a file that could not be written), never inside an exception group. A vendor without a
        report workflow (PulsePro) is an :class:`AdOpsError` naming it, raised before any report starts, like a
        vendor that is not configured (as :meth:`paginate` and :meth:`sync` do for what a vendor does not have).
        """
        if (directory is None) == (merged is None):
            raise ValueError("give directory= (one file per vendor) or merged= (one JSON-lines file)")
        clients = {vendor: self.clients[vendor] for vendor in requests if vendor in self.clients}
        if missing := set(requests) - set(clients):
            raise AdOpsError(f"not configured: {', '.join(sorted(missing))}")
        for vendor in clients:
            if VENDORS[vendor].report is None:
                raise AdOpsError(f"{vendor} has no reports", vendor=vendor)
        jobs: dict[str, ReportJob] = {}

        async def submit(vendor: str) -> None:
            jobs[vendor] = await getattr(clients[vendor], "reports").run(**requests[vendor])  # noqa: B009

        async with merge({v: _awaiting(submit, v) for v in clients}) as done:
            async for _ in done:
                pass
        if directory is not None:
            counts: dict[str, int] = {}

            async def save(vendor: str) -> None:
                counts[vendor] = await jobs[vendor].save(Path(directory) / f"{vendor}.{format}", format=format)

            async with merge({v: _awaiting(save, v) for v in jobs}) as saved:
                async for _ in saved:
                    pass
            return counts
        assert merged is not None
        return await _write_merged(Path(merged), jobs)

    async def sync(
        self,
        to: str | Path,
        *,
        start: date | None = None,
        end: date | None = None,
        lookback: int = 3,
        vendors: Sequence[str] | None = None,
        concurrency: int | Mapping[str, int] | None = None,
        attempts: int = 3,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        progress: Callable[[WindowResult], None] | None = None,
    ) -> SyncResult:
        """Bring ``to`` up to date with each vendor's delivery report, one day window at a time (``docs/sync.md``).

        ``to``: a ``.duckdb`` file (extra ``adops-async[duckdb]``) or a directory of Parquet (extra
        ``adops-async[parquet]``). Pulled: every day from ``start`` (default: the earliest stored window) to ``end``
        (inclusive; default: yesterday, UTC) without a complete window, and the last ``lookback`` days again. Each
        window's rows replace its previous rows in one transaction, with its state in ``adops_windows``; a window
        whose report fails its checks is tried ``attempts`` times, then recorded as failed (its older rows, if any,
        stay). ``vendors``: default every configured vendor with a report; ``concurrency``: windows at once per
        vendor (a number, or one per vendor; default: the vendor's report budget, else 2); ``options``: per vendor,
        extra report arguments (``{"ooyala": {"definition_id": ...}}``); ``progress`` hears each window as it ends.
        Check :attr:`SyncResult.ok`.
        """
        from .sync import sync

        return await sync(
            self.clients,
            to,
            start=start,
            end=end,
            lookback=lookback,
            vendors=vendors,
            concurrency=concurrency,
            attempts=attempts,
            options=options,
            progress=progress,
        )

    @asynccontextmanager
    async def paginate(
        self,
        what: str | Mapping[str, str],
        *,
        on_error: ErrorPolicy = "raise",
        **filters: Any,
    ) -> AsyncIterator[Merged[Entity]]:
        """Every ``what`` of every configured vendor as one stream, in arrival order.

        ``what`` is a normalized kind (``advertisers``, ``campaigns``, ``line_items``, ``creatives``), any resource
        name a vendor client has (``inspections``), or a mapping of vendor to either
        (``{"appnexus": "line_items", "pulsepro": "inspections"}``). Each item is an :class:`Entity` whose ``vendor``
        says where it came from and whose ``raw`` is the vendor's own model. ``on_error="collect"`` lets the other
        vendors finish when one fails; see ``stream.failures`` afterwards.

        With ``on_error="raise"`` the first vendor failure stops every vendor and is raised as itself (an
        :class:`AdOpsError` subclass, never an exception group), as is an exception raised in the ``async with``
        block; cancellation stays cancellation.
        """
        async with merge(self._sources(what, filters), buffer=self.buffer, on_error=on_error) as stream:
            yield stream


def _awaiting(step: Callable[[str], Awaitable[None]], vendor: str) -> Callable[[], AsyncIterator[None]]:
    """One awaitable as a source of :func:`merge` (which gives fail-fast cancellation and a plain exception)."""

    async def source() -> AsyncIterator[None]:
        await step(vendor)
        yield None

    return source


def _tagged_rows(vendor: str, job: ReportJob) -> Callable[[], AsyncIterator[dict[str, Any]]]:
    async def rows() -> AsyncIterator[dict[str, Any]]:
        async for row in job.rows():
            yield {"vendor": vendor, **row}

    return rows


async def _write_merged(path: Path, jobs: Mapping[str, ReportJob]) -> dict[str, int]:
    counts = dict.fromkeys(jobs, 0)
    lines: list[str] = []
    async with replacing(path) as out:  # a pull that fails leaves no partial file behind
        async with merge({vendor: _tagged_rows(vendor, job) for vendor, job in jobs.items()}) as rows:
            async for row in rows:
                counts[row["vendor"]] += 1
                lines.append(json.dumps(row, default=str))
                if len(lines) >= 1_000:  # one thread hop per batch, not per row
                    await out.write("\n".join(lines) + "\n")
                    lines.clear()
        if lines:
            await out.write("\n".join(lines) + "\n")
    return counts


def _resource_lister(name: str) -> Lister:
    async def items(client: Any, filters: Mapping[str, Any]) -> AsyncIterator[Any]:
        async for raw in getattr(client, name).list(**filters):
            yield raw

    return items


def _entities(
    vendor: str, kind: str, client: BaseClient, lister: Lister, filters: Mapping[str, Any]
) -> Callable[[], AsyncIterator[Entity]]:
    async def items() -> AsyncIterator[Entity]:
        async for raw in lister(client, filters):
            yield normalize(vendor, kind, raw)

    return items
