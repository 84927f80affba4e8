"""Logins: lazy, single-flight, refreshed before expiry, renewed once on rejection, bounded when failing."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from adops_async import AuthError, Gate, MaxInFlight, RetryPolicy, ServerError, TransportError, VirtualClock
from adops_async.core.redact import Secret
from adops_async.extend import BaseClient, Token, TokenAuth
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio

PASSWORD = "hunter2-correct-horse"
API_KEY = "ak-9f8e7d6c5b4a"


class PasswordLogin(TokenAuth):
    def __init__(self, username: str, password: str, **kw: float) -> None:
        super().__init__(**kw)
        self.username, self._password = username, Secret(password)

    def secrets(self) -> list[str]:
        return [self._password.reveal(), *super().secrets()]

    async def login(self, client: BaseClient) -> Token:
        reply = await client.request(
            "POST",
            "/login",
            payload={"user": self.username, "password": self._password.reveal()},
            authenticate=False,
            retry_safe=True,
        )
        expires = reply.data.get("expires_in")
        return Token(Secret(reply.data["token"]), client.clock.now() + expires if expires else None)

    async def refresh(self, client: BaseClient, token: Token) -> Token | None:
        reply = await client.request("POST", "/refresh", payload={"token": token.value.reveal()}, authenticate=False)
        return Token(Secret(reply.data["token"]), client.clock.now() + reply.data["expires_in"])

    def apply_token(self, request: httpx.Request, token: Token) -> None:
        request.headers["Authorization"] = f"Bearer {token.value.reveal()}"


class Server:
    """Issues tok-1, tok-2, ...; accepts only tokens in `valid`."""

    def __init__(self, *, login_status: int = 200, expires_in: float | None = None) -> None:
        self.valid: set[str] = set()
        self.logins = 0
        self.refreshes = 0
        self.login_status = login_status
        self.expires_in = expires_in
        self.served = 0

    def issue(self) -> dict[str, object]:
        token = f"tok-{self.logins + self.refreshes}-secretvalue"
        self.valid.add(token)
        return {"token": token, "expires_in": self.expires_in}

    async def __call__(self, hit: Hit) -> Answer:
        if hit.path == "/login":
            self.logins += 1
            if self.login_status != 200:
                return Answer(self.login_status, {"message": f"bad login for {PASSWORD}"})
            return Answer(200, self.issue())
        if hit.path == "/refresh":
            self.refreshes += 1
            return Answer(200, self.issue())
        token = hit.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            return Answer(401, {"message": f"token {token} expired"})
        self.served += 1
        return Answer(200, {"ok": True})


def client_for(server: Server, clock: VirtualClock, **kw: object) -> BaseClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(server)))  # type: ignore[arg-type]
    auth = kw.pop("auth", None) or PasswordLogin("ann", PASSWORD)
    return BaseClient(
        base_url="http://vendor.test",
        http=http,
        auth=auth,  # type: ignore[arg-type]
        gate=Gate(MaxInFlight(10), clock=clock),
        clock=clock,
        **kw,  # type: ignore[arg-type]
    )


async def test_fifty_rejected_requests_cause_one_login() -> None:
    server = Server()
    async with VirtualClock().running() as clock, client_for(server, clock) as client:
        await client.request("GET", "/x")
        assert server.logins == 1
        server.valid.clear()  # every token in use is now rejected

        async def call() -> None:
            reply = await client.request("GET", "/x")
            assert reply.data == {"ok": True}

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(call)
    assert server.logins == 2
    assert server.served == 51


async def test_login_is_lazy_and_shared_by_concurrent_first_calls() -> None:
    server = Server()
    async with VirtualClock().running() as clock, client_for(server, clock) as client:
        assert server.logins == 0
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(client.request, "GET", "/x")
    assert server.logins == 1


async def test_wrong_credentials_cost_one_login_and_raise_auth_error_everywhere() -> None:
    server = Server(login_status=401)
    failures: list[AuthError] = []
    async with VirtualClock().running() as clock, client_for(server, clock) as client:

        async def call() -> None:
            try:
                await client.request("GET", "/x")
            except AuthError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(call)
    assert len(failures) == 20
    assert server.logins == 1


async def test_login_that_keeps_failing_on_the_server_side_is_bounded() -> None:
    server = Server(login_status=503)
    async with VirtualClock().running() as clock, client_for(server, clock, retry=RetryPolicy(attempts=4)) as client:
        with pytest.raises(AuthError, match="login failed"):
            await client.request("GET", "/x")
    assert server.logins == 4


async def test_token_is_refreshed_before_it_expires_without_a_new_login() -> None:
    server = Server(expires_in=600)
    async with VirtualClock().running() as clock:
        auth = PasswordLogin("ann", PASSWORD, refresh_margin=60)
        async with client_for(server, clock, auth=auth) as client:
            await client.request("GET", "/x")
            await clock.sleep_until(545)
            await client.request("GET", "/x")
            assert (server.logins, server.refreshes) == (1, 1)
    assert auth.logins == 1


async def test_a_request_rejected_after_a_fresh_login_raises_instead_of_looping() -> None:
    server = Server()

    async def always_401(hit: Hit) -> Answer:
        if hit.path == "/login":
            return await server(hit)
        return Answer(401, {"message": "no"})

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(always_401)))  # type: ignore[arg-type]
        client = BaseClient(base_url="http://v.test", http=http, auth=PasswordLogin("ann", PASSWORD), clock=clock)
        async with client:
            with pytest.raises(AuthError):
                await client.request("GET", "/x")
    assert server.logins == 2  # the lazy login, then exactly one renewal


async def test_no_secret_in_errors_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    server = Server()

    async def leaky(hit: Hit) -> Answer:
        if hit.path in ("/login", "/ok"):
            return await server(hit)
        token = hit.headers.get("authorization", "")
        return Answer(500, {"message": f"crashed on {token} with key {API_KEY} and {PASSWORD}"})

    def refusing(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    async with VirtualClock().running() as clock:
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app(leaky)))  # type: ignore[arg-type]
        auth = PasswordLogin("ann", PASSWORD)
        client = BaseClient(base_url="http://v.test", http=http, auth=auth, clock=clock, retry=RetryPolicy(attempts=2))
        client.redactor.add(API_KEY)
        async with client:
            await client.request("GET", "/ok")
            with pytest.raises(ServerError) as caught:
                await client.request("GET", "/boom", params={"api_key": API_KEY})
            texts += [str(caught.value), repr(caught.value), str(caught.value.body)]
            texts += [repr(client), repr(auth), repr(auth._token)]
        offline = BaseClient(
            base_url="http://v.test",
            http=httpx.AsyncClient(transport=httpx.MockTransport(refusing)),
            auth=PasswordLogin("ann", PASSWORD),
            clock=clock,
            retry=RetryPolicy(attempts=2),
        )
        async with offline:
            with pytest.raises(TransportError) as failed:
                await offline.request("GET", f"/x?token={API_KEY}", authenticate=False)
            texts += [str(failed.value), repr(failed.value)]
            server.login_status = 401
            with pytest.raises(TransportError) as login_failed:  # a network failure during login stays one
                await offline.request("GET", "/y")
            texts += [str(login_failed.value)]
    texts += [caplog.text, *(r.getMessage() for r in caplog.records)]
    issued = sorted(server.valid)
    assert issued, "the test must have seen a real token"
    blob = "\n".join(texts)
    assert "crashed on" in blob  # the vendor's message is kept ...
    for secret in [PASSWORD, API_KEY, *issued]:
        assert secret not in blob  # ... without the secrets in it
