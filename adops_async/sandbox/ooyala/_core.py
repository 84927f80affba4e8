"""The Ooyala Pulse sandbox's ground floor: credentials, the one-request rule, and body helpers.

Rules enforced (docs/vendors/ooyala.md):
- "Only one request at a time towards Ooyala Pulse REST endpoints is allowed for a client": a request that arrives
  while another of the same credentials is being handled is refused (``429``) and written down as a violation.
  Each request takes ``latency`` real seconds, so an overlap has room to show.
- ``x-o-api-key`` (current) or ``POST /login_process`` -> ``302`` + ``Set-Cookie: X-VP-AUTH="..."; Max-Age=...``,
  then ``X-VP-AUTH`` on every call; a token older than ``renew_after`` vendor seconds is renewed with a new
  ``Set-Cookie`` on the response; an expired token gets ``401``. The Ad API (``/v1``) and Custom Reporting
  (``/v2/reports``) take only the API key.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import anyio
import xmltodict

from .._base import Request, Response, Sandbox

__all__ = ["OoyalaCore", "SessionToken"]

TOO_MANY = "Only one request at a time towards Ooyala Pulse REST endpoints is allowed for a client."


@dataclass
class SessionToken:
    user: str
    issued: float
    expires: float


class OoyalaCore(Sandbox):
    """State and rules shared by the Booking, Ad and Reporting routes.

    Args:
        speed: vendor seconds per real second (token lifetimes and report durations are vendor seconds).
        api_keys: accepted ``x-o-api-key`` values.
        users: accepted ``username -> password`` logins.
        token_ttl: the session token's ``Max-Age`` (3600 in the vendor's example).
        renew_after: renew a token in ``Set-Cookie`` once it is this old (``None``: never).
        latency: real seconds each request takes inside the server.
        token_header: also (or only, with ``cookie=False``) send the login token as an ``X-VP-AUTH`` header.
    """

    vendor = "ooyala"

    def __init__(
        self,
        *,
        speed: float = 1.0,
        api_keys: tuple[str, ...] = ("sandbox-key",),
        users: dict[str, str] | None = None,
        token_ttl: float = 3600.0,
        renew_after: float | None = 1800.0,
        latency: float = 0.001,
        token_header: bool = False,
        cookie: bool = True,
    ) -> None:
        super().__init__(speed=speed)
        self.api_keys = set(api_keys)
        self.users = dict(users if users is not None else {"sandbox": "sandbox-password"})
        self.token_ttl = token_ttl
        self.renew_after = renew_after
        self.latency = latency
        self.token_header = token_header
        self.cookie = cookie
        self.tokens: dict[str, SessionToken] = {}
        self.logins = 0
        self.renewals = 0
        self.tokens_seen: list[str] = []
        """The ``X-VP-AUTH`` value of every authenticated request, in order."""
        self._busy: set[str] = set()

    # -- credentials ---------------------------------------------------------------------------------------------

    def account_of(self, request: Request) -> str | None:
        key = request.headers.get("x-o-api-key")
        if key is not None:
            return f"key:{key.strip().strip(chr(34))}"
        token = self.tokens.get(request.headers.get("x-vp-auth", "").strip().strip('"'))
        if token is not None:
            return f"user:{token.user}"
        if request.path == "/login_process":
            return f"user:{dict(parse_qsl(request.body.decode())).get('username', '')}"
        return None

    def expire_tokens(self) -> None:
        """Every session token stops working now (the next call gets 401)."""
        for token in self.tokens.values():
            token.expires = min(token.expires, self.clock.now())

    def _issue(self, user: str) -> str:
        value = secrets.token_urlsafe(18)
        now = self.clock.now()
        self.tokens[value] = SessionToken(user, now, now + self.token_ttl)
        return value

    def _token_headers(self, value: str) -> dict[str, str]:
        headers = {}
        if self.cookie:
            headers["set-cookie"] = f'X-VP-AUTH="{value}"; Version=1; Max-Age={int(self.token_ttl)}; Path=/'
        if self.token_header or not self.cookie:
            headers["x-vp-auth"] = value
        return headers

    def login(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode()))
        user = form.get("username", "")
        if not user or self.users.get(user) != form.get("password"):
            return Response.json({"type": "UnauthorizedError", "message": "Bad credentials"}, 401)
        self.logins += 1
        headers = {"location": "/", **self._token_headers(self._issue(user))}
        return Response(302, b"", headers)

    def _unauthorised(self, request: Request, message: str) -> Response:
        if request.path.startswith("/api/1.0"):
            return Response(401, b"", {})  # the Booking API: a bare 401 (its error format is undocumented)
        return Response.json({"type": "UnauthorizedError", "message": message}, 401)

    async def _authorised(self, request: Request) -> Response:
        if request.path == "/login_process" and request.method == "POST":
            return self.login(request)
        key = request.headers.get("x-o-api-key")
        if key is not None:
            if key.strip().strip('"') not in self.api_keys:
                return self._unauthorised(request, "Invalid API key")
            return await super().handle(request)
        if request.path.startswith(("/v1/", "/v2/reports")):
            return self._unauthorised(request, "The Ad API and Custom Reporting need an x-o-api-key")
        value = request.headers.get("x-vp-auth", "").strip().strip('"')
        token = self.tokens.get(value)
        now = self.clock.now()
        if token is None or token.expires <= now:
            return self._unauthorised(request, "Authentication token missing or expired")
        self.tokens_seen.append(value)
        response = await super().handle(request)
        if self.renew_after is not None and now - token.issued >= self.renew_after:
            newest = max((t for t in self.tokens.values() if t.user == token.user), key=lambda t: t.issued)
            if newest is token:
                self.renewals += 1
                response.headers.update(self._token_headers(self._issue(token.user)))
        return response

    # -- the one-request rule ------------------------------------------------------------------------------------

    @property
    def busy(self) -> frozenset[str]:
        """The accounts with a request being handled right now."""
        return frozenset(self._busy)

    async def handle(self, request: Request) -> Response:
        account = self.account_of(request) or "anonymous"
        if account in self._busy:
            self.violation("one-request-at-a-time", f"{request.method} {request.path} overlapped", account)
            return Response.json({"type": "TooManyRequestsError", "message": TOO_MANY}, 429)
        self._busy.add(account)
        try:
            await anyio.sleep(self.latency)
            return await self._authorised(request)
        finally:
            self._busy.discard(account)

    # -- bodies --------------------------------------------------------------------------------------------------

    @staticmethod
    def xml(data: Any, status: int = 200) -> Response:
        body = xmltodict.unparse(data, full_document=True, encoding="UTF-8")
        return Response(status, body.encode(), {"content-type": "application/xml"})

    def xml_error(self, status: int, kind: str, message: str) -> Response:
        return self.xml({"error": {"type": kind, "message": message}}, status)

    @staticmethod
    def error(status: int, kind: str, message: str) -> Response:
        return Response.json({"type": kind, "message": message}, status)

    @staticmethod
    def read_xml(request: Request) -> Any:
        if b"<!ENTITY" in request.body:
            raise ValueError("entities refused")
        return xmltodict.parse(request.body, disable_entities=True) if request.body.strip() else None
