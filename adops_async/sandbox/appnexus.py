"""A strict AppNexus sandbox: the API's envelope, paging, errors, auth and request rules, in memory.

Rules enforced, each refusal written to :attr:`Sandbox.violations` (docs/vendors/appnexus.md):

* ``quota-reads`` / ``quota-writes``: at most ``reads`` GETs and ``writes`` other calls per member in any rolling
  ``per`` seconds (default 100 + 60 per minute). Refused calls are not counted. The answer depends on ``rate_era``:
  ``"429"`` (default: 429 + ``Retry-After`` + the ``SYSTEM``/``RATE_EXCEEDED`` body of the 2023 throttling page),
  ``"405"`` (the same body with 405 and no ``Retry-After``, production before 2016) or ``"2025"`` (429 +
  ``x-ratelimit-code`` + ``retry-after``).
* ``concurrency``: more than ``max_concurrent`` (15) requests of one user at once answer HTTP 200 + an error body.
* ``login-rate``: more than ``login_limit`` (10) successful logins of one user in ``login_window`` (300) seconds.
* ``report-throttle``: a report submitted while ``user_reports`` (5) of the reports its user submitted in the last
  ``report_window`` (900) seconds are still pending or processing (XDOC report-service.md, "User limits"). The page
  says only "an error is signaled"; the sandbox answers 400 + ``LIMIT``, the error id the API uses for its other
  limits (docs/vendors/appnexus.md). Per member, at most ``member_reports`` (5) reports process at once; later ones
  queue silently (FIFO, still ``pending``), and past ``member_queue`` (100) queued the POST answers ``LIMIT``.

Tokens expire ``token_idle`` seconds after their last use and ``token_lifetime`` after the login (2 h / 24 h);
``expire_tokens()`` expires them all at once. Lists are capped at 100 per page, silently. Reports go pending -> ready
after ``report_delay`` and download as ``report_rows`` generated CSV rows; with :attr:`AppNexusSandbox.delivery` set,
a report with ``start_date``/``end_date`` downloads those days' deterministic delivery rows instead. Every duration
is vendor time on the compressible clock, and so is ``Retry-After`` (to the millisecond when the clock is
compressed): a client given :meth:`~adops_async.sandbox.Sandbox.client_clock` waits exactly as long as the vendor asks.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

import anyio

from ._base import Request, Response, Sandbox, route
from ._delivery import DeliveryFigures, DeliveryLine, parse_day

__all__ = ["AppNexusSandbox", "SandboxUser"]

_PAGE_MAX = 100
#: What POST and PUT answers carry besides the object (XDOC api-semantics.md, its PUT example).
_ONE: dict[str, Any] = {"count": 1, "start_element": 0, "num_elements": 100}
#: Query parameters that are not filters on a field (``current``: ``GET /user?current``, the logged-in user).
_RESERVED = frozenset({"start_element", "num_elements", "fields", "sort", "search", "id", "append", "current"})
#: Default object limits (docs/vendors/appnexus.md); POST beyond them answers ``LIMIT``.
OBJECT_LIMITS = {
    "creative": 10_000,
    "campaign": 10_000,
    "line-item": 3_000,
    "placement": 20_000,
    "site": 10_000,
    "publisher": 3_000,
}


@dataclass
class SandboxUser:
    password: str
    member_id: int
    state: str = "active"
    """``active``, ``disabled`` (-> ``NOAUTH_DISABLED``) or ``expired`` (password expired -> ``NOAUTH_EXPIRED``)."""


@dataclass
class _Session:
    username: str
    member_id: int
    issued: float
    used: float


def _error(error_id: str, message: str, status: int = 200, code: str | None = None, **headers: str) -> Response:
    body: dict[str, Any] = {"error_id": error_id, "error": message, "error_code": code, "dbg_info": {}}
    return Response.json({"response": body}, status, headers)


def _ok(body: dict[str, Any], output_term: str | None = None) -> Response:
    debug: dict[str, Any] = {"warnings": [], "version": "sandbox", "output_term": output_term}
    return Response.json({"response": {"status": "OK", **body, "dbg_info": debug}})


class AppNexusSandbox(Sandbox):
    """The AppNexus API as an ASGI app. Run it with :func:`adops_async.sandbox.serve`.

    Log in as ``username="api-user", password="secret"`` (member 1) unless ``users`` says otherwise.
    ``latency`` (real seconds) is spent inside each request, so concurrency is visible to the 15-concurrent rule.
    """

    vendor = "appnexus"

    def __init__(
        self,
        *,
        speed: float = 1.0,
        reads: int = 100,
        writes: int = 60,
        per: float = 60.0,
        max_concurrent: int = 15,
        rate_era: str = "429",
        token_idle: float = 7200.0,
        token_lifetime: float = 86400.0,
        login_limit: int = 10,
        login_window: float = 300.0,
        users: dict[str, SandboxUser] | None = None,
        latency: float = 0.0,
        report_delay: float = 10.0,
        report_rows: int = 1000,
        stacked_reports: bool = False,
        object_limits: dict[str, int] | None = None,
        user_reports: int = 5,
        report_window: float = 900.0,
        member_reports: int = 5,
        member_queue: int = 100,
    ) -> None:
        super().__init__(speed=speed)
        if rate_era not in ("429", "405", "2025"):
            raise ValueError("rate_era is '429', '405' or '2025'")
        self.reads, self.writes, self.per = reads, writes, per
        self.max_concurrent = max_concurrent
        self.rate_era = rate_era
        self.token_idle, self.token_lifetime = token_idle, token_lifetime
        self.login_limit, self.login_window = login_limit, login_window
        self.users = users if users is not None else {"api-user": SandboxUser("secret", 1)}
        self.latency = latency
        self.report_delay, self.report_rows = report_delay, report_rows
        self.stacked_reports = stacked_reports
        self.failed_reports = False
        """Set to make every report end with ``execution_status: "error"``."""
        self.object_limits = dict(OBJECT_LIMITS if object_limits is None else object_limits)
        self.data: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
        self.reports: dict[str, dict[str, Any]] = {}
        self.delivery: DeliveryFigures | None = None
        """Set to serve a report with ``start_date``/``end_date`` as those days' delivery (see ``DELIVERY_COLUMNS``)."""
        """Every accepted report: its ``spec``, ``user``, ``member``, ``created``, ``start`` (processing began, after
        the member's queue) and ``ready`` (vendor times)."""
        self.user_reports, self.report_window = user_reports, report_window
        self.member_reports, self.member_queue = member_reports, member_queue
        self.peak_reports_pending: dict[str, int] = defaultdict(int)
        """Per user, the most reports pending or processing at once (counted as the throttle counts them)."""
        self.logins: list[tuple[float, str]] = []
        """(vendor time, username) of every successful login."""
        self._sessions: dict[str, _Session] = {}
        self._windows: dict[tuple[int, str], deque[float]] = defaultdict(deque)
        self._in_flight: dict[str, int] = defaultdict(int)
        self.peak_in_flight = 0
        self._next_id = 1

    # -- seeding and test helpers ------------------------------------------------------------------------------

    def add(self, service: str, **fields: Any) -> dict[str, Any]:
        """Store one object (no limits, no quota) and return it with its new id."""
        obj = {"id": self._next_id, "state": "active", "last_modified": "2024-01-01 00:00:00", **fields}
        self._next_id = max(self._next_id, int(obj["id"])) + 1
        self.data[service][int(obj["id"])] = obj
        return obj

    def seed_line_items(self, count: int, *, advertisers: int = 10) -> list[int]:
        """``advertisers`` advertisers and ``count`` line items spread across them; returns the line item ids."""
        owners = [self.add("advertiser", name=f"Advertiser {n}", timezone="UTC")["id"] for n in range(advertisers)]
        return [
            self.add(
                "line-item",
                name=f"Line item {n}",
                code=f"LI{n}",
                advertiser_id=owners[n % len(owners)],
                revenue_value=float(n % 50),
                ad_types=["banner"],
                creatives=[],
            )["id"]
            for n in range(count)
        ]

    def expire_tokens(self) -> None:
        """Every token stops working now (as after 2 idle hours); the next call of each client gets ``NOAUTH``."""
        self._sessions.clear()

    def account_of(self, request: Request) -> str | None:
        session = self._sessions.get(request.headers.get("authorization", ""))
        return str(session.member_id) if session else None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Frame whole responses with ``Content-Length``.

        Without it uvicorn sends the body chunked, and the final empty chunk waits on Nagle and the client's delayed
        ACK: about 40 ms per request, which would make the sandbox, not the quota, the bottleneck.
        """
        if scope.get("type") != "http":
            await super().__call__(scope, receive, send)
            return
        held: dict[str, Any] | None = None

        async def framed(message: dict[str, Any]) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if any(name == b"content-length" for name, _ in message.get("headers", [])):
                    await send(message)  # a fault's own framing (reset, truncate): keep it
                else:
                    held = message
                return
            if held is not None:
                start, held = held, None
                if not message.get("more_body"):
                    size = str(len(message.get("body", b""))).encode()
                    start = {**start, "headers": [*start.get("headers", []), (b"content-length", size)]}
                await send(start)
            await send(message)

        await super().__call__(scope, receive, framed)

    # -- auth --------------------------------------------------------------------------------------------------

    @route("POST", "/auth")
    async def auth(self, request: Request) -> Response:
        try:
            given = request.json()["auth"]
            username, password = str(given["username"]), str(given["password"])
        except (ValueError, KeyError, TypeError):
            return _error("SYNTAX", 'expected {"auth": {"username": ..., "password": ...}}', 400)
        user = self.users.get(username)
        if user is None or user.password != password:
            return _error("NOAUTH", "No match found for user/pass", 401)
        if user.state == "disabled":
            return _error("NOAUTH_DISABLED", "This account has been disabled", 401)
        if user.state == "expired":
            return _error("NOAUTH_EXPIRED", "Your password has expired", 401)
        now = self.clock.now()
        recent = [at for at, name in self.logins if name == username and at > now - self.login_window]
        if len(recent) >= self.login_limit:
            self.violation("login-rate", f"login {len(recent) + 1} within {self.login_window:g} s", username)
            return _error("NOAUTH", f"Too many authentication attempts ({self.login_limit} per 5 minutes)", 401)
        self.logins.append((now, username))
        token = f"hbapi:{user.member_id}:{secrets.token_hex(6)}:nym2"
        self._sessions[token] = _Session(username, user.member_id, now, now)
        return _ok({"token": token})

    def _session(self, request: Request) -> _Session | None:
        token = request.headers.get("authorization", "")
        session = self._sessions.get(token)
        now = self.clock.now()
        if session is None:
            return None
        if now - session.used > self.token_idle or now - session.issued > self.token_lifetime:
            del self._sessions[token]
            return None
        session.used = now
        return session

    # -- the request rules -------------------------------------------------------------------------------------

    def _over_quota(self, member: int, kind: str) -> Response | None:
        limit = self.reads if kind == "read" else self.writes
        window = self._windows[member, kind]
        now = self.clock.now()
        while window and window[0] <= now - self.per:
            window.popleft()
        if len(window) < limit:
            window.append(now)
            return None
        self.violation(f"quota-{kind}s", f"{kind} {limit + 1} within {self.per:g} s", str(member))
        wait = window[0] + self.per - now
        retry_after = str(math.ceil(wait)) if self.clock.speed == 1 else f"{math.ceil(wait * 1000) / 1000:.3f}"
        message = f"You have exceeded your request limit of {limit} per {self.per:g} seconds for this member"
        if self.rate_era == "405":
            return _error("SYSTEM", message, 405, "RATE_EXCEEDED")
        headers = {"retry-after": retry_after}
        if self.rate_era == "2025":
            headers["x-ratelimit-code"] = "429"
            headers["x-ratelimit-count"] = str(len(window))
        return _error("SYSTEM", message, 429, "RATE_EXCEEDED", **headers)

    @route("GET", "/{service}/meta")
    async def meta(self, request: Request) -> Response:
        return await self._guarded(request, lambda session: self._meta(request.params["service"]))

    @route("GET", "/{service}")
    async def read(self, request: Request) -> Response:
        return await self._guarded(request, lambda session: self._dispatch(request, session))

    @route("POST", "/{service}")
    async def create(self, request: Request) -> Response:
        return await self._guarded(request, lambda session: self._dispatch(request, session))

    @route("PUT", "/{service}")
    async def update(self, request: Request) -> Response:
        return await self._guarded(request, lambda session: self._dispatch(request, session))

    @route("DELETE", "/{service}")
    async def delete(self, request: Request) -> Response:
        return await self._guarded(request, lambda session: self._dispatch(request, session))

    async def _guarded(self, request: Request, answer: Any) -> Response:
        session = self._session(request)
        if session is None:
            return _error("NOAUTH", "Authentication failed - not logged in", 401)
        kind = "read" if request.method == "GET" else "write"
        refused = self._over_quota(session.member_id, kind)
        if refused is not None:
            return refused
        user = session.username
        self._in_flight[user] += 1
        try:
            if self._in_flight[user] > self.max_concurrent:
                self.violation("concurrency", f"{self._in_flight[user]} requests at once", str(session.member_id))
                return _error("SYSTEM", f"concurrent request limit of {self.max_concurrent} exceeded", 200)
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight[user])
            if self.latency:
                await anyio.sleep(self.latency)
            response: Response = answer(session)
            return response
        finally:
            self._in_flight[user] -= 1

    # -- services ----------------------------------------------------------------------------------------------

    def _dispatch(self, request: Request, session: _Session) -> Response:
        service = request.params["service"]
        if service == "report":
            if request.method not in ("GET", "POST"):
                return _error("SYNTAX", "bad method", 405)
            return self._report(request, session)
        if service == "report-download":
            return self._download(request)
        if request.method == "GET":
            return self._get(service, request, session)
        if request.method == "POST":
            return self._post(service, request)
        if request.method == "PUT":
            return self._put(service, request)
        return self._delete(service, request)

    def _get(self, service: str, request: Request, session: _Session) -> Response:
        objects = self.data[service]
        ids = request.arg("id")
        if service == "member" and ids is None:  # "View your member" (XDOC member-service.md): one, singular
            return _ok({service: self._member(session), "count": 1, "start_element": 0, "num_elements": 100}, service)
        if service == "user" and request.arg("current") is not None:  # XDOC api-semantics.md: "user?current"
            return _ok({"count": 1, "start_element": 0, "num_elements": 100, service: self._user(session)}, service)
        if ids is not None and "," not in ids:
            obj = objects.get(int(ids)) if ids.isdigit() else None
            if obj is None:
                return _error("SYNTAX", "resource not found", 200)  # as recorded: 200 + SYNTAX (SIMP VCR, 2017)
            return _ok({"count": 1, "start_element": 0, "num_elements": 100, service: obj}, service)
        filtered = any(key not in _RESERVED or key in ("id", "search") for key, _ in request.query)
        found = [obj for obj in objects.values() if self._matches(obj, request)] if filtered else list(objects.values())
        sort = request.arg("sort")
        if sort:
            field, _, direction = sort.partition(".")
            found.sort(key=lambda o: (o.get(field) is None, o.get(field)), reverse=direction == "desc")
        start = int(request.arg("start_element", "0") or 0)
        size = min(int(request.arg("num_elements", "100") or 100), _PAGE_MAX)  # silently capped
        page = found[start : start + size]
        fields = request.arg("fields")
        if fields:
            keep = fields.split(",")
            page = [{k: v for k, v in obj.items() if k in keep} for obj in page]
        plural = f"{service}s"
        return _ok({"count": len(found), "start_element": start, "num_elements": size, plural: page}, plural)

    def _member(self, session: _Session) -> dict[str, Any]:
        stored = self.data["member"].get(session.member_id)
        return stored or {"id": session.member_id, "name": f"Member {session.member_id}", "state": "active"}

    def _user(self, session: _Session) -> dict[str, Any]:
        for stored in self.data["user"].values():
            if stored.get("username") == session.username:
                return stored
        number = list(self.users).index(session.username) + 1
        return {"id": number, "username": session.username, "user_type": "member", "entity_id": session.member_id}

    @staticmethod
    def _matches(obj: dict[str, Any], request: Request) -> bool:
        for key, value in request.query:
            if key == "id":
                if str(obj.get("id")) not in value.split(","):
                    return False
            elif key == "search":
                if value.lower() not in str(obj.get("name", "")).lower() and value != str(obj.get("id")):
                    return False
            elif key in _RESERVED:
                continue
            elif key.startswith(("min_", "max_")):
                have = obj.get(key[4:])
                try:
                    bad = have is None or (float(have) < float(value) if key[1] == "i" else float(have) > float(value))
                except ValueError:
                    bad = str(have) < value if key[1] == "i" else str(have) > value
                if bad:
                    return False
            elif key.startswith("like_"):
                if value.lower() not in str(obj.get(key[5:], "")).lower():
                    return False
            elif key.startswith("not_"):
                if str(obj.get(key[4:])) == value:
                    return False
            elif str(obj.get(key)) not in value.split(","):
                return False
        return True

    def _body_of(self, service: str, request: Request) -> dict[str, Any] | None:
        try:
            body = request.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        obj = body.get(service, body.get(service.replace("-", "_")))
        return obj if isinstance(obj, dict) else None

    def _post(self, service: str, request: Request) -> Response:
        obj = self._body_of(service, request)
        if obj is None:
            return _error("SYNTAX", f'expected {{"{service}": {{...}}}}', 400)
        limit = self.object_limits.get(service)
        if limit is not None and len(self.data[service]) >= limit:
            return _error("LIMIT", f"object limit of {limit} {service}s reached", 400)
        if service == "line-item" and "advertiser_id" not in obj and request.arg("advertiser_id") is None:
            return _error("SYNTAX", "advertiser_id is required", 400)
        obj.pop("id", None)
        created = self.add(service, **obj)
        return _ok({"id": created["id"], **_ONE, service: created})

    def _put(self, service: str, request: Request) -> Response:
        ident = request.arg("id", "") or ""
        current = self.data[service].get(int(ident)) if ident.isdigit() else None
        if current is None:
            return _error("SYNTAX", "resource not found", 200)
        changes = self._body_of(service, request)
        if changes is None:
            return _error("SYNTAX", f'expected {{"{service}": {{...}}}}', 400)
        append = request.arg("append") == "true"
        for key, value in changes.items():
            if key == "id":
                continue
            if append and isinstance(value, list) and isinstance(current.get(key), list):
                current[key] = current[key] + value  # arrays are replaced unless append=true
            else:
                current[key] = value
        # As the api-semantics page's PUT example: the id as a string, the paging fields, the object echoed.
        return _ok({"id": str(current["id"]), **_ONE, service: current})

    def _delete(self, service: str, request: Request) -> Response:
        ident = request.arg("id", "") or ""
        if not ident.isdigit() or self.data[service].pop(int(ident), None) is None:
            return _error("SYNTAX", "resource not found", 200)
        return _ok({"count": 1, "start_element": None, "num_elements": None})

    def _meta(self, service: str) -> Response:
        sample = next(iter(self.data[service].values()), {"id": 0, "name": "", "state": ""})
        fields = [
            {"name": name, "type": type(value).__name__, "sort_by": True, "filter_by": True}
            for name, value in sample.items()
        ]
        return _ok({"fields": fields})

    # -- reports -----------------------------------------------------------------------------------------------

    def pending_reports(self, user: str, at: float) -> int:
        """The reports ``user`` submitted in the ``report_window`` before ``at`` that are pending or processing at
        ``at``: what the user throttle counts."""
        return sum(
            1
            for r in self.reports.values()
            if r["user"] == user and at - self.report_window < r["created"] <= at < r["ready"]
        )

    def _submit(self, request: Request, session: _Session) -> Response:
        spec = (request.json() or {}).get("report") if request.body else None
        if not isinstance(spec, dict) or not spec.get("report_type") or not spec.get("columns"):
            return _error("SYNTAX", "report_type and columns are required", 400)
        now = self.clock.now()
        pending = self.pending_reports(session.username, now)
        if pending >= self.user_reports:
            self.violation(
                "report-throttle", f"report {pending + 1} pending within {self.report_window:g} s", session.username
            )
            message = (
                f"You have {pending} report requests pending or processing, submitted in the past "
                f"{self.report_window / 60:g} minutes; the limit is {self.user_reports}"
            )
            return _error("LIMIT", message, 400)
        member = [r for r in self.reports.values() if r["member"] == session.member_id]
        if sum(1 for r in member if r["created"] <= now < r["start"]) >= self.member_queue:
            return _error("LIMIT", f"the member's report queue holds {self.member_queue} requests", 400)
        # FIFO behind the member's cap: every report takes report_delay, so the k-th starts when the (k-n)-th is ready.
        readies = sorted(r["ready"] for r in member)
        start = now if len(readies) < self.member_reports else max(now, readies[-self.member_reports])
        report_id = secrets.token_hex(16)
        self.reports[report_id] = {
            "spec": spec,
            "user": session.username,
            "member": session.member_id,
            "created": now,
            "start": start,
            "ready": start + self.report_delay,
            "rows": self.report_rows,
        }
        if self.delivery is not None and spec.get("start_date") and spec.get("end_date"):
            days = (parse_day(spec["start_date"]), parse_day(spec["end_date"]))
            lines = list(self.delivery.lines_between(*days))  # fixed when submitted, as a run
            self.reports[report_id] |= {"lines": lines, "rows": len(lines)}
        peak = self.peak_reports_pending
        peak[session.username] = max(peak[session.username], pending + 1)
        return _ok({"report_id": report_id})

    def _report(self, request: Request, session: _Session) -> Response:
        if request.method == "POST":
            return self._submit(request, session)
        report_id = request.arg("id", "") or ""
        report = self.reports.get(report_id)
        if report is None:
            return _error("SYNTAX", "resource not found", 200)
        ready = self.clock.now() >= report["ready"]
        status = "pending" if not ready else "error" if self.failed_reports else "ready"
        # The fields of the report-service page's example (its json_request and header_info are elided there).
        info = {
            "id": report_id,
            "name": None,
            "created_on": "2024-01-01 00:00:00",
            "cache_hit": False,
            "report_size": str(len(self._csv(report))) if ready else None,
            "row_count": str(len(_served(report))) if ready else None,
            "url": f"report-download?id={report_id}" if status == "ready" else None,
        }
        if self.stacked_reports and status == "ready":  # mathemads-nexusadspy PR #21: no top-level status
            older = {"id": "0" * 32, "execution_status": "ready", "url": "report-download?id=" + "0" * 32}
            return _ok({"reports": [older, {**info, "execution_status": status}]})
        return _ok({"report": info, "execution_status": status})

    def _download(self, request: Request) -> Response:
        report = self.reports.get(request.arg("id", "") or "")
        if report is None or self.clock.now() < report["ready"]:
            return Response.text("report not ready", 404)
        return Response.text(self._csv(report), content_type="text/csv")

    @staticmethod
    def _csv(report: dict[str, Any]) -> str:
        columns = [str(c) for c in report["spec"]["columns"]]
        lines = [",".join(columns)]
        if "lines" in report:
            lines.extend(",".join(delivery_cell(c, report["lines"][n]) for c in columns) for n in _served(report))
        else:
            lines.extend(",".join(report_cell(c, n) for c in columns) for n in _served(report))
        return "\n".join(lines) + "\n"


def _served(report: dict[str, Any]) -> range:
    """The rows a report's download holds (its ``row_count``): all of them, or with report pagination (XDOC
    report-pagination.md) the slice ``offset``/``num_elements`` selects from the ordered rows."""
    spec = report["spec"]
    first = int(spec.get("offset", 0))
    total = report["rows"]
    last = total if spec.get("num_elements") is None else min(total, first + int(spec["num_elements"]))
    return range(first, max(first, last))


def report_cell(column: str, row: int) -> str:
    """The value the sandbox generates for ``column`` in row ``row`` (so tests can check every cell)."""
    if column == "day":
        return f"2024-01-{row % 28 + 1:02d}"
    if column in ("imps", "clicks"):
        return str(row * (7 if column == "imps" else 1) % 1000)
    return f"{column}-{row}"


#: The report columns a delivery report fills from :class:`DeliveryLine` (any other column gets ``column-row``).
DELIVERY_COLUMNS = {
    "day": "day",
    "advertiser_id": "advertiser_id",
    "advertiser_name": "advertiser_name",
    "insertion_order_id": "campaign_id",
    "insertion_order_name": "campaign_name",
    "line_item_id": "line_item_id",
    "line_item_name": "line_item_name",
    "creative_id": "creative_id",
    "creative_name": "creative_name",
    "imps": "impressions",
    "clicks": "clicks",
    "booked_revenue": "spend",
}


def delivery_cell(column: str, line: DeliveryLine) -> str:
    """The value a delivery report holds for ``column`` in ``line``."""
    field = DELIVERY_COLUMNS.get(column)
    return str(getattr(line, field)) if field is not None else f"{column}-{line.number}"
