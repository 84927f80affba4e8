"""What a vendor declares once, for everything above the clients to read: :class:`VendorSpec` and its parts.

Each vendor's ``vendors/<vendor>/_spec.py`` builds one :class:`VendorSpec`; :mod:`adops_async.vendors` collects them
in :data:`~adops_async.vendors.VENDORS`. ``AdOps`` (``ops.py``), the FastAPI integration, the command line and the
report sync read the registry and name no vendor themselves (``docs/design.md``, "Adding a vendor").
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..core.client import BaseClient
from ..core.reports import ReportJob

if TYPE_CHECKING:
    from ..sandbox import Sandbox

__all__ = [
    "DeliveryPull",
    "DeliverySpec",
    "Lister",
    "ReportOption",
    "ReportSpec",
    "ResourceSpec",
    "SandboxSpec",
    "VendorSpec",
]

Lister = Callable[[Any, Mapping[str, Any]], AsyncIterator[Any]]
"""Lists a normalized kind where it takes more than one resource's ``list`` (``client``, ``filters``)."""

ListCall = Callable[[Any, Mapping[str, str]], AsyncIterable[Any]]
GetCall = Callable[[Any, str], Awaitable[Any]]

DeliveryPull = Callable[[Any, datetime, datetime, Mapping[str, Any], list[str]], AsyncGenerator[dict[str, Any], None]]
"""``pull(client, start, end, options, report_ids)``: the delivery rows from ``start`` up to (not including) ``end``
(naive UTC: a window's days, or part of them when the window was split), as the vendor sent them; appends the
vendor's ids of the reports behind them to ``report_ids``."""


@dataclass(frozen=True)
class ResourceSpec:
    """A resource that can be listed or got by id, and how (the client attribute's ``list``/``get``, unless told
    otherwise). Listing calls raise :class:`ValueError` for filters the vendor does not take."""

    attribute: str
    list: ListCall | None = None
    get: GetCall | None = None
    note: str = ""
    """What a listing needs, or that it only gets (the command line shows it beside the name)."""

    @classmethod
    def plain(cls, attribute: str, *, listing: bool = True, getting: bool = True, note: str = "") -> ResourceSpec:
        """The client attribute's own ``list(**filters)`` and ``get(id)``."""

        def list_all(client: Any, filters: Mapping[str, str]) -> AsyncIterable[Any]:
            result: AsyncIterable[Any] = getattr(client, attribute).list(**filters)
            return result

        async def get_one(client: Any, id: str) -> Any:
            return await getattr(client, attribute).get(id)

        return cls(attribute, list_all if listing else None, get_one if getting else None, note)


def resources(*names: str) -> dict[str, ResourceSpec]:
    """Plain resources (:meth:`ResourceSpec.plain`), each named as its client attribute."""
    return {name: ResourceSpec.plain(name) for name in names}


@dataclass(frozen=True)
class ReportOption:
    """One argument of a vendor's report: what kind of value it takes, what it means, whether it must be given."""

    kind: Literal["text", "list", "json", "bool"]
    help: str
    required: bool = False


@dataclass(frozen=True)
class ReportSpec:
    """A vendor's report workflow (``client.reports.run(...)``).

    Args:
        run: runs a report from ``options`` (names of :attr:`options`) and returns its job.
        options: the options ``run`` takes.
    """

    run: Callable[[Any, Mapping[str, Any]], Awaitable[ReportJob]]
    options: Mapping[str, ReportOption]


@dataclass(frozen=True)
class DeliverySpec:
    """A vendor's delivery report, pulled a day window at a time by :mod:`adops_async.sync` (``docs/sync.md``).

    Args:
        raw_columns: the columns of the vendor's raw table (others go to its ``adops_extra`` JSON column).
        fields: normalized ``delivery`` column -> the raw column it comes from.
        pull: the rows of one window, or of part of it.
        account: the ``account`` of the client's rows (``None`` when the client does not know it).
        splits: whether the vendor's report takes a time range finer than a day, so a window whose report does not
            finish in time or hits the vendor's row cap is pulled again as two halves (see ``docs/sync.md``).
    """

    raw_columns: tuple[str, ...]
    fields: Mapping[str, str]
    pull: DeliveryPull
    account: Callable[[BaseClient], str | None] = lambda client: None
    splits: bool = False


@dataclass(frozen=True)
class SandboxSpec:
    """The vendor's sandbox as ``adops demo``, ``--sandbox`` and :func:`~adops_async.sandbox.serve_seeded` serve it.

    Args:
        build: a seeded sandbox at a speed (vendor seconds per real second); imports the sandbox when called.
        settings: the client arguments for that sandbox served at a URL.
        hint: a ``curl`` line that reaches it (``URL`` stands for its address).
        demo_pull: what the demo lists (a normalized kind or a resource; see :meth:`adops_async.AdOps.paginate`).
        report_example: report options the demo and ``--sandbox`` use where none are given.
        delivery: a sandbox serving deterministic delivery per day (``app.delivery``) with at most ``rows`` rows a
            day, for ``adops sync --sandbox``; ``None`` when the vendor has no delivery report.
        delivery_settings: the client arguments for the delivery sandbox (default: ``settings``).
    """

    build: Callable[[float], Sandbox]
    settings: Callable[[Sandbox, str], dict[str, Any]]
    hint: str
    demo_pull: str
    report_example: Mapping[str, Any] = field(default_factory=dict)
    delivery: Callable[[float, int], Sandbox] | None = None
    delivery_settings: Callable[[Sandbox, str], dict[str, Any]] | None = None


@dataclass(frozen=True)
class VendorSpec:
    """One vendor, declared once.

    Args:
        name: the vendor's name: ``AdOps`` keyword, command-line name, ``Entity.vendor``.
        client: the client class.
        credentials: the client arguments that make a complete login, one tuple per alternative.
        resources: what can be listed or got, by name.
        sandbox: its sandbox (``sandbox/<vendor>/``) and the seeds the demo uses.
        kinds: normalized kind (``advertisers``, ``campaigns``, ``line_items``, ``creatives``) -> the client
            attribute that lists it, or a :data:`Lister`; a kind not here is one the vendor does not have.
        fields: normalized field (``status``, ``start``, ``end``, ``budget``) -> the raw names that hold it, first
            found wins.
        report: the report workflow, ``None`` when the vendor has none.
        delivery: the delivery report the sync pulls, ``None`` when the vendor has none.
    """

    name: str
    client: type[BaseClient]
    credentials: tuple[tuple[str, ...], ...]
    resources: Mapping[str, ResourceSpec]
    sandbox: SandboxSpec
    kinds: Mapping[str, str | Lister] = field(default_factory=dict)
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    report: ReportSpec | None = None
    delivery: DeliverySpec | None = None
