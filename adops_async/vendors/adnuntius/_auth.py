"""Adnuntius credentials: the password grant (with 2FA and masquerade), the refresh grant, and API keys.

Source: docs/vendors/adnuntius.md (ADN-DOC ``authenticate.md``, ADN-TOOLS ``api.py``, ADN-INTRO).

* ``POST /api/authenticate`` with JSON ``{"grant_type": "password", "scope": "ng_api", "username", "password"}``
  answers ``{"access_token", "token_type": "bearer", "expires_in": "3600", "refresh_token"}``: ``expires_in`` is a
  *string* in the documented example, so it is parsed leniently.
* The token lives an hour; ADN-TOOLS refreshes after 50 minutes ("technically its 1 hour") with the refresh grant and
  falls back to a password login when the refresh fails. We do the same (``refresh_margin`` defaults to 600 s).
* A 2FA user gets (possibly with HTTP 401) a temporary token whose ``scope`` is ``TWO_FACTOR_AUTH`` or
  ``FORCED_TWO_FACTOR_AUTH``; ``POST /api/authenticate/2fa {"code": <TOTP>}`` with that token as Bearer completes it.
* ``masqueradeAsUser`` in the password-grant body acts as another user (ADN-TOOLS 1.26.0).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from ...core.auth import Token, TokenAuth
from ...core.errors import AdOpsError, AuthError
from ...core.redact import Secret, credential, refuse_unsendable

if TYPE_CHECKING:
    from ...core.client import BaseClient

__all__ = ["AdnuntiusAuth", "TwoFactorCodeProvider"]

TwoFactorCodeProvider = Callable[[], "str | Awaitable[str]"]
"""Returns the current TOTP code (a function of your TOTP seed, e.g. ``pyotp.TOTP(seed).now``); may be async."""

AUTHENTICATE_PATH = "/api/authenticate"
_TWO_FACTOR_SCOPES = frozenset({"TWO_FACTOR_AUTH", "FORCED_TWO_FACTOR_AUTH"})


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


class AdnuntiusAuth(TokenAuth):
    """Bearer tokens from ``/api/authenticate``: password grant, refresh grant, optional 2FA and masquerade.

    Args:
        username: the API user (a 2FA user also needs ``two_factor_code``).
        password: its password.
        two_factor_code: gives the current TOTP code when the login asks for a second factor.
        masquerade_as: act as this user (``masqueradeAsUser``).
        refresh_margin: refresh this many seconds before the token expires (ADN-TOOLS: 10 minutes before the hour).
    """

    # The refresh token outlives the access token: a rejected access token costs one refresh, not a password
    # login (and not a 2FA prompt).
    refresh_on_rejection = True

    def __init__(
        self,
        username: str,
        password: str | Secret,
        *,
        two_factor_code: TwoFactorCodeProvider | None = None,
        masquerade_as: str | None = None,
        refresh_margin: float = 600.0,
    ) -> None:
        super().__init__(refresh_margin=refresh_margin)
        refuse_unsendable(username, "username")
        self.username = username
        """The Adnuntius user the client logs in as."""
        self._password = credential(password, "password")
        self._two_factor_code = two_factor_code
        self.masquerade_as = masquerade_as
        """The user the token acts as (the password grant's ``masqueradeAsUser``), or ``None``."""
        self.refreshes = 0
        """Successful refresh-grant exchanges, for tests and stats."""

    def __repr__(self) -> str:
        return f"AdnuntiusAuth(username={self.username!r}, password=***)"

    def secrets(self) -> Iterable[str]:
        return [self._password.reveal(), *super().secrets()]

    def apply_token(self, request: httpx.Request, token: Token) -> None:
        request.headers["Authorization"] = f"Bearer {token.value.reveal()}"

    async def login(self, client: BaseClient) -> Token:
        body: dict[str, Any] = {
            "grant_type": "password",
            "scope": "ng_api",
            "username": self.username,
            "password": self._password.reveal(),
        }
        if self.masquerade_as:
            body["masqueradeAsUser"] = self.masquerade_as
        reply = await client.request("POST", AUTHENTICATE_PATH, payload=body, authenticate=False, retry_safe=True)
        data = reply.data
        if isinstance(data, Mapping) and data.get("scope") in _TWO_FACTOR_SCOPES:
            data = await self._second_factor(client, data)
        return self._parse_token(client, data)

    async def refresh(self, client: BaseClient, token: Token) -> Token | None:
        """The refresh grant; ``None`` (so a password login follows) when it is refused, as ADN-TOOLS does."""
        if token.refresh_token is None:
            return None
        body = {"grant_type": "refresh_token", "scope": "ng_api", "refresh_token": token.refresh_token.reveal()}
        try:
            reply = await client.request("POST", AUTHENTICATE_PATH, payload=body, authenticate=False, retry_safe=True)
            fresh = self._parse_token(client, reply.data)
        except AdOpsError:
            return None
        self.refreshes += 1
        return fresh

    async def _second_factor(self, client: BaseClient, first: Mapping[str, Any]) -> Any:
        if self._two_factor_code is None:
            raise AuthError(
                "this user has two-factor authentication: pass two_factor_code= (a TOTP code provider) "
                "or use an API key",
                vendor=client.vendor,
                code=str(first.get("scope")),
            )
        temporary = str(first.get("access_token", ""))
        client.redactor.add(temporary)
        code = self._two_factor_code()
        if inspect.isawaitable(code):
            code = await code
        reply = await client.request(
            "POST",
            f"{AUTHENTICATE_PATH}/2fa",
            payload={"code": str(code)},
            headers={"Authorization": f"Bearer {temporary}"},
            authenticate=False,
            retry_safe=True,
        )
        return reply.data

    @staticmethod
    def _parse_token(client: BaseClient, data: Any) -> Token:
        if not isinstance(data, Mapping) or not isinstance(data.get("access_token"), str):
            raise AuthError("authenticate answered without an access_token", vendor=client.vendor)
        refresh = data.get("refresh_token")
        # Secrets from now on, not once login() returns: a failure on the way (a bad expires_in) may quote them.
        client.redactor.add(data["access_token"])
        client.redactor.add(refresh if isinstance(refresh, str) else None)
        lifetime = _seconds(data.get("expires_in"))
        return Token(
            Secret(data["access_token"]),
            expires_at=client.clock.now() + lifetime if lifetime is not None else None,
            refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
        )
