"""``Adnuntius``: the client (docs/vendors/adnuntius.md; ADN-INTRO).

Its rule: the API limits each access token and answers ``429 Too Many Requests`` with ``Retry-After`` (and a text
saying how many seconds) when it is exceeded; the numbers are not published. So the default gate is a
:class:`~adops_async.gates.Cooldown` (one 429 closes the gate for every task of the client until Retry-After has
passed) plus a polite :class:`~adops_async.gates.MaxInFlight` of :data:`DEFAULT_MAX_IN_FLIGHT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from typing_extensions import Unpack

from ...core.auth import Auth, HeaderAuth
from ...core.client import BaseClient
from ...core.clock import Clock
from ...core.gate import Gate
from ...core.models import VendorModel
from ...core.options import ClientOptions
from ...core.paging import AsyncPaginator, Page, PageRequest
from ...core.policies import Cooldown, MaxInFlight, Priority
from ...core.priority import current_priority
from ...core.redact import Secret
from ...core.shared import RedisStore, identity
from ._auth import AdnuntiusAuth, TwoFactorCodeProvider
from ._dialect import AdnuntiusDialect
from ._models import (
    AdnuntiusObject,
    AdUnit,
    Advertiser,
    Asset,
    Creative,
    Layout,
    LineItem,
    Location,
    Network,
    Order,
    Segment,
    Site,
    Team,
    Tier,
    User,
)
from ._paging import AdnuntiusPaging, LocationPaging
from ._resources import AdnuntiusResource, AssetResource
from ._stats import StatsReports, StatsResult

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "Adnuntius"]

DEFAULT_MAX_IN_FLIGHT = 1
"""Requests in flight per client by default. Adnuntius publishes no number and its official client (ADN-TOOLS) is
synchronous, so we are as polite: with one request in flight, a 429 is the only refused call of its pause and nothing
is ever sent during a Retry-After window. With ``max_in_flight=n`` a pause can cost up to ``n`` refused calls, and up
to ``n - 1`` requests admitted just before a 429 arrived may still leave during the pause (tests measure both).
Vectorized reads (``get_many``) and batch upserts keep one-at-a-time fast."""


def default_gate(
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    *,
    clock: Clock | None = None,
    store: RedisStore | None = None,
    key: str | None = None,
) -> Gate:
    """``Gate(Cooldown(), MaxInFlight(max_in_flight))``: the gate :class:`Adnuntius` builds when given none.

    With a ``store`` and ``key``, a 429's ``Retry-After`` pauses every process of the account, not just this one.
    """
    return Gate(Cooldown(store=store, key=key), MaxInFlight(max_in_flight), clock=clock)


class Adnuntius(BaseClient):
    """Async client for the Adnuntius API (``https://api.adnuntius.com``).

    Each resource is an :class:`~adops_async.vendors.adnuntius.AdnuntiusResource` (``list``, ``get``, ``get_many``,
    ``exists``, ``upsert``, ``update``, ``archive``); any other of the ~90 resources with :meth:`resource`. See
    ``docs/vendors/adnuntius.md``.

    Args:
        username: an API user (with ``password``); or give ``api_key``.
        password: that user's password.
        api_key: an API key from the admin UI, sent as ``Authorization: Bearer <key>`` (needed for 2FA users who
            cannot use a TOTP provider; "querying publisher data" is not supported with keys).
        context: the id of the network every call is scoped to, sent as ``?context=`` (e.g. ``"network_1"``).
            Required: Adnuntius needs it on every request for an object that belongs to a network, which is every
            resource here, and an account's network ids are its own.
        base_url: the API host (or a sandbox's URL).
        two_factor_code: a TOTP code provider for a 2FA user (completes ``/api/authenticate/2fa``).
        masquerade_as: act as another user (``masqueradeAsUser``).
        gate: replaces the default gate (``Cooldown()`` + ``MaxInFlight(max_in_flight)``).
        max_in_flight: the default gate's concurrency cap (ignored when ``gate`` is given).
        store: a :class:`~adops_async.RedisStore`, so a 429's pause holds for every process of this user.
        page_size: ``pageSize`` for lists.
        refresh_margin: refresh the token this many seconds before it expires.
        **options: ``http``, ``retry``, ``timeout``, ``clock``, ``max_body_size``, ``observers``: the options every
            client takes (:class:`~adops_async.ClientOptions`), handed to :class:`~adops_async.BaseClient`.

    Attributes:
        context: the network id sent as ``?context=``.
        advertisers: ``/api/v1/advertisers``.
        orders: ``/api/v1/orders``.
        line_items: ``/api/v1/lineitems``.
        creatives: ``/api/v1/creatives``.
        assets: ``/api/v1/assets``, with multipart ``upload``.
        sites: ``/api/v1/sites``.
        ad_units: ``/api/v1/adunits``.
        users: ``/api/v1/users``.
        teams: ``/api/v1/teams``.
        networks: ``/api/v1/networks``.
        tiers: ``/api/v1/tiers``.
        layouts: ``/api/v1/layouts``.
        segments: ``/api/v1/segments``.
        reports: ``/api/v1/stats`` as a report: :meth:`~adops_async.vendors.adnuntius.StatsReports.run` returns a job
            whose ``rows()`` are flat (also :meth:`stats`, the answer as the vendor structures it).
        paging: how lists page (``pageSize``, a page base of 0 or 1).
    """

    context: str
    advertisers: AdnuntiusResource[Advertiser]
    orders: AdnuntiusResource[Order]
    line_items: AdnuntiusResource[LineItem]
    creatives: AdnuntiusResource[Creative]
    assets: AssetResource
    sites: AdnuntiusResource[Site]
    ad_units: AdnuntiusResource[AdUnit]
    users: AdnuntiusResource[User]
    teams: AdnuntiusResource[Team]
    networks: AdnuntiusResource[Network]
    tiers: AdnuntiusResource[Tier]
    layouts: AdnuntiusResource[Layout]
    segments: AdnuntiusResource[Segment]
    reports: StatsReports
    paging: AdnuntiusPaging

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | Secret | None = None,
        api_key: str | Secret | None = None,
        context: str,
        base_url: str = "https://api.adnuntius.com",
        two_factor_code: TwoFactorCodeProvider | None = None,
        masquerade_as: str | None = None,
        gate: Gate | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        store: RedisStore | None = None,
        page_size: int = 100,
        refresh_margin: float = 600.0,
        **options: Unpack[ClientOptions],
    ) -> None:
        if not isinstance(context, str) or not context.strip():
            raise ValueError(
                "Adnuntius needs context=, the id of the network its calls are scoped to (e.g. 'network_1')"
            )
        auth: Auth
        if api_key is not None:
            auth = HeaderAuth(api_key, scheme="Bearer", field="api_key")
        elif username is not None and password is not None:
            auth = AdnuntiusAuth(
                username,
                password,
                two_factor_code=two_factor_code,
                masquerade_as=masquerade_as,
                refresh_margin=refresh_margin,
            )
        else:
            raise ValueError("Adnuntius needs username= and password=, or api_key=")
        dialect = AdnuntiusDialect()
        if gate is None:
            # Adnuntius limits per access token, which belongs to the user (or the API key).
            shared = f"adnuntius:{identity(api_key or username or '')}" if store is not None else None
            gate = default_gate(max_in_flight, clock=options.get("clock"), store=store, key=shared)
        super().__init__(base_url=base_url, dialect=dialect, auth=auth, gate=gate, **options)
        self.context = context
        self.reports = StatsReports(self)
        self.paging = AdnuntiusPaging(size=page_size)
        self.advertisers = self._declare("advertisers", Advertiser)
        self.orders = self._declare("orders", Order)
        self.line_items = self._declare("lineitems", LineItem)
        self.creatives = self._declare("creatives", Creative)
        self.assets = AssetResource(self, "api/v1/assets", Asset, paging=self.paging)
        self.sites = self._declare("sites", Site)
        self.ad_units = self._declare("adunits", AdUnit)
        self.users = self._declare("users", User)
        self.teams = self._declare("teams", Team)
        self.networks = self._declare("networks", Network)
        self.tiers = self._declare("tiers", Tier)
        self.layouts = self._declare("layouts", Layout)
        self.segments = self._declare("segments", Segment)

    def _declare(self, name: str, model: type[Any]) -> Any:
        return AdnuntiusResource(self, f"api/v1/{name}", model, paging=self.paging)

    def resource(
        self, name: str, model: type[VendorModel] = AdnuntiusObject, *, allow_delete: bool = False
    ) -> AdnuntiusResource[Any]:
        """Any of the ~90 Adnuntius resources by its path name (``"sitegroups"``, ``"keyvalues"`` ...)."""
        return AdnuntiusResource(
            self, f"api/v1/{name.strip('/')}", model, paging=self.paging, allow_delete=allow_delete
        )

    def scoped(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``params`` plus ``context=<network>`` (every network-scoped call needs it, ADN-INTRO "Context Parameter")."""
        return {**(params or {}), "context": self.context}

    def locations(self, q: str, *, priority: Priority | None = None, **params: Any) -> AsyncPaginator[Location]:
        """``GET /api/v1/location?q=``: the locations (cities, regions ...) matching ``q``, page by page with the
        endpoint's own paging (``totalHits``, ``pageStart``/``pageEnd``, ``searchResults``; see
        :class:`~adops_async.vendors.adnuntius.LocationPaging`)."""
        priority = current_priority(priority, Priority.BULK)
        style = LocationPaging(size=self.paging.size, start=self.paging.start)

        async def fetch(request: PageRequest) -> Page[Location]:
            reply = await self.request("GET", "api/v1/location", params=self.scoped(request.params), priority=priority)
            page = style.parse(request, reply.data)
            return Page([Location.model_validate(hit) for hit in page.items], page.next, page.total)

        return AsyncPaginator(fetch, style.first({"q": q, **params}))

    @property
    def logins(self) -> int:
        """Password logins performed so far (0 with an API key)."""
        return self.auth.logins if isinstance(self.auth, AdnuntiusAuth) else 0

    # -- stats -------------------------------------------------------------------------------------------------

    async def stats(
        self,
        start: datetime | str,
        end: datetime | str,
        *,
        group_by: str | None = None,
        all: str | None = None,
        **filters: Any,
    ) -> StatsResult:
        """``GET /api/v1/stats`` answered whole: ``chunks`` and ``totals`` (see :class:`StatsResult`). A helper over
        :meth:`StatsReports.run <adops_async.vendors.adnuntius.StatsReports.run>`, the report entry point, for callers
        who want the vendor's structure rather than flat rows."""
        report = await self.reports.run(start, end, group_by=group_by, all=all, **filters)
        return await report.fetch()
