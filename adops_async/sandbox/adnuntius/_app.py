"""The Adnuntius sandbox app (see the package docs)."""

from __future__ import annotations

import contextvars
import copy
import json
import secrets
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .._base import Request, Response, Sandbox, route
from .._delivery import DeliveryFigures, parse_day
from ._parts import (
    READ_ONLY,
    REFERENCES,
    RESOURCES,
    TokenLimit,
    defaults_for,
    error,
    filled_for,
    multipart,
    ref_id,
    reference,
    retry_after,
    validate,
    warnings_for,
)
from ._query import InvalidFilter, select

__all__ = ["AdnuntiusSandbox"]

_CONNECTION: contextvars.ContextVar[Any] = contextvars.ContextVar("adnuntius_connection", default=None)
_TWO_FACTOR = "TWO_FACTOR_AUTH"


@dataclass
class _Grant:
    user: str
    expires_at: float
    scope: str = "ng_api"


class AdnuntiusSandbox(Sandbox):
    """In-memory Adnuntius: networks of objects behind ``/api/authenticate`` and ``/api/v1/...``.

    Args:
        speed: vendor seconds per real second (token lifetimes and rate windows are in vendor seconds).
        users: username -> password. ``two_factor``: username -> the TOTP code that user must give.
        api_keys: keys accepted as Bearer tokens (they never expire here).
        token_lifetime: access-token lifetime in vendor seconds (``expires_in`` is sent as a string, as documented).
        rate_limit: ``(requests, window)`` per access token; beyond it, 429 + Retry-After until the window frees.
        retry_after_style: ``delta``, ``date`` or ``body`` (see :func:`._parts.retry_after`).
        page_base: 0 (the docs) or 1 (the official example). ``below_base``: what a 1-based server does with
            ``page=0``: ``clamp`` (serve page 1) or ``empty``. ``echo_page``: put ``page`` in list answers.
        deletable: resources that accept ``DELETE`` (none by default: "domain objects cannot be deleted").
        resources: the endpoints under ``/api/v1/`` (default: every one the vendor's client or docs name); any other
            is a missing endpoint, 404 to every method. Seeding a resource adds it.
    """

    vendor = "adnuntius"

    def __init__(
        self,
        *,
        speed: float = 1.0,
        users: Mapping[str, str] | None = None,
        two_factor: Mapping[str, str] | None = None,
        api_keys: Iterable[str] = (),
        networks: Iterable[str] = ("network_1",),
        token_lifetime: float = 3600.0,
        rate_limit: tuple[int, float] | None = None,
        retry_after_style: str = "delta",
        page_base: int = 0,
        below_base: str = "clamp",
        echo_page: bool = True,
        deletable: Iterable[str] = (),
        resources: Iterable[str] | None = None,
    ) -> None:
        super().__init__(speed=speed)
        self.users = dict(users if users is not None else {"user@example.com": "secret"})
        self.two_factor = dict(two_factor or {})
        self.api_keys = set(api_keys)
        self.token_lifetime = token_lifetime
        self.rate_limit = rate_limit
        self.retry_after_style = retry_after_style
        self.page_base, self.below_base, self.echo_page = page_base, below_base, echo_page
        self.deletable = set(deletable)
        self.resources = set(RESOURCES if resources is None else resources)
        self.locations: list[dict[str, Any]] = []
        """What ``GET /api/v1/location?q=`` searches (see :meth:`seed_locations`)."""
        self.store: dict[str, dict[str, dict[str, dict[str, Any]]]] = {n: {} for n in networks}
        self.files: dict[str, bytes] = {}
        self.grants: Counter[str] = Counter()
        """Successful token grants by kind: ``password``, ``refresh_token``, ``2fa``."""
        self.delivery: DeliveryFigures | None = None
        """Set to answer stats with the deterministic delivery of the days from ``startDate`` up to ``endDate``."""
        self.cooldowns = 0
        """Distinct Retry-After windows opened (429s that started a pause, not the ones inside it)."""
        self.responses_429 = 0
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, str] = {}
        self._limits: dict[str, TokenLimit] = {}
        self._blocked_connections: dict[Any, float] = {}

    # -- seeding and inspection --------------------------------------------------------------------------------

    def seed(self, resource: str, objects: Iterable[Mapping[str, Any]], network: str = "network_1") -> None:
        self.resources.add(resource)
        table = self.store.setdefault(network, {}).setdefault(resource, {})
        for obj in objects:
            table[str(obj["id"])] = self._finish(resource, dict(obj), None, network)

    def seed_locations(self, locations: Iterable[Mapping[str, Any]]) -> None:
        """Locations for ``/api/v1/location`` (``{"id", "type", "name", "context"}`` as the location page shows)."""
        self.locations.extend(dict(location) for location in locations)

    def objects(self, resource: str, network: str = "network_1") -> dict[str, dict[str, Any]]:
        return self.store.get(network, {}).get(resource, {})

    def expire_tokens(self) -> None:
        """Every access token expires now (refresh tokens stay valid), as an hour passing would do."""
        for grant in self._access.values():
            grant.expires_at = self.clock.now()

    # -- plumbing ----------------------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        client = scope.get("client")
        marker = _CONNECTION.set(tuple(client) if client else None)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _CONNECTION.reset(marker)

    def account_of(self, request: Request) -> str | None:
        token = self._bearer(request)
        grant = self._access.get(token or "")
        return grant.user if grant else ("api-key" if token in self.api_keys else None)

    @staticmethod
    def _bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.arg("auth_token")

    def _issue(self, user: str, kind: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = _Grant(user, self.clock.now() + self.token_lifetime)
        self._refresh[refresh] = user
        self.grants[kind] += 1
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": f"{self.token_lifetime:g}",
            "refresh_token": refresh,
        }

    def _guard(self, request: Request, *, context: bool = True) -> tuple[str | None, Response | None]:
        """Authenticate, check ``context`` (unless not needed) and the per-token rate limit.

        Returns (network, refusal); without ``context`` the network is the one named, if any, else ``""``.
        """
        token = self._bearer(request)
        if token not in self.api_keys:
            grant = self._access.get(token or "")
            if grant is None or grant.scope != "ng_api":
                return None, error(401, "error.unauthorised", "Invalid access token")
            if grant.expires_at <= self.clock.now():
                return None, error(
                    401,
                    "error.token.expired",
                    "Access token expired {{ago}} seconds ago",
                    ago=round(self.clock.now() - grant.expires_at, 3),
                )
        refusal = self._rate(token or "")
        if refusal is not None:
            return None, refusal
        network = request.arg("context")
        if not context and network is None:
            return "", None
        if network not in self.store:
            return None, error(400, "error.context.required", "Unknown or missing context {{context}}", context=network)
        return network, None

    def _rate(self, token: str) -> Response | None:
        if self.rate_limit is None:
            return None
        now, connection = self.clock.now(), _CONNECTION.get()
        limit = self._limits.setdefault(token, TokenLimit(*self.rate_limit))
        during = now < limit.blocked_until
        if during and self._blocked_connections.get(connection, float("-inf")) > now:
            self.violation(
                "retry-after",
                f"request {limit.blocked_until - now:.3f} s before Retry-After ended",
                self._access[token].user if token in self._access else token[:6],
            )
        wait = limit.check(now)
        if wait is None:
            return None
        if not during:
            self.cooldowns += 1
        self.responses_429 += 1
        self._blocked_connections[connection] = limit.blocked_until
        headers, body = retry_after(self.clock.real(wait), self.clock.speed, self.retry_after_style)
        return Response.json(body, 429, headers)

    # -- authentication ----------------------------------------------------------------------------------------

    @route("POST", "/api/authenticate")
    async def authenticate(self, request: Request) -> Response:
        body = self._form_or_json(request)
        grant_type = body.get("grant_type")
        if grant_type == "password":
            user, password = str(body.get("username", "")), str(body.get("password", ""))
            if self.users.get(user) != password or not password:
                return error(401, "error.bad.credentials", "Bad credentials for {{user}}", user=user)
            target = str(body.get("masqueradeAsUser") or user)
            if target not in self.users:
                return error(400, "error.masquerade", "Cannot masquerade as {{user}}", user=target)
            if user in self.two_factor:
                temporary = secrets.token_urlsafe(16)
                self._access[temporary] = _Grant(target, self.clock.now() + 300, scope=_TWO_FACTOR)
                return Response.json(
                    {"access_token": temporary, "token_type": "bearer", "scope": _TWO_FACTOR, "expires_in": "300"}, 401
                )
            return Response.json(self._issue(target, "password"))
        if grant_type == "refresh_token":
            refreshed: str | None = self._refresh.pop(str(body.get("refresh_token", "")), None)
            if refreshed is None:
                return error(401, "error.invalid.refresh.token", "Invalid refresh token")
            return Response.json(self._issue(refreshed, "refresh_token"))
        return error(400, "error.grant.type", "Unsupported grant_type {{grant}}", grant=grant_type)

    @route("POST", "/api/authenticate/2fa")
    async def second_factor(self, request: Request) -> Response:
        grant = self._access.get(self._bearer(request) or "")
        if grant is None or grant.scope != _TWO_FACTOR or grant.expires_at <= self.clock.now():
            return error(401, "error.unauthorised", "No two-factor login in progress")
        code = str((request.json() or {}).get("code", ""))
        if code != self.two_factor.get(grant.user) and code not in self.two_factor.values():
            return error(401, "error.two.factor.code", "Wrong two-factor code")
        return Response.json(self._issue(grant.user, "2fa"))

    @staticmethod
    def _form_or_json(request: Request) -> dict[str, Any]:
        # The docs send JSON; the seed's curl sends form fields; both are accepted (docs/vendors/adnuntius.md).
        if "json" in request.headers.get("content-type", ""):
            data = request.json()
            return dict(data) if isinstance(data, dict) else {}
        return dict(parse_qsl(request.body.decode()))

    # -- stats and assets (declared before the generic routes, which would match them too) ---------------------

    @route("GET", "/api/v1/stats")
    async def stats(self, request: Request) -> Response:
        network = self._network(request)
        if isinstance(network, Response):
            return network
        if not request.arg("startDate") or not request.arg("endDate"):
            return error(400, "error.stats.dates", "startDate and endDate are required")
        if self.delivery is not None:
            return Response.json(self._delivery_stats(request))
        orders = self.store[network].get("orders", {})
        items = self.store[network].get("lineitems", {})
        chunks: list[dict[str, Any]] = []
        only = request.arg("orderId")  # the vendor's example asks for one order's stats (ADN-TOOLS example_query.py)
        for order in orders.values():
            if only is not None and order["id"] != only:
                continue
            inner: list[dict[str, Any]] = []
            for item in items.values():
                if (item.get("order") or {}).get("id") == order["id"]:
                    impressions = zlib.crc32(item["id"].encode()) % 10_000
                    inner.append(
                        {
                            "lineItem": {"id": item["id"], "name": item.get("name"), "url": item["url"]},
                            "impressions": impressions,
                            "clicks": impressions // 50,
                            "cost": {"currency": "NOK", "amount": impressions / 100},
                        }
                    )
            totals = {k: sum(int(c[k]) for c in inner) for k in ("impressions", "clicks")}
            chunks.append(
                {
                    "order": {"id": order["id"], "name": order.get("name"), "url": order["url"]},
                    "chunks": inner,
                    "totals": totals,
                }
            )
        grand = {k: sum(int(c["totals"][k]) for c in chunks) for k in ("impressions", "clicks")}
        return Response.json({"chunks": chunks, "totals": grand})

    @route("GET", "/api/v1/location")
    async def location(self, request: Request) -> Response:
        """Location search with its own paging: ``totalHits``, ``pageStart``/``pageEnd`` (1-based positions of the
        page's first and last hit), ``searchResults`` and ``aggregations`` (the location page's example)."""
        _, refusal = self._guard(request, context=False)
        if refusal is not None:
            return refusal
        query = (request.arg("q") or "").lower()
        hits = [loc for loc in self.locations if query in str(loc.get("name", "")).lower()]
        size, page = self._paging(request)
        start = max(0, page - self.page_base) * size
        served = hits[start : start + size] if page >= self.page_base or self.below_base == "clamp" else []
        types = Counter(str(hit.get("type")) for hit in hits)
        return Response.json(
            {
                "totalHits": len(hits),
                "pageStart": start + 1,
                "pageEnd": start + len(served),
                "searchResults": served,
                "aggregations": {
                    "types": {"buckets": {t: {"name": t, "filter": t, "count": n} for t, n in types.items()}}
                },
            }
        )

    @route("GET", "/api/v1/creatives/info")
    async def creative_info(self, request: Request) -> Response:
        """``GET creatives/info?id=a;b`` (ADN-TOOLS ``creative_info``): the named creatives, as a list page."""
        network = self._network(request)
        if isinstance(network, Response):
            return network
        wanted = (request.arg("id") or "").split(";")
        table = self.objects("creatives", network)
        rows = [table[i] for i in wanted if i in table]
        return Response.json({"results": rows, "totalCount": len(rows)})

    @route("GET", "/api/v1/assets/{creative}")
    async def creative_assets(self, request: Request) -> Response:
        """Every asset of one creative (assets page: ``GET assets/<creative-id>``), as a list page."""
        network = self._network(request)
        if isinstance(network, Response):
            return network
        prefix = f"{request.params['creative']}/"
        rows = [a for key, a in self.objects("assets", network).items() if key.startswith(prefix)]
        return self._listed(request, rows)

    def _delivery_stats(self, request: Request) -> dict[str, Any]:
        """Stats of :attr:`delivery` from ``startDate`` up to ``endDate``: orders, then their line items' totals."""
        assert self.delivery is not None
        start, end = parse_day(request.arg("startDate") or ""), parse_day(request.arg("endDate") or "")
        orders: dict[str, dict[str, Any]] = {}
        items: dict[str, dict[str, Any]] = {}
        for line in self.delivery.lines_between(start, end):
            order = orders.setdefault(
                line.campaign_id, {"order": {"id": line.campaign_id, "name": line.campaign_name}, "chunks": []}
            )
            item = items.get(line.line_item_id)
            if item is None:
                item = {"lineItem": {"id": line.line_item_id, "name": line.line_item_name}, "impressions": 0}
                item |= {"clicks": 0, "cost": {"currency": line.currency, "amount": 0.0}}
                items[line.line_item_id] = item
                order["chunks"].append(item)
            item["impressions"] += line.impressions
            item["clicks"] += line.clicks
            item["cost"]["amount"] = round(item["cost"]["amount"] + line.spend, 2)
        for order in orders.values():
            order["totals"] = {k: sum(c[k] for c in order["chunks"]) for k in ("impressions", "clicks")}
        grand = {k: sum(o["totals"][k] for o in orders.values()) for k in ("impressions", "clicks")}
        return {"chunks": list(orders.values()), "totals": grand}

    @route("POST", "/api/v1/assets/{creative}/{asset}")
    async def upload(self, request: Request) -> Response:
        network = self._network(request)
        if isinstance(network, Response):
            return network
        creative, asset = request.params["creative"], request.params["asset"]
        if creative not in self.objects("creatives", network):
            return error(
                400,
                "error.referenced.object.not.found",
                "Referenced object {{type}} {{id}} not found",
                type="Creative",
                id=creative,
            )
        parts = multipart(request.headers.get("content-type", ""), request.body)
        if "file" not in parts:
            return error(400, "error.asset.missing", "Expected a multipart field named {{field}}", field="file")
        name, ctype, content = parts["file"]
        cdn_id = f"{creative}-{asset}-{zlib.crc32(content):08x}"
        self.files[cdn_id] = content
        stored = {"id": asset, "fileName": name, "mimeType": ctype, "cdnId": cdn_id, "fileSizeBytes": len(content)}
        table = self.store[network].setdefault("assets", {})
        table[f"{creative}/{asset}"] = self._finish("assets", stored, None, network, self.account_of(request))
        return Response.json(table[f"{creative}/{asset}"])

    @route("GET", "/api/v1/assets/{creative}/{asset}")
    async def asset(self, request: Request) -> Response:
        request.params = {"resource": "assets", "id": f"{request.params['creative']}/{request.params['asset']}"}
        return await self.get_one(request)

    @route("GET", "/cdn/{cdn_id}")
    async def cdn(self, request: Request) -> Response:
        content = self.files.get(request.params["cdn_id"])
        if content is None:
            return Response(404)
        return Response(200, content, {"content-type": "application/octet-stream"})

    # -- objects -----------------------------------------------------------------------------------------------

    def _network(self, request: Request, *, endpoint: bool = False) -> str | Response:
        """The network a context-scoped request acts in, or the answer that refuses it instead: authentication,
        ``context``, the per-token rate limit and, with ``endpoint``, a resource that is no endpoint."""
        network, refusal = self._guard(request)
        if refusal is not None:
            return refusal
        assert network is not None  # a context-scoped guard that refuses nothing names the network
        return (self._endpoint(request) if endpoint else None) or network

    def _endpoint(self, request: Request) -> Response | None:
        """404 for a resource that is no endpoint (what lets a client tell a missing object from a mistyped name)."""
        resource = request.params["resource"]
        if resource in self.resources:
            return None
        return error(404, "error.endpoint.not.found", "No endpoint {{path}}", path=f"/api/v1/{resource}")

    @route("OPTIONS", "/api/v1/{resource}")
    async def options(self, request: Request) -> Response:
        """RFC 9110 OPTIONS on a collection: 200 with ``Allow`` when it is an endpoint, 404 when not. ADN-TOOLS
        ``exists()`` sends it (no ``context``) after a 404 HEAD, to tell a missing object from a missing endpoint."""
        _, refusal = self._guard(request, context=False)
        if refusal is not None:
            return refusal
        missing = self._endpoint(request)
        if missing is not None:
            return missing
        allowed = "GET, HEAD, POST, PUT, OPTIONS" + (", DELETE" if request.params["resource"] in self.deletable else "")
        return Response(200, b"", {"allow": allowed})

    @route("GET", "/api/v1/{resource}")
    async def list_objects(self, request: Request) -> Response:
        network = self._network(request, endpoint=True)
        if isinstance(network, Response):
            return network
        rows = list(self.objects(request.params["resource"], network).values())
        ids = request.arg("id")
        if ids:
            wanted = set(ids.split(";"))
            rows = [r for r in rows if r["id"] in wanted]
        return self._listed(request, rows)

    def _listed(self, request: Request, rows: list[dict[str, Any]]) -> Response:
        try:
            rows = select(rows, request.arg)
        except InvalidFilter as exc:
            return error(400, "error.filter.invalid", "Cannot read the filter {{filter}}", filter=str(exc))
        size, page = self._paging(request)
        if page < self.page_base:
            if self.below_base == "empty":
                return self._page([], page, size, len(rows))
            page = self.page_base
        start = (page - self.page_base) * size
        return self._page(rows[start : start + size], page, size, len(rows))

    def _paging(self, request: Request) -> tuple[int, int]:
        """(``pageSize``, ``page``) asked for; the page defaults to this server's first."""
        return max(1, int(request.arg("pageSize") or 50)), int(request.arg("page") or self.page_base)

    def _page(self, rows: list[dict[str, Any]], page: int, size: int, total: int) -> Response:
        body: dict[str, Any] = {"pageSize": size, "totalCount": total, "results": rows}
        if self.echo_page:
            body["page"] = page
        return Response.json(body)

    @route("GET", "/api/v1/{resource}/defaults")
    async def defaults(self, request: Request) -> Response:
        """The field values a new object gets when it is sent without them (ADN-TOOLS ``defaults()``)."""
        _, refusal = self._guard(request)
        if refusal is not None:
            return refusal
        return self._endpoint(request) or Response.json(defaults_for(request.params["resource"]))

    @route("POST", "/api/v1/{resource}/{id}/copy")
    async def copy(self, request: Request) -> Response:
        """A copy of a stored object under a fresh id (ADN-TOOLS ``copy()``); fields in the body override."""
        network = self._network(request, endpoint=True)
        if isinstance(network, Response):
            return network
        resource = request.params["resource"]
        table = self.objects(resource, network)
        source = table.get(request.params["id"])
        if source is None:
            return self._not_found(resource, request.params["id"])
        changes = self._form_or_json(request) if request.body else {}
        fresh = "".join(secrets.choice("012356789bcdfghjklmnpqrstvwxyz") for _ in range(16))
        kept = {k: v for k, v in copy.deepcopy(source).items() if k not in READ_ONLY}
        made = {**kept, **{k: v for k, v in changes.items() if k not in READ_ONLY}, "id": fresh}
        table[fresh] = self._finish(resource, made, None, network, self.account_of(request))
        return Response.json(table[fresh])

    @route("GET", "/api/v1/{resource}/{id}")
    async def get_one(self, request: Request) -> Response:
        network = self._network(request, endpoint=True)
        if isinstance(network, Response):
            return network
        obj = self.objects(request.params["resource"], network).get(request.params["id"])
        if obj is None:
            return self._not_found(request.params["resource"], request.params["id"])
        return Response.json(obj)

    @staticmethod
    def _not_found(resource: str, oid: str) -> Response:
        return error(404, "error.object.not.found", "{{type}} {{id}} not found", type=resource, id=oid)

    @route("HEAD", "/api/v1/{resource}/{id}")
    async def head_one(self, request: Request) -> Response:
        network, refusal = self._guard(request)
        if refusal is not None or network is None:
            return Response(refusal.status, b"", refusal.headers) if refusal else Response(400)
        if self._endpoint(request) is not None:
            return Response(404)
        found = request.params["id"] in self.objects(request.params["resource"], network)
        return Response(200 if found else 404)

    @route("POST", "/api/v1/{resource}/{id}")
    async def post_one(self, request: Request) -> Response:
        return await self._upsert(request, single=True)

    @route("PUT", "/api/v1/{resource}/{id}")
    async def put_one(self, request: Request) -> Response:
        return await self._upsert(request, single=True)

    @route("POST", "/api/v1/{resource}")
    async def post_many(self, request: Request) -> Response:
        return await self._upsert(request, single=False)

    @route("PUT", "/api/v1/{resource}")
    async def put_many(self, request: Request) -> Response:
        return await self._upsert(request, single=False)

    @route("DELETE", "/api/v1/{resource}/{id}")
    async def delete_one(self, request: Request) -> Response:
        """``DELETE`` as ADN-TOOLS sends it: no ``context`` (the object's id finds its network); one is accepted."""
        named, refusal = self._guard(request, context=False)
        if refusal is not None or named is None:
            return refusal or error(400, "error", "no network")
        missing = self._endpoint(request)
        if missing is not None:
            return missing
        resource, oid = request.params["resource"], request.params["id"]
        if resource not in self.deletable:
            return error(405, "error.delete.not.supported", "{{type}} objects cannot be deleted", type=resource)
        holders = [n for n in ([named] if named else self.store) if oid in self.objects(resource, n)]
        if not holders:
            return self._not_found(resource, oid)
        for network in holders:
            del self.store[network][resource][oid]
        return Response(204)

    async def _upsert(self, request: Request, *, single: bool) -> Response:
        network = self._network(request, endpoint=True)
        if isinstance(network, Response):
            return network
        resource = request.params["resource"]
        try:
            body = json.loads(request.body or b"null")
        except ValueError:
            return error(400, "error.json", "The request body is not JSON")
        batch = [body] if single else body
        if not isinstance(batch, list) or not all(isinstance(o, dict) for o in batch):
            return error(400, "error.body", "Expected {{shape}}", shape="an object" if single else "an array")
        if single:
            batch[0]["id"] = request.params["id"]
        table = self.store[network].setdefault(resource, {})
        staged: dict[str, dict[str, Any]] = {}

        def exists(target: str, target_id: str) -> bool:
            in_batch = target == resource and target_id in staged
            return in_batch or target_id in self.store[network].get(target, {})

        problems: list[dict[str, Any]] = []
        for obj in batch:
            oid = str(obj.get("id") or "")
            if not oid:
                problems.append(
                    {
                        "type": "ValidationErrorMessage",
                        "code": "validation.error.required",
                        "text": "{{field}} is required",
                        "params": {"field": "id"},
                        "field": "id",
                    }
                )
                continue
            current = staged.get(oid) or copy.deepcopy(table.get(oid)) or {}
            merged = {**current, **{k: v for k, v in obj.items() if k not in READ_ONLY}}
            problems += validate(resource, obj, merged, exists)
            staged[oid] = self._finish(resource, merged, table.get(oid), network, self.account_of(request))
        if problems:  # one transaction: nothing is stored (ADN-INTRO "Transactionality")
            return Response.json(problems, 400)
        table.update(staged)
        stored = [table[str(o["id"])] for o in batch]
        return Response.json(stored[0] if single else stored)

    def _finish(
        self, resource: str, obj: dict[str, Any], before: dict[str, Any] | None, network: str, user: str | None = None
    ) -> dict[str, Any]:
        """Stamp an object about to be stored: defaults on creation, its url and network, references expanded,
        warnings, times, and ``createUser``/``updateUser`` (references to the user, when one made the change)."""
        if before is None:
            for name, value in filled_for(resource).items():
                obj.setdefault(name, value)
        obj["url"] = f"/api/v1/{resource}/{obj['id']}"
        obj["network"] = {"id": network, "url": f"/api/v1/networks/{network}"}
        self._expand(obj, network)
        obj["validationWarnings"] = warnings_for(resource, obj)
        now = f"2025-01-01T00:00:{min(59, int(self.clock.now()) % 60):02d}Z"
        obj["createTime"] = (before or {}).get("createTime", now)
        unchanged = before is not None and {k: v for k, v in before.items() if k != "updateTime"} == {
            k: v for k, v in obj.items() if k != "updateTime"
        }
        obj["updateTime"] = before["updateTime"] if unchanged and before else now
        if user is not None and not unchanged:
            ref = reference("users", user, {"name": user})
            obj["updateUser"] = ref
            obj["createUser"] = (before or {}).get("createUser", ref)
        return obj

    def _expand(self, obj: dict[str, Any], network: str) -> None:
        """References as the API answers them (creatives page): ``{"id", "url", "name"}`` whether they were written
        as ``{"id": ...}`` or as a bare id; an asset in ``constraintsToAssets`` as ``{"id", "url"}``."""
        tables = self.store.get(network, {})
        for name, target in REFERENCES.items():
            target_id = ref_id(obj.get(name))
            if target_id is not None:
                obj[name] = reference(target, target_id, tables.get(target, {}).get(target_id))
        assets = obj.get("constraintsToAssets")
        if isinstance(assets, dict):
            for tag, value in assets.items():
                asset_id = ref_id(value)
                if asset_id is not None:
                    assets[tag] = {"id": asset_id, "url": f"/api/v1/assets/{obj['id']}/{asset_id}"}
