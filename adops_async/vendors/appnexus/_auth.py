"""AppNexus login: ``POST /auth`` for a token sent raw in ``Authorization`` (docs/vendors/appnexus.md).

The API "permits you to authenticate successfully 10 times per 5-minute period"; further attempts fail. So logins are
metered here, on top of :class:`TokenAuth`'s single flight: when the budget is spent, the next login waits for it
(up to ``max_login_wait``), or fails with a clear :class:`AuthError` without contacting the API. Tokens are renewed
only after a ``NOAUTH`` (the documented best practice): they live 2 hours after the last call, 24 hours at most.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ...core.auth import Token, TokenAuth
from ...core.errors import AuthError
from ...core.redact import Secret, credential, refuse_unsendable
from ._dialect import envelope

if TYPE_CHECKING:
    from ...core.client import BaseClient

__all__ = ["AppNexusAuth", "LoginBudget"]


class LoginBudget:
    """At most ``limit`` logins in any ``window`` seconds. Share one between clients of the same user.

    A login counts from when its answer arrived, so the API (which saw it earlier) never counts more than ``limit``
    in one window, whatever the network latency.
    """

    def __init__(self, limit: int = 10, window: float = 300.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be at least 1 and window positive")
        self.limit = limit
        """Logins allowed in any window."""
        self.window = window
        """The window, in seconds (clock seconds)."""
        self._done: deque[float] = deque()

    def ready_at(self, now: float) -> float:
        """When the next login may start (``<= now``: now)."""
        while self._done and self._done[0] <= now - self.window:
            self._done.popleft()
        if len(self._done) < self.limit:
            return now
        return self._done[len(self._done) - self.limit] + self.window

    def spend(self, now: float) -> None:
        """Count a login whose answer arrived at ``now``."""
        self._done.append(now)


class AppNexusAuth(TokenAuth):
    """Username/password login, renewed once per ``NOAUTH``, single-flight, within the login budget.

    Args:
        username: the API user.
        password: its password (kept out of logs and errors).
        budget: the login rule (default 10 per 300 s).
        max_login_wait: how long a login may wait for the budget before failing with :class:`AuthError`.
    """

    def __init__(
        self,
        username: str,
        password: str | Secret,
        *,
        budget: LoginBudget | None = None,
        max_login_wait: float | None = None,
    ) -> None:
        super().__init__(refresh_margin=0.0)
        refuse_unsendable(username, "username")
        self.username = username
        """The API user."""
        self._password = credential(password, "password")
        self.budget = budget or LoginBudget()
        """The login rule it waits for (shared between clients of the same user)."""
        self.max_login_wait = self.budget.window if max_login_wait is None else max_login_wait
        """Seconds a login may wait for the budget before :class:`~adops_async.AuthError`."""

    def secrets(self) -> Iterable[str]:
        return [self._password.reveal(), *super().secrets()]

    def __repr__(self) -> str:
        return f"AppNexusAuth(username={self.username!r}, password=***)"

    async def login(self, client: BaseClient) -> Token:
        clock = client.clock
        now = clock.now()
        ready = self.budget.ready_at(now)
        if ready > now:
            if ready - now > self.max_login_wait:
                raise AuthError(
                    f"AppNexus allows {self.budget.limit} logins per {self.budget.window:g} s and they are spent; "
                    f"the next one is allowed in {ready - now:.1f} s (more than max_login_wait="
                    f"{self.max_login_wait:g} s). Repeated NOAUTH answers usually mean the token is shared or revoked.",
                    vendor=client.vendor,
                    code="LOGIN_LIMIT",
                )
            await clock.sleep_until(ready)
        # Not retry-safe: a login the API may have received counts against the 10-per-5-minutes rule, and our budget
        # can only count what it sends. A refused (429) or unsent one is still retried by the pipeline.
        payload = {"auth": {"username": self.username, "password": self._password.reveal()}}
        try:
            reply = await client.request("POST", "auth", payload=payload, authenticate=False, retry_safe=False)
        finally:
            self.budget.spend(clock.now())
        token = envelope(reply.data).get("token")
        if isinstance(token, str):
            client.redactor.add(token)  # now, not once login() returns: a failure on the way may quote it
        if not isinstance(token, str) or not token:
            raise AuthError("login answered without a token", vendor=client.vendor, status=reply.status)
        return Token(Secret(token))
