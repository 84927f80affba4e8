"""Credentials: static headers, and logins that yield a token.

A login is a request like any other, so it goes through the client's pipeline and gate (Ooyala counts logins against
its one-request rule). It happens before the request waits at the gate, never inside a slot: a serial gate would
otherwise wait on itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import httpx

from .errors import AdOpsError, AuthError, QuotaStoreUnavailable, TransportError
from .redact import Secret, credential

if TYPE_CHECKING:
    from .client import BaseClient

__all__ = ["Auth", "HeaderAuth", "NoAuth", "Token", "TokenAuth"]


class Auth:
    """How a client proves who it is. Subclasses override what they need."""

    def secrets(self) -> Iterable[str]:
        """Every secret this strategy holds, so the client can keep them out of errors and logs."""
        return ()

    async def prepare(self, client: BaseClient) -> Any:
        """Return the credentials the next request should carry (logging in first if needed)."""
        return None

    def apply(self, request: httpx.Request, credentials: Any) -> None:
        """Put ``credentials`` (from :meth:`prepare`) on the request. Called inside the gate slot."""

    async def renew(self, client: BaseClient, rejected: Any) -> bool:
        """The vendor rejected ``rejected``; get fresh credentials. ``True`` when the request is worth retrying."""
        return False

    def observe(self, response: httpx.Response) -> None:
        """See every response (some vendors rotate the token in a header or cookie)."""


class NoAuth(Auth):
    """No credentials (sandboxes, public endpoints)."""


class HeaderAuth(Auth):
    """A static credential in a header: ``Authorization: Api-key <key>``, ``x-o-api-key: <key>``, ...

    Args:
        secret: the key or token.
        header: the header name.
        scheme: a prefix such as ``"Bearer"``; ``None`` sends the bare secret.
        field: the name a refusal gives the secret (the caller's parameter, e.g. ``"api_key"``).

    Raises:
        InvalidCredential: the secret has a control character (a trailing newline) or is not ASCII.
    """

    def __init__(
        self, secret: str | Secret, *, header: str = "Authorization", scheme: str | None = None, field: str = "secret"
    ) -> None:
        self._secret = credential(secret, field, header=True)
        self.header = header
        """The header the secret goes in."""
        self.scheme = scheme
        """The prefix before the secret (``"Bearer"``), or ``None`` for the bare secret."""

    def secrets(self) -> Iterable[str]:
        return (self._secret.reveal(),)

    def apply(self, request: httpx.Request, credentials: Any) -> None:
        value = self._secret.reveal()
        request.headers[self.header] = f"{self.scheme} {value}" if self.scheme else value

    def __repr__(self) -> str:
        return f"HeaderAuth(header={self.header!r}, scheme={self.scheme!r}, secret=***)"


@dataclass(frozen=True, eq=False)
class Token:
    """A login's result. ``expires_at`` is clock time (``None``: the vendor did not say)."""

    value: Secret
    """The access token."""
    expires_at: float | None = None
    """Clock time the token stops working, or ``None`` when the vendor did not say."""
    refresh_token: Secret | None = None
    """What the vendor takes to issue a new token without a login, if it gave one."""


class TokenAuth(Auth, ABC):
    """A login that returns a token: obtained lazily, refreshed before it expires, renewed once when rejected.

    Single-flight: when 50 tasks see their token rejected together, one login happens and the other 49 retry with
    its token. Bounded: when a login fails, every task that was waiting for it gets the same error instead of trying
    again, so wrong credentials cost one login, not one per task. A refused login raises :class:`AuthError` (so does
    a vendor error during login, after the client's retries); a network failure stays a :class:`TransportError`, and
    a shared quota store that cannot meter the login a :class:`QuotaStoreUnavailable`.

    Subclasses implement :meth:`login`, optionally :meth:`refresh`, and :meth:`apply_token`.

    Args:
        refresh_margin: refresh this many seconds before ``expires_at``.
    """

    def __init__(self, *, refresh_margin: float = 60.0) -> None:
        self.refresh_margin = refresh_margin
        """Seconds before ``expires_at`` at which the token is refreshed."""
        self._token: Token | None = None
        self._lock: anyio.Lock | None = None  # made on first use, on the event loop that uses it
        self._attempts = 0
        self._failure: AdOpsError | None = None
        self.logins = 0
        """Logins performed (refreshes excluded), for tests and stats."""

    @abstractmethod
    async def login(self, client: BaseClient) -> Token:
        """Log in with the stored credentials (through ``client.request(..., authenticate=False)``)."""

    async def refresh(self, client: BaseClient, token: Token) -> Token | None:
        """Exchange ``token`` (about to expire) for a new one; ``None`` when this vendor cannot, or it failed."""
        return None

    def apply_token(self, request: httpx.Request, token: Token) -> None:
        """Put the token on a request; by default the bare token in ``Authorization``."""
        request.headers["Authorization"] = token.value.reveal()

    def apply(self, request: httpx.Request, credentials: Any) -> None:
        if isinstance(credentials, Token):
            self.apply_token(request, credentials)

    def secrets(self) -> Iterable[str]:
        token = self._token
        if token is None:
            return ()
        return [s.reveal() for s in (token.value, token.refresh_token) if s is not None]

    def set_token(self, token: Token) -> None:
        """Replace the current token (a vendor that rotates tokens in responses calls this from :meth:`observe`)."""
        self._token = token

    def _fresh(self, token: Token | None, now: float) -> bool:
        return token is not None and (token.expires_at is None or token.expires_at - self.refresh_margin > now)

    async def prepare(self, client: BaseClient) -> Token:
        token = self._token
        if token is not None and self._fresh(token, client.clock.now()):
            return token
        return await self._obtain(client, stale=token)

    refresh_on_rejection: ClassVar[bool] = False
    """Try :meth:`refresh` before a full login when the vendor rejects a token (when its refresh token outlives the
    access token, as Adnuntius' does); by default a rejected token costs a login."""

    async def renew(self, client: BaseClient, rejected: Any) -> bool:
        stale = rejected if isinstance(rejected, Token) else None
        await self._obtain(client, stale=stale, rejected=not self.refresh_on_rejection)
        return True

    async def _obtain(self, client: BaseClient, *, stale: Token | None, rejected: bool = False) -> Token:
        attempts_seen = self._attempts
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            current = self._token
            if current is not None and current is not stale and self._fresh(current, client.clock.now()):
                return current  # another task logged in while we waited
            if self._attempts != attempts_seen and self._failure is not None:
                # The login we waited for failed: do not try again for every task.
                raise type(self._failure)(self._failure.message, **self._failure.context())
            self._attempts += 1
            try:
                token = None
                if current is not None and not rejected:
                    token = await self.refresh(client, current)
                if token is None:
                    self.logins += 1
                    token = await self.login(client)
            except QuotaStoreUnavailable:
                raise  # the shared store could not meter the login, so none was sent: not a login failure
            except (AuthError, TransportError) as exc:
                self._token, self._failure = None, exc
                raise
            except AdOpsError as exc:
                self._token = None
                self._failure = AuthError(f"login failed: {exc.message}", **exc.context())
                raise self._failure from exc
            self._failure = None
            self._token = token
            client.redactor.add(token.value)
            client.redactor.add(token.refresh_token)
            return token
