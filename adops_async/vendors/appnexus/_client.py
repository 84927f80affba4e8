"""``AppNexus``: the Xandr / Microsoft Invest "Digital Platform API" client (docs/vendors/appnexus.md).

Rate rule chosen by default: the documented per-member quota of **100 reads and 60 writes per rolling minute**
(seed wiki, XDOC bidders page) plus the 15-concurrent rule. Later pages speak of ~1000 per minute adjusted
dynamically, and of user/service limits that "may change over time", so the quota is a constructor argument; whatever
the account's real limit, every rate signal of every era (429, 405 + ``RATE_EXCEEDED``, ``SYSTEM`` +
``RATE_EXCEEDED`` in a 200, 503 + ``x-ratelimit-code``) pauses all tasks and retries (see :mod:`._dialect`).
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

from typing_extensions import Unpack

from ...core.client import BaseClient
from ...core.clock import Clock
from ...core.gate import Gate
from ...core.jobs import JobQuota
from ...core.meters import MemoryStore
from ...core.models import VendorModel
from ...core.options import ClientOptions
from ...core.policies import Cooldown, MaxInFlight, ReadWriteQuota
from ...core.redact import Secret
from ...core.shared import RedisStore, identity
from ._auth import AppNexusAuth, LoginBudget
from ._dialect import AppNexusDialect
from ._models import (
    Advertiser,
    Campaign,
    Creative,
    InsertionOrder,
    LineItem,
    Member,
    Placement,
    Profile,
    Publisher,
    Segment,
    Site,
    User,
)
from ._reports import Reports
from ._resources import AppNexusResource

__all__ = ["AppNexus", "default_gate"]

M = TypeVar("M", bound=VendorModel)


def default_gate(
    *,
    reads: int = 100,
    writes: int = 60,
    per: float = 60.0,
    max_in_flight: int = 15,
    store: MemoryStore | RedisStore | None = None,
    key: str | None = None,
    user_key: str | None = None,
    clock: Clock | None = None,
) -> Gate:
    """The AppNexus rule as a gate: ``ReadWriteQuota(reads, writes, per)`` + ``MaxInFlight(15)`` + ``Cooldown``.

    The quota is per member, shared by all its users: give every client of one member the same gate, or the same
    ``store`` and ``key`` (e.g. the member id). With a :class:`RedisStore` the quota and the pause after a rate
    signal are shared by every process using ``key``, and the 15 in flight by every process using ``user_key`` (the
    concurrency rule is per user).
    """
    shared = store if isinstance(store, RedisStore) else None
    return Gate(
        ReadWriteQuota(reads, writes, per, store=store, key=key),
        MaxInFlight(max_in_flight, store=shared, key=user_key),
        Cooldown(store=shared, key=key),
        clock=clock,
    )


class AppNexus(BaseClient):
    """An async AppNexus client: ``async with AppNexus(username=..., password=...) as an: ...``.

    Each resource is an :class:`~adops_async.vendors.appnexus.AppNexusResource` of its service (``list``, ``get``,
    ``create``, ``update``, ``delete``, paged 100 at a time); any other service by its URL name with
    :meth:`resource`. See ``docs/vendors/appnexus.md``.

    Args:
        username: an API user (logins: ``POST /auth``; the token goes raw in ``Authorization``).
        password: that user's password.
        base_url: ``https://api.appnexus.com`` (or a sandbox's URL).
        gate: replaces the default gate entirely (share one between clients of the same member).
        reads: the default gate's reads per ``per`` seconds, when your account's limits differ.
        writes: the default gate's writes per ``per`` seconds.
        per: the quota window, in seconds.
        max_in_flight: the default gate's concurrency cap (the 15-concurrent rule).
        store: share the default gate's quota through a store, keyed by member. With a
            :class:`~adops_async.RedisStore` every process and host of the member shares it.
        member_key: the store's key for the member's quota; without it the key is a hash of the username (pass the
            member id to share between the member's users).
        login_budget: the 10-logins-per-5-minutes rule; share one between clients of the same user.
        max_login_wait: how long a login may wait for that budget before raising :class:`~adops_async.AuthError`.
        report_slots: the report throttle: a user's report is refused while 5 of the reports the user submitted in
            the last 15 minutes are pending or processing, so :meth:`Reports.submit` first waits for one of
            ``JobQuota(reports_pending, window=report_window)`` (shared through ``store`` when it is a
            :class:`~adops_async.RedisStore`, keyed by user). Share one between clients of the same user in a process.
        reports_pending: the default ``report_slots``' number of pending reports, when your account's differs.
        report_window: the default ``report_slots``' window in seconds (the API's 15 minutes).
        rate_wait: seconds every task pauses after a rate signal that gives no ``Retry-After`` (a 405 or a 200 with
            ``RATE_EXCEEDED``); the quota window is a minute, so a much shorter pause tends to be refused again.
        **options: ``http``, ``retry``, ``timeout``, ``clock``, ``max_body_size``, ``observers``: the options every
            client takes (:class:`~adops_async.ClientOptions`), handed to :class:`~adops_async.BaseClient`. Every
            duration above (the quota window, the login window, report polling and its 15-minute ceiling, the rate
            pause) is in ``clock`` seconds: against a compressed-clock sandbox give ``clock=sandbox.client_clock()``
            (a :class:`~adops_async.ScaledClock`) and keep the vendor's own numbers.

    Attributes:
        members: ``member``: the member (account) and its settings.
        advertisers: ``advertiser``.
        insertion_orders: ``insertion-order``.
        line_items: ``line-item``.
        campaigns: ``campaign``.
        creatives: ``creative``.
        publishers: ``publisher``.
        sites: ``site``.
        placements: ``placement``.
        segments: ``segment``.
        profiles: ``profile`` (targeting profiles).
        users: ``user``.
        reports: ``report``: :meth:`~adops_async.vendors.appnexus.Reports.run` submits a report, waits until it is
            ready and returns a job whose ``rows()`` stream it.
        report_slots: the places for reports pending on the API's side (the report throttle), which ``reports``
            waits for before submitting.
    """

    members: AppNexusResource[Member]
    advertisers: AppNexusResource[Advertiser]
    insertion_orders: AppNexusResource[InsertionOrder]
    line_items: AppNexusResource[LineItem]
    campaigns: AppNexusResource[Campaign]
    creatives: AppNexusResource[Creative]
    publishers: AppNexusResource[Publisher]
    sites: AppNexusResource[Site]
    placements: AppNexusResource[Placement]
    segments: AppNexusResource[Segment]
    profiles: AppNexusResource[Profile]
    users: AppNexusResource[User]
    reports: Reports
    report_slots: JobQuota

    def __init__(
        self,
        *,
        username: str,
        password: str | Secret,
        base_url: str = "https://api.appnexus.com",
        gate: Gate | None = None,
        reads: int = 100,
        writes: int = 60,
        per: float = 60.0,
        max_in_flight: int = 15,
        store: MemoryStore | RedisStore | None = None,
        member_key: str | None = None,
        login_budget: LoginBudget | None = None,
        max_login_wait: float | None = None,
        report_slots: JobQuota | None = None,
        reports_pending: int = 5,
        report_window: float = 900.0,
        rate_wait: float = 10.0,
        **options: Unpack[ClientOptions],
    ) -> None:
        user_key = None
        if isinstance(store, RedisStore):
            user_key = f"appnexus:user:{identity(username)}"
            member_key = f"appnexus:member:{member_key}" if member_key else user_key
        if report_slots is None:
            shared = store if isinstance(store, RedisStore) else None
            report_slots = JobQuota(
                reports_pending,
                window=report_window,
                store=shared,
                key=f"{user_key}:reports" if shared else None,
            )
        self.report_slots = report_slots
        """Places for reports pending on the API's side (see ``report_slots``)."""
        if gate is None:
            gate = default_gate(
                reads=reads,
                writes=writes,
                per=per,
                max_in_flight=max_in_flight,
                store=store,
                key=member_key,
                user_key=user_key,
                clock=options.get("clock"),
            )
        budget = login_budget or LoginBudget(10, 300.0)
        auth = AppNexusAuth(username, password, budget=budget, max_login_wait=max_login_wait)
        super().__init__(
            base_url=base_url,
            dialect=AppNexusDialect(rate_wait=rate_wait),
            auth=auth,
            gate=gate,
            **options,
        )
        self.members = self.resource("member", Member)
        self.advertisers = self.resource("advertiser", Advertiser)
        self.insertion_orders = self.resource("insertion-order", InsertionOrder)
        self.line_items = self.resource("line-item", LineItem)
        self.campaigns = self.resource("campaign", Campaign)
        self.creatives = self.resource("creative", Creative)
        self.publishers = self.resource("publisher", Publisher)
        self.sites = self.resource("site", Site)
        self.placements = self.resource("placement", Placement)
        self.segments = self.resource("segment", Segment)
        self.profiles = self.resource("profile", Profile)
        self.users = self.resource("user", User)
        self.reports = Reports(self)

    @property
    def logins(self) -> int:
        """Logins this client performed."""
        assert isinstance(self.auth, AppNexusAuth)
        return self.auth.logins

    async def current_member(self) -> Member:
        """``GET /member``: the member this user belongs to (answered as one ``member``, not a list)."""
        return await self.members.one()

    async def current_user(self) -> User:
        """``GET /user?current=1``: the logged-in user (answered as one ``user``)."""
        return await self.users.one(current=1)

    @overload
    def resource(self, service: str) -> AppNexusResource[VendorModel]: ...

    @overload
    def resource(self, service: str, model: type[M]) -> AppNexusResource[M]: ...

    def resource(self, service: str, model: type[Any] = VendorModel) -> AppNexusResource[Any]:
        """Any service by its URL name: ``an.resource("domain-list")``, typed by ``model`` if you have one."""
        return AppNexusResource(self, service, model)

    def __repr__(self) -> str:
        return f"<AppNexus {self.base_url} user={self.auth!r}>"
