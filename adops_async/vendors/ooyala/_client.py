"""``OoyalaPulse``: the client, wired for the vendor's one rule.

OOY-INTRO, "Things every developer should know": "Only one request at a time towards Ooyala Pulse REST endpoints is
allowed for a client." So the default gate is ``Serial()`` (one request in flight, logins and report polls included:
they are requests like any other) plus ``Cooldown()`` (a 429 or a 503 with ``Retry-After`` pauses every task). Any
number of tasks may await the client at once; they queue at the gate (FIFO within a priority), never on the server.
"""

from __future__ import annotations

from typing_extensions import Unpack

from ...core.client import BaseClient
from ...core.gate import Gate
from ...core.jobs import JobQuota
from ...core.options import ClientOptions
from ...core.policies import Cooldown, Serial
from ...core.redact import Secret
from ...core.shared import RedisStore, identity
from ._adapi import Ads, Assets
from ._auth import ApiKeyAuth, SessionLogin
from ._booking import Campaigns, Clients, Goals
from ._custom_reports import RUNNING_CAP, SLOT_HOLD, CustomReports
from ._dialect import OoyalaDialect
from ._forecast import Forecasts
from ._reports import Reports
from ._templates import TargetingTemplates

__all__ = ["OoyalaPulse"]

DEFAULT_BASE_URL = "https://api.videoplaza.com"


class OoyalaPulse(BaseClient):
    """Async client for the Ooyala Pulse (videoplaza) REST APIs.

    Give either ``api_key`` (the current ``x-o-api-key`` header) or ``username`` and ``password`` (the legacy
    ``/login_process`` session, renewed from ``Set-Cookie`` and re-opened once on a 401).

    Args:
        api_key: the ``x-o-api-key`` (current auth); or give ``username`` and ``password``.
        username: a user of the legacy session login.
        password: that user's password.
        base_url: the API host; the families live under ``/api/1.0``, ``/v1`` and ``/api/2.0``.
        gate: replaces ``Gate(Serial(), Cooldown())``. Share one gate between clients of the same credentials.
        store: a :class:`~adops_async.RedisStore`: the one slot is then shared by every process using these
            credentials (a lease handed out in FIFO order; the request timeout is capped below the lease), and so are
            the two running-report slots of :attr:`custom_reports`.
        report_slots: the running-report slots of :attr:`custom_reports` (default: two, shared through ``store``
            when one is given). Give every client of one account the same one.
        **options: ``http``, ``retry``, ``timeout``, ``clock``, ``max_body_size``, ``observers``: the options every
            client takes (:class:`~adops_async.ClientOptions`), handed to :class:`~adops_async.BaseClient`.
            ``timeout`` is 60 s unless given, and with a ``store`` at most 0.8 of its lease.

    Attributes:
        campaigns: Booking API campaigns (XML; ``update`` is read-modify-write).
        goals: Booking API goals, listed campaign by campaign (``goals.of_campaign(campaign_id)``).
        clients: Booking API clients (advertisers, agencies and brands).
        ads: Ad API ads (JSON).
        assets: Ad API video assets (uploads by URL or bytes).
        reports: the Reporting API 2.0: :meth:`~adops_async.vendors.ooyala.Reports.run` submits a report of a
            definition and returns a job whose ``rows()`` stream it.
        custom_reports: the Custom Reporting API (``/v2/reports``; needs ``api_key``), two running at once.
        templates: targeting templates (and their quota).
        forecasts: inventory and campaign forecasts.
        session: the legacy login session (``logins``, ``renewals`` counters), or ``None`` with an API key.

    See ``docs/vendors/ooyala.md``.
    """

    campaigns: Campaigns
    goals: Goals
    clients: Clients
    ads: Ads
    assets: Assets
    reports: Reports
    custom_reports: CustomReports
    templates: TargetingTemplates
    forecasts: Forecasts
    session: SessionLogin | None

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        username: str | None = None,
        password: str | Secret | None = None,
        base_url: str = DEFAULT_BASE_URL,
        gate: Gate | None = None,
        store: RedisStore | None = None,
        report_slots: JobQuota | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        session: SessionLogin | None = None
        if api_key is not None:
            if username is not None or password is not None:
                raise ValueError("give api_key, or username and password, not both")
            auth: ApiKeyAuth | SessionLogin = ApiKeyAuth(api_key)
        elif username is not None and password is not None:
            auth = session = SessionLogin(username, password)
        else:
            raise ValueError("OoyalaPulse needs api_key=, or username= and password=")
        shared = f"ooyala:{identity(api_key or username or '')}" if store is not None else None
        if gate is None:
            # The one slot belongs to the credentials: with a store, every process using them takes turns.
            gate = Gate(Serial(store=store, key=shared), Cooldown(store=store, key=shared), clock=options.get("clock"))
        timeout = options.setdefault("timeout", 60.0)
        if store is not None:
            # A request must end before the lease that lets it run can lapse.
            options["timeout"] = min(timeout, store.lease * 0.8)
        super().__init__(
            base_url=base_url, dialect=OoyalaDialect(legacy=session is not None), auth=auth, gate=gate, **options
        )
        if session is not None:
            session.bind(self)
        self.session = session
        self.campaigns = Campaigns(self)
        self.goals = Goals(self)
        self.clients = Clients(self)
        self.ads = Ads(self)
        self.assets = Assets(self)
        self.reports = Reports(self)
        if report_slots is None:
            report_slots = JobQuota(RUNNING_CAP, hold=SLOT_HOLD, store=store, key=shared)
        self.custom_reports = CustomReports(self, report_slots)
        self.templates = TargetingTemplates(self)
        self.forecasts = Forecasts(self)
