"""The PulsePro sandbox app: the "Pulse API" as far as it is known, strict about its token bucket.

Every request, in order (a gateway first, then the application):

1. **Token bucket** per API key (see :mod:`._bucket` for what ``RateLimit-Reset`` means here, and the
   ``refill="window"`` reading). Every response carries ``Organization-RateLimit-Limit``, ``RateLimit-Remaining``
   and ``RateLimit-Reset``. An empty bucket answers 429 + ``Retry-After`` and writes a violation: a client that
   follows the headers never needs one, except after someone else drained the key (:meth:`drain`).
2. **Traffic spike**: during :meth:`spike`, 503 with an ``"error"`` object; nothing is done (the seed: "an
   unexpected spike in API access traffic ... operational within the next 5 minutes"). The call still cost a token.
3. **Auth**: ``Authorization: Api-key <key>`` (configurable, for the ``Bearer`` and ``X-API-Key`` variants);
   401 for a missing or unknown key, 403 for a read-only key writing.
4. **Routes** under ``/api/v1``: inspections, corrective-actions (CRUD), locations, users, roles, analytics/scores
   and analytics/trends. Lists are DRF pages, ``{"results", "count", "next", "previous"}``, by ``page``/``page_size``
   (``next`` is a bare path, as on the vendor's marketing page) or by ``limit``/``offset``.

Errors are ``{"error": {"code": ..., "message": ...}}`` (plus ``fields`` for validation), as the seed describes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from .._base import Request, Response, Sandbox, route
from ._bucket import Bucket, Refill, ResetMeaning

__all__ = ["PulseProSandbox"]

PREFIX = "/api/v1"
_STATUSES = ("scheduled", "in_progress", "completed", "failed")
_CA_STATUSES = ("open", "in_progress", "closed")


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None, **more: Any) -> Response:
    return Response.json({"error": {"code": code, "message": message, **more}}, status, headers)


class PulseProSandbox(Sandbox):
    """A strict PulsePro API. ``keys`` maps an API key to its organisation (``read_only`` keys may only read).

    Args:
        speed: vendor seconds per real second (``speed=60``: a vendor minute lasts one real second).
        rate, window, burst: the bucket (``60;w=60;b=60``).
        refill, reset: which reading of the rate-limit text to enforce (see :mod:`._bucket`).
        decimals: ``RateLimit-Reset`` precision (0: whole seconds, as documented).
        inspections: how many inspections to seed.
        auth_header, auth_scheme: where the key is expected (``None`` scheme: the bare key).
        page_size, max_page_size: the DRF defaults of the list pages.
    """

    vendor = "pulsepro"

    def __init__(
        self,
        *,
        speed: float = 1.0,
        keys: Mapping[str, str] | None = None,
        read_only: Sequence[str] = (),
        rate: float = 60,
        window: float = 60.0,
        burst: int = 60,
        refill: Refill = "continuous",
        reset: ResetMeaning = "next",
        decimals: int = 0,
        inspections: int = 3000,
        auth_header: str = "Authorization",
        auth_scheme: str | None = "Api-key",
        page_size: int = 20,
        max_page_size: int = 100,
    ) -> None:
        super().__init__(speed=speed)
        self.keys = dict(keys or {"test-key": "org-1"})
        self.read_only = set(read_only)
        self.bucket_args: dict[str, Any] = {
            "rate": rate,
            "window": window,
            "burst": burst,
            "refill": refill,
            "reset": reset,
            "decimals": decimals,
        }
        self.buckets: dict[str, Bucket] = {}
        self.auth_header = auth_header.lower()
        self.auth_scheme = auth_scheme
        self.page_size, self.max_page_size = page_size, max_page_size
        self.spike_until = float("-inf")
        self.spike_retry_after: int | None = None
        self.creates = 0
        self._seed(inspections)

    # -- controls for tests ------------------------------------------------------------------------------------

    def bucket(self, key: str) -> Bucket:
        return self.buckets.setdefault(key, Bucket(**self.bucket_args))

    def drain(self, key: str, calls: int | None = None) -> int:
        """Spend the key's calls (all when ``calls`` is ``None``) as another client sharing the key would."""
        return self.bucket(key).drain(self.clock.now(), calls)

    def spike(self, seconds: float, *, retry_after: int | None = None) -> None:
        """Answer 503 to every request for the next ``seconds`` vendor seconds (a traffic spike)."""
        self.spike_until = self.clock.now() + seconds
        self.spike_retry_after = retry_after

    @property
    def rate_violations(self) -> int:
        """How many 429s the sandbox had to send."""
        return sum(1 for v in self.violations if v.rule == "token_bucket")

    # -- seed data ---------------------------------------------------------------------------------------------

    def _seed(self, inspections: int) -> None:
        self.locations: list[dict[str, Any]] = [
            {"id": i, "name": f"Store {i}", "parent_id": None if i <= 2 else 1 + i % 2, "address": f"{i} Main St"}
            for i in range(1, 9)
        ]
        self.roles: list[dict[str, Any]] = [
            {"id": 1, "name": "Admin"},
            {"id": 2, "name": "Inspector"},
            {"id": 3, "name": "Viewer"},
        ]
        self.users: list[dict[str, Any]] = [
            {
                "id": i,
                "name": f"User {i}",
                "email": f"user{i}@example.com",
                "role_ids": [1 + i % 3],
                "location_ids": [1 + i % 8],
            }
            for i in range(1, 13)
        ]
        self.inspections: list[dict[str, Any]] = [
            {
                "id": i,
                "title": f"Daily audit #{i}",
                "status": _STATUSES[i % 4],
                "score": round(60 + (i * 37) % 41, 1),
                "location_id": 1 + i % 8,
                "template_id": 1 + i % 5,
                "inspector_id": 1 + i % 12,
                "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T09:00:00Z",
                "completed_at": None,
                "checklist_version": 3,
            }
            for i in range(1, inspections + 1)
        ]
        self.corrective_actions: dict[int, dict[str, Any]] = {
            i: {
                "id": i,
                "title": f"Fix finding {i}",
                "description": "",
                "status": _CA_STATUSES[i % 3],
                "priority": "high" if i % 5 == 0 else "normal",
                "inspection_id": i,
                "location_id": 1 + i % 8,
                "assignee_id": 1 + i % 12,
                "due_date": "2024-07-01",
                "timeline": [{"event": "created", "at": "2024-06-01T10:00:00Z"}],
            }
            for i in range(1, 41)
        }
        self._next_ca = 41

    # -- the gateway -------------------------------------------------------------------------------------------

    def _key_of(self, request: Request) -> str | None:
        value = request.headers.get(self.auth_header)
        if value is None:
            return None
        if self.auth_scheme is None:
            return value.strip() or None
        scheme, _, key = value.strip().partition(" ")
        return key.strip() or None if scheme.lower() == self.auth_scheme.lower() else None

    def account_of(self, request: Request) -> str | None:
        key = self._key_of(request)
        return self.keys.get(key) if key is not None else None

    async def handle(self, request: Request) -> Response:
        key = self._key_of(request)
        bucket = self.bucket(key or "")
        now = self.clock.now()
        decision = bucket.take(now)
        headers = bucket.headers(decision)
        if not decision.allowed:
            account = self.keys.get(key or "")
            self.violation("token_bucket", f"{request.method} {request.path}: bucket empty, answered 429", account)
            return _error(429, "rate_limit_exceeded", "API rate limit exceeded", headers)
        if now < self.spike_until:
            if self.spike_retry_after is not None:
                headers["Retry-After"] = str(self.spike_retry_after)
            return _error(503, "service_unavailable", "unexpected spike in API access traffic", headers)
        response = self._authorize(request, key, headers) or await super().handle(request)
        response.headers.update(headers)
        return response

    def _authorize(self, request: Request, key: str | None, headers: dict[str, str]) -> Response | None:
        if key is None:
            return _error(401, "authentication_required", "send 'Authorization: Api-key <key>'", headers)
        if key not in self.keys:
            return _error(401, "invalid_api_key", "invalid API key", headers)
        if request.method not in ("GET", "HEAD") and key in self.read_only:
            return _error(403, "permission_denied", "this API key may only read", headers)
        return None

    def not_found(self, request: Request) -> Response:
        return _error(404, "not_found", f"no route {request.method} {request.path}")

    def headers_now(self, key: str) -> dict[str, str]:
        """The rate headers the key would get now (spending nothing)."""
        bucket = self.bucket(key)
        return bucket.headers(bucket.peek(self.clock.now()))

    # -- paging ------------------------------------------------------------------------------------------------

    def _page(self, request: Request, items: Sequence[Mapping[str, Any]]) -> Response:
        query = [(k, v) for k, v in request.query if k not in ("page", "page_size", "limit", "offset")]
        count = len(items)
        try:
            if request.arg("limit") is not None or request.arg("offset") is not None:
                limit = min(int(request.arg("limit") or self.page_size), self.max_page_size)
                offset = int(request.arg("offset") or 0)
                if limit < 1 or offset < 0:
                    raise ValueError
                chunk = items[offset : offset + limit]
                following = [("limit", limit), ("offset", offset + limit)] if offset + limit < count else None
                before = [("limit", limit), ("offset", max(0, offset - limit))] if offset > 0 else None
            else:
                size = min(int(request.arg("page_size") or self.page_size), self.max_page_size)
                page = int(request.arg("page") or 1)
                if size < 1 or page < 1:
                    raise ValueError
                pages = max(1, math.ceil(count / size))
                if page > pages:
                    return _error(404, "not_found", "Invalid page.")
                chunk = items[(page - 1) * size : page * size]
                following = [("page", page + 1), ("page_size", size)] if page < pages else None
                before = [("page", page - 1), ("page_size", size)] if page > 1 else None
        except ValueError:
            return _error(400, "validation_error", "page, page_size, limit and offset must be positive integers")

        def link(extra: list[tuple[str, int]] | None) -> str | None:
            return None if extra is None else f"{request.path}?{urlencode([*query, *extra])}"

        return Response.json({"count": count, "next": link(following), "previous": link(before), "results": chunk})

    @staticmethod
    def _filtered(request: Request, items: Sequence[Mapping[str, Any]], *names: str) -> list[Mapping[str, Any]]:
        wanted = {name: request.arg(name) for name in names if request.arg(name) is not None}
        if not wanted:
            return list(items)
        return [item for item in items if all(str(item.get(k)) == v for k, v in wanted.items())]

    # -- resources ---------------------------------------------------------------------------------------------

    @route("GET", PREFIX + "/inspections")
    async def list_inspections(self, request: Request) -> Response:
        return self._page(request, self._filtered(request, self.inspections, "status", "location_id"))

    @route("GET", PREFIX + "/inspections/{id}")
    async def get_inspection(self, request: Request) -> Response:
        return self._one(self.inspections, request.params["id"])

    @route("GET", PREFIX + "/locations")
    async def list_locations(self, request: Request) -> Response:
        return self._page(request, self._filtered(request, self.locations, "parent_id"))

    @route("GET", PREFIX + "/locations/{id}")
    async def get_location(self, request: Request) -> Response:
        return self._one(self.locations, request.params["id"])

    @route("GET", PREFIX + "/users")
    async def list_users(self, request: Request) -> Response:
        return self._page(request, self.users)

    @route("GET", PREFIX + "/users/{id}")
    async def get_user(self, request: Request) -> Response:
        return self._one(self.users, request.params["id"])

    @route("GET", PREFIX + "/roles")
    async def list_roles(self, request: Request) -> Response:
        return self._page(request, self.roles)

    @route("GET", PREFIX + "/analytics/scores")
    async def analytics_scores(self, request: Request) -> Response:
        scores = []
        for location in self._filtered(request, self.locations, "id"):
            done = [i for i in self.inspections if i["location_id"] == location["id"]]
            average = round(sum(float(i["score"]) for i in done) / len(done), 1) if done else None
            scores.append({"scope": "location", "scope_id": location["id"], "score": average, "inspections": len(done)})
        return self._page(request, scores)

    @route("GET", PREFIX + "/analytics/trends")
    async def analytics_trends(self, request: Request) -> Response:
        by_month: dict[str, list[float]] = {}
        for item in self._filtered(request, self.inspections, "location_id"):
            by_month.setdefault(str(item["created_at"])[:7], []).append(float(item["score"]))
        points = [
            {"date": month, "score": round(sum(s) / len(s), 1), "inspections": len(s)}
            for month, s in sorted(by_month.items())
        ]
        return self._page(request, points)

    @route("GET", PREFIX + "/corrective-actions")
    async def list_actions(self, request: Request) -> Response:
        items = self._filtered(request, list(self.corrective_actions.values()), "status", "assignee_id")
        return self._page(request, items)

    @route("GET", PREFIX + "/corrective-actions/{id}")
    async def get_action(self, request: Request) -> Response:
        return self._one(list(self.corrective_actions.values()), request.params["id"])

    @route("POST", PREFIX + "/corrective-actions")
    async def create_action(self, request: Request) -> Response:
        body, problem = self._body(request, partial=False)
        if problem is not None:
            return problem
        action = {"description": "", "status": "open", "priority": "normal", **body, "id": self._next_ca}
        action["timeline"] = [{"event": "created", "at": f"{self.clock.now():.0f}"}]
        self.corrective_actions[self._next_ca] = action
        self._next_ca += 1
        self.creates += 1
        return Response.json(action, 201)

    @route("PUT", PREFIX + "/corrective-actions/{id}")
    async def replace_action(self, request: Request) -> Response:
        return self._change(request, partial=False)

    @route("PATCH", PREFIX + "/corrective-actions/{id}")
    async def patch_action(self, request: Request) -> Response:
        return self._change(request, partial=True)

    @route("DELETE", PREFIX + "/corrective-actions/{id}")
    async def delete_action(self, request: Request) -> Response:
        found = self._lookup(request.params["id"])
        if found is None:
            return _error(404, "not_found", "corrective action not found")
        del self.corrective_actions[found]
        return Response(204)

    # -- helpers -----------------------------------------------------------------------------------------------

    @staticmethod
    def _one(items: Sequence[Mapping[str, Any]], raw_id: str) -> Response:
        for item in items:
            if str(item.get("id")) == raw_id:
                return Response.json(item)
        return _error(404, "not_found", f"no object with id {raw_id}")

    def _lookup(self, raw_id: str) -> int | None:
        return int(raw_id) if raw_id.isdigit() and int(raw_id) in self.corrective_actions else None

    def _body(self, request: Request, *, partial: bool) -> tuple[dict[str, Any], Response | None]:
        try:
            body = request.json()
        except ValueError:
            return {}, _error(400, "parse_error", "the body is not JSON")
        if not isinstance(body, dict):
            return {}, _error(400, "parse_error", "the body must be a JSON object")
        fields: dict[str, list[str]] = {}
        if not partial and not str(body.get("title") or "").strip():
            fields["title"] = ["This field is required."]
        if "status" in body and body["status"] not in _CA_STATUSES:
            fields["status"] = [f"must be one of {', '.join(_CA_STATUSES)}"]
        if fields:
            return {}, _error(400, "validation_error", "invalid corrective action", fields=fields)
        body.pop("id", None)
        return body, None

    def _change(self, request: Request, *, partial: bool) -> Response:
        found = self._lookup(request.params["id"])
        if found is None:
            return _error(404, "not_found", "corrective action not found")
        body, problem = self._body(request, partial=partial)
        if problem is not None:
            return problem
        current = self.corrective_actions[found]
        kept = {"id": found, "timeline": current.get("timeline", [])}
        defaults = {"description": "", "status": "open", "priority": "normal"}
        updated = {**current, **body, **kept} if partial else {**defaults, **body, **kept}
        updated["timeline"] = [*kept["timeline"], {"event": "updated", "at": f"{self.clock.now():.0f}"}]
        self.corrective_actions[found] = updated
        return Response.json(updated)
