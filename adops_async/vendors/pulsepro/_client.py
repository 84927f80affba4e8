"""The PulsePro client: declarations on top of the core pipeline.

What is documented (PP-INTRO, docs/vendors/pulsepro.md) is built exactly: ``Authorization: Api-key <key>``, errors in an
``"error"`` object, 503 as "a traffic spike, operational again within 5 minutes", and a token bucket of 60 calls per
60 s with a burst of 60 whose state comes back in ``Organization-RateLimit-Limit`` / ``RateLimit-Remaining`` /
``RateLimit-Reset`` on every response. The resource list is only advertised, so resources are one-line declarations
(:meth:`PulsePro.resource`) and their paths can be overridden (``paths=``) without code.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, overload

from typing_extensions import Unpack

from ...core.auth import HeaderAuth
from ...core.client import BaseClient
from ...core.gate import Gate
from ...core.models import VendorModel, payload_of
from ...core.options import ClientOptions
from ...core.paging import AsyncPaginator, PagingStyle
from ...core.policies import Cooldown, MaxInFlight, Priority, TokenBucket
from ...core.priority import current_priority
from ...core.redact import Secret, credential
from ...core.resources import Resource
from ...core.retry import RETRY_STATUSES, RetryPolicy
from ...core.shared import RedisStore, identity
from ._dialect import PulseProDialect
from ._models import AnalyticsScore, AnalyticsTrend, CorrectiveAction, Inspection, Location, Role, User
from ._paging import PulseProOffsetPaging, PulseProPaging

__all__ = ["DEFAULT_PATHS", "PulsePro", "PulseProAnalytics", "PulseProResource", "spike_retry"]

M = TypeVar("M", bound=VendorModel)

DEFAULT_PATHS: Mapping[str, str] = {
    "inspections": "inspections",
    "corrective_actions": "corrective-actions",
    "locations": "locations",
    "users": "users",
    "roles": "roles",
    "analytics_scores": "analytics/scores",
    "analytics_trends": "analytics/trends",
}
"""Collection paths relative to the base URL. Unconfirmed (the API reference is not public): override with
``paths=``."""


def spike_retry(deadline: float = 600.0, *, rng: random.Random | None = None) -> RetryPolicy:
    """The default retry: exponential backoff with full jitter from 1 s up to 60 s ceilings, until ``deadline``.

    PulsePro's 503 "would usually be operational within the next 5 minutes" (PP-INTRO), so the schedule must be able
    to span minutes: with ceilings 1, 2, 4, ... 60 s, about 15 attempts cover 5 minutes, and ``deadline`` (seconds
    from the first attempt) is what bounds it. Writes are retried too after a 429 or a 503 carrying PulsePro's own error
    body, which mean nothing was done (:class:`PulseProDialect`); a proxy's 503 or 500, or a timeout after sending,
    is never retried for a POST.
    """
    return RetryPolicy(
        attempts=1000,
        deadline=deadline,
        backoff=1.0,
        max_backoff=60.0,
        statuses=RETRY_STATUSES,
        rng=rng or random.Random(),
    )


class PulseProResource(Resource[M]):
    """A PulsePro collection: plain REST (``GET/POST path``, ``GET/PUT/PATCH/DELETE path/id``) with its paging."""

    def __init__(
        self, client: BaseClient, path: str, model: type[M], paging: PagingStyle, *, trailing_slash: bool = False
    ) -> None:
        super().__init__(client, path, model, paging)
        self.trailing_slash = trailing_slash
        """Whether collection and item paths end in ``/``."""
        if trailing_slash:
            self.path = f"{self.path}/"

    def item_url(self, id: Any) -> str:
        return f"{self.path.rstrip('/')}/{id}{'/' if self.trailing_slash else ''}"

    async def patch(self, id: Any, changes: M | Mapping[str, Any], *, priority: Priority | None = None) -> M:
        """Change only the fields given (PATCH); :meth:`update` sends a PUT."""
        payload = payload_of(changes)
        reply = await self.client.request("PATCH", self.item_url(id), payload=payload, priority=priority)
        return self.parse(self.unwrap(reply.data))


class PulseProAnalytics:
    """Read-only analytics ("scores, trends, performance"): lists you can filter, never write."""

    def __init__(self, client: PulsePro) -> None:
        self._client = client
        self._scores = client.resource(client.paths["analytics_scores"], AnalyticsScore)
        self._trends = client.resource(client.paths["analytics_trends"], AnalyticsTrend)

    def scores(self, *, priority: Priority | None = None, **filters: Any) -> AsyncPaginator[AnalyticsScore]:
        """Aggregate scores, e.g. ``scores(location_id=7, period="2024-05")``."""
        priority = current_priority(priority, Priority.BULK)
        return self._scores.list(priority=priority, **filters)

    def trends(self, *, priority: Priority | None = None, **filters: Any) -> AsyncPaginator[AnalyticsTrend]:
        """Score over time, one point per period."""
        priority = current_priority(priority, Priority.BULK)
        return self._trends.list(priority=priority, **filters)

    async def get(self, path: str, *, priority: Priority | None = None, **params: Any) -> Any:
        """Any other analytics endpoint, decoded JSON as it comes: ``get("performance", location_id=7)``."""
        base = self._client.paths["analytics_scores"].rsplit("/", 1)[0]
        reply = await self._client.request("GET", f"{base}/{path.strip('/')}", params=params, priority=priority)
        return reply.data


class PulsePro(BaseClient):
    """Async client for the PulsePro "Pulse API".

    Args:
        api_key: the key from Admin > Setup > API. Kept out of every log line, repr and error text.
        base_url: the API root, e.g. ``https://<host>/api/v1``. Required: the public host is not documented.
        auth_scheme: the ``Authorization`` prefix. ``"Api-key"`` is the documented one; public code also shows
            ``"Bearer"``. ``None`` sends the bare key (with ``auth_header="X-API-Key"``, as the MCP server wants).
        auth_header: the header carrying the key.
        gate: where requests wait; default ``TokenBucket(rate, per, burst) + MaxInFlight + Cooldown``. The bucket
            follows the server's ``RateLimit-*`` headers downwards; a 429 closes the gate for every task until
            ``Retry-After``.
        rate: calls per ``per`` seconds of your plan ("60 calls per minute" is standard; higher tiers are sold as
            add-ons).
        per: the bucket's period, in seconds.
        burst: the bucket's size: calls that may go at once after a quiet spell.
        max_in_flight: concurrency cap, so a burst of tasks does not open dozens of sockets at once.
        store: keep the bucket and the pause after a 429 in a :class:`~adops_async.RedisStore`, shared by every
            process of the organization.
        account_key: the store's key (e.g. the organization id); without it, a hash of the API key.
        deadline: seconds after which :func:`spike_retry` stops retrying one call (503 storms may last minutes), when
            no ``retry`` is given.
        paging: ``"page"`` (``page``/``page_size``, following ``next``) or ``"offset"`` (``limit``/``offset``).
        page_size: items per page asked for (the server may cap it; paging counts what comes).
        paths: override collection paths (keys of :data:`DEFAULT_PATHS`).
        trailing_slash: add a ``/`` after collection and item paths (Django REST routers want one).
        **options: ``http``, ``retry``, ``timeout``, ``clock``, ``max_body_size``, ``observers``: the options every
            client takes (:class:`~adops_async.ClientOptions`), handed to :class:`~adops_async.BaseClient`.
            ``retry`` replaces :func:`spike_retry`.

    Attributes:
        inspections: ``inspections``.
        corrective_actions: ``corrective-actions``.
        locations: ``locations``.
        users: ``users``.
        roles: ``roles``.
        analytics: read-only analytics: ``scores``, ``trends`` and any other endpoint with ``get``.
        paths: the collection paths in use (:data:`DEFAULT_PATHS` with ``paths`` over them).
        paging: how lists page (``"page"`` or ``"offset"`` style, ``page_size`` items a page).
        trailing_slash: whether collection and item paths end in ``/``.

    Each collection is a :class:`~adops_async.vendors.pulsepro.PulseProResource` (``list``, ``get``, ``create``,
    ``update``, ``patch``, ``delete``); any other with :meth:`resource`. See ``docs/vendors/pulsepro.md``.
    """

    inspections: PulseProResource[Inspection]
    corrective_actions: PulseProResource[CorrectiveAction]
    locations: PulseProResource[Location]
    users: PulseProResource[User]
    roles: PulseProResource[Role]
    analytics: PulseProAnalytics
    paths: dict[str, str]
    paging: PagingStyle
    trailing_slash: bool

    def __init__(
        self,
        *,
        api_key: str | Secret,
        base_url: str,
        auth_scheme: str | None = "Api-key",
        auth_header: str = "Authorization",
        gate: Gate | None = None,
        rate: float = 60,
        per: float = 60.0,
        burst: int = 60,
        max_in_flight: int = 10,
        store: RedisStore | None = None,
        account_key: str | None = None,
        deadline: float = 600.0,
        paging: Literal["page", "offset"] = "page",
        page_size: int = 100,
        paths: Mapping[str, str] | None = None,
        trailing_slash: bool = False,
        **options: Unpack[ClientOptions],
    ) -> None:
        key = credential(api_key, "api_key", header=True).reveal()
        if not key or not key.strip():
            raise ValueError("PulsePro needs an api_key (Admin > Setup > API)")
        if paging not in ("page", "offset"):
            raise ValueError(f"paging must be 'page' or 'offset', not {paging!r}")
        if gate is None:
            # The bucket is the organization's: every process with this key (or store key) draws from one.
            shared = f"pulsepro:{account_key or identity(key)}" if store is not None else None
            gate = Gate(
                TokenBucket(rate, per=per, burst=burst, store=store, key=shared),
                MaxInFlight(max_in_flight),
                Cooldown(store=store, key=shared),
                clock=options.get("clock"),
            )
        options["retry"] = options.get("retry") or spike_retry(deadline)
        super().__init__(
            base_url=base_url,
            dialect=PulseProDialect(),
            auth=HeaderAuth(key, header=auth_header, scheme=auth_scheme, field="api_key"),
            gate=gate,
            **options,
        )
        self.paths = {**DEFAULT_PATHS, **(paths or {})}
        self.paging = (
            PulseProPaging(size=page_size, base_url=self.base_url)
            if paging == "page"
            else PulseProOffsetPaging(size=page_size)
        )
        self.trailing_slash = trailing_slash
        self.inspections = self.resource(self.paths["inspections"], Inspection)
        self.corrective_actions = self.resource(self.paths["corrective_actions"], CorrectiveAction)
        self.locations = self.resource(self.paths["locations"], Location)
        self.users = self.resource(self.paths["users"], User)
        self.roles = self.resource(self.paths["roles"], Role)
        self.analytics = PulseProAnalytics(self)

    @overload
    def resource(self, path: str) -> PulseProResource[VendorModel]: ...

    @overload
    def resource(self, path: str, model: type[M], paging: PagingStyle | None = None) -> PulseProResource[M]: ...

    def resource(
        self, path: str, model: type[Any] = VendorModel, paging: PagingStyle | None = None
    ) -> PulseProResource[Any]:
        """Any other collection in one line: ``client.resource("tickets")`` or ``client.resource("forms", Form)``."""
        return PulseProResource(self, path, model, paging or self.paging, trailing_slash=self.trailing_slash)
