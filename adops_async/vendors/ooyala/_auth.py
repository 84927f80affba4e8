"""Ooyala Pulse credentials: the ``x-o-api-key`` header (current), or the legacy ``/login_process`` session.

Legacy login (docs/vendors/ooyala.md): ``POST /login_process`` with the form ``username=...&password=...`` answers
``302`` with ``Set-Cookie: X-VP-AUTH="..."; Max-Age=3600`` (a public Java client reads a plain ``X-VP-AUTH`` header
instead, so both are read). The redirect is not followed: the token is on the 302 itself. Every later call sends
``X-VP-AUTH``; "the header is renewed during the session. Make sure that you follow any Set-Cookie in your responses",
so :meth:`SessionLogin.observe` adopts every new value, and requests always carry the newest one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from ...core.auth import HeaderAuth, Token, TokenAuth
from ...core.errors import AuthError
from ...core.policies import Priority
from ...core.redact import Secret, credential, refuse_unsendable
from ._dialect import TEXT_CODEC

if TYPE_CHECKING:
    from ...core.client import BaseClient

__all__ = ["ApiKeyAuth", "SessionLogin", "token_from"]

_COOKIE = re.compile(r'(?i)\bX-VP-AUTH=("[^"]*"|[^;,\s]*)(.*)')
_MAX_AGE = re.compile(r"(?i);\s*Max-Age=(\d+)")


class ApiKeyAuth(HeaderAuth):
    """The account-wide API key in ``x-o-api-key`` (OOY-WEB ``rest_api_authentication.html``). Never renewed."""

    def __init__(self, api_key: str | Secret) -> None:
        super().__init__(api_key, header="x-o-api-key", field="api_key")


def token_from(response: httpx.Response) -> tuple[str, float | None] | None:
    """The ``X-VP-AUTH`` value a response carries (header or cookie) and its ``Max-Age``, or ``None``."""
    for cookie in response.headers.get_list("set-cookie"):
        match = _COOKIE.search(cookie)
        if match and match.group(1).strip('"'):
            max_age = _MAX_AGE.search(match.group(2))
            return match.group(1), float(max_age.group(1)) if max_age else None
    value = response.headers.get("x-vp-auth", "").strip()
    return (value, None) if value.strip('"') else None


def _bare(value: str) -> str:
    """The token inside a quoted cookie value: the server (and anything echoing it) may write it without quotes."""
    return value.strip('"')


@dataclass(frozen=True, eq=False)
class _Prepared(Token):
    """The token :meth:`SessionLogin.prepare` picked, plus a note of the one that actually went out (a newer one
    may have arrived while the request waited at the gate)."""

    origin: Token | None = None
    sent: list[Token] = field(default_factory=list)


class SessionLogin(TokenAuth):
    """The legacy username/password session, renewed from responses and re-opened (once) on a 401.

    Args:
        username: the Pulse UI login.
        password: its password.
        default_lifetime: seconds a token lives when the server does not say (the documented ``Max-Age=3600``).
    """

    def __init__(
        self, username: str, password: str | Secret, *, default_lifetime: float = 3600.0, refresh_margin: float = 60.0
    ) -> None:
        super().__init__(refresh_margin=refresh_margin)
        refuse_unsendable(username, "username")
        self.username = username
        """The Pulse UI login."""
        self._password = credential(password, "password")
        self.default_lifetime = default_lifetime
        """Seconds a token lives when the server does not say."""
        self.renewals = 0
        """Tokens adopted from ``Set-Cookie``/``X-VP-AUTH`` on ordinary responses."""
        self._client: BaseClient | None = None

    def bind(self, client: BaseClient) -> None:
        """The client whose clock dates tokens and whose redactor learns every new token."""
        self._client = client

    def secrets(self) -> Iterable[str]:
        return [self._password.reveal(), *super().secrets()]

    def __repr__(self) -> str:
        return f"SessionLogin(username={self.username!r}, password=***)"

    def _make(self, value: str, max_age: float | None, now: float) -> Token:
        lifetime = max_age if max_age is not None else self.default_lifetime
        if lifetime <= 2 * self.refresh_margin:
            # A short Max-Age would never look fresh against the margin (a login per call): renew at half-life.
            return Token(Secret(value), now + lifetime / 2 + self.refresh_margin)
        return Token(Secret(value), now + lifetime)

    async def login(self, client: BaseClient) -> Token:
        reply = await client.request(
            "POST",
            "/login_process",
            data={"username": self.username, "password": self._password.reveal()},
            authenticate=False,
            retry_safe=True,
            follow_redirects=False,
            codec=TEXT_CODEC,
            priority=Priority.INTERACTIVE,  # a login unblocks every waiting task: let it go first
        )
        found = token_from(reply.response)
        if found is not None:
            client.redactor.add(_bare(found[0]))
        if found is None:
            # A 200 (the login page again) or a redirect without the cookie: the credentials were not accepted.
            raise AuthError(
                f"login refused: HTTP {reply.status} without an X-VP-AUTH token",
                vendor=client.vendor,
                status=reply.status,
                method="POST",
                url=client.redactor.url(reply.response.request.url),
            )
        return self._make(*found, client.clock.now())

    async def prepare(self, client: BaseClient) -> Token:
        token = await super().prepare(client)
        return _Prepared(token.value, token.expires_at, token.refresh_token, origin=token)

    def apply(self, request: httpx.Request, credentials: Any) -> None:
        if not isinstance(credentials, _Prepared):
            return
        # The newest token wins: a Set-Cookie renewal may have arrived while this request waited at the gate.
        token = self._token or credentials.origin or credentials
        credentials.sent.append(token)
        request.headers["X-VP-AUTH"] = token.value.reveal()

    async def renew(self, client: BaseClient, rejected: Any) -> bool:
        stale = (rejected.sent[-1] if rejected.sent else rejected.origin) if isinstance(rejected, _Prepared) else None
        return await super().renew(client, stale)

    def observe(self, response: httpx.Response) -> None:
        found = token_from(response)
        client = self._client
        if found is None or client is None:
            return
        client.redactor.add(_bare(found[0]))  # whatever happens next, a token seen is a secret from now on
        if response.request.url.path.endswith("/login_process") or response.status_code == 401:
            return
        current = self._token
        if current is not None and current.value.reveal() == found[0]:
            return
        self.renewals += 1
        self.set_token(self._make(*found, client.clock.now()))
