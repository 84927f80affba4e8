"""No secret anywhere: not in any log record (every logger, every level), error text, repr, traceback, body or
response kept on an error, nor in the retry log line; credentials that cannot be sent are refused at construction.

Judged on real sockets against every vendor's sandbox, with secrets chosen to need escaping (``"`` and ``\\``), so a
secret echoed in a JSON body, a URL or a Python ``repr`` is caught in each of those forms.
"""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest

from adops_async import (
    Adnuntius,
    AdOpsError,
    AppNexus,
    AuthError,
    DecodeError,
    InvalidCredential,
    NotFound,
    OoyalaPulse,
    PermissionDenied,
    PulsePro,
    RetryPolicy,
    Secret,
    TransportError,
)
from adops_async.core.redact import MASK, Redactor
from adops_async.extend import BaseClient, Token, TokenAuth
from adops_async.sandbox import Fault, Sandbox, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox, SandboxUser
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox
from tests.asgi import Answer, Hit, app

pytestmark = pytest.mark.anyio

PASSWORD = 'pw"Sec\\ret-7731'
WRONG_PASSWORD = 'wr"ong\\Pass-9154'
API_KEY = 'ak"Key\\5521-zz'
WRONG_KEY = 'bad"Key\\0042-qq'
USER = "ann@example.com"
FAST = RetryPolicy(attempts=2, backoff=0.001, max_backoff=0.001)


def written(secret: str) -> set[str]:
    """The forms a secret takes in text, computed here independently of the library's redactor."""
    forms = {
        secret,
        secret.strip(),
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
    }
    return {form for form in forms if form}


def assert_clean(texts: list[str], secrets: list[str]) -> None:
    blob = "\n".join(texts)
    leaked = sorted({form for secret in secrets for form in written(secret) if form in blob})
    assert not leaked, f"secrets in the texts: {leaked}"


def error_texts(error: BaseException) -> list[str]:
    """Every text a caller (or a log aggregator) may get from an error."""
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, AdOpsError):
        texts += [error.message, str(error.body), str(error.url)]
        response = error.response
        if response is not None:
            request = response.request
            texts += [repr(response), str(response), response.text, repr(response.headers), str(response.headers)]
            texts += [repr(request), str(request), str(request.url), repr(request.headers), str(request.headers)]
            texts += [repr(dict(request.headers)), request.content.decode("utf-8", "replace")]
    return texts


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{self.format(record)} args={record.args!r}")


@contextmanager
def all_logs() -> Iterator[list[str]]:
    """Every record of every logger at DEBUG, formatted, as an application's root handler would see it."""
    root = logging.getLogger()
    handler = _Collect()
    enabled = [root, logging.getLogger("httpx"), logging.getLogger("httpcore"), logging.getLogger("httpcore.http11")]
    levels = [logger.level for logger in enabled]
    for logger in enabled:
        logger.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        for logger, level in zip(enabled, levels, strict=True):
            logger.setLevel(level)


# -- the Ooyala session: tokens in Set-Cookie, logged by httpcore.http11 -------------------------------------------


async def test_ooyala_session_tokens_stay_out_of_every_log_record() -> None:
    sandbox = OoyalaSandbox(users={USER: PASSWORD}, renew_after=0.0, latency=0.0)  # every response renews the token
    with serve(sandbox) as url, all_logs() as logs:
        async with OoyalaPulse(username=USER, password=PASSWORD, base_url=url, retry=FAST) as pulse:
            for _ in range(3):
                await pulse.request("GET", "/api/1.0/client")
            with pytest.raises(NotFound):
                await pulse.request("GET", "/api/1.0/nowhere")
    tokens = list(sandbox.tokens)
    assert len(tokens) == 5  # the login's, then one renewal per call (the 404 included)
    assert sandbox.violations == []
    assert any(line.startswith("httpcore.http11 DEBUG") and "set-cookie" in line for line in logs)
    assert_clean(logs, [PASSWORD, *tokens])


# -- credentials that cannot be sent: refused at construction, by field name -------------------------------------

REFUSED: list[tuple[str, Callable[[Any], Any], str]] = [
    ("ooyala-key", lambda v: OoyalaPulse(api_key=v), "api_key"),
    ("ooyala-password", lambda v: OoyalaPulse(username=USER, password=v), "password"),
    ("ooyala-username", lambda v: OoyalaPulse(username=v, password=PASSWORD), "username"),
    ("appnexus-password", lambda v: AppNexus(username=USER, password=v), "password"),
    ("appnexus-username", lambda v: AppNexus(username=v, password=PASSWORD), "username"),
    ("adnuntius-key", lambda v: Adnuntius(context="network_1", api_key=v), "api_key"),
    ("adnuntius-password", lambda v: Adnuntius(context="network_1", username=USER, password=v), "password"),
    ("pulsepro-key", lambda v: PulsePro(api_key=v, base_url="http://pulse.test"), "api_key"),
    ("pulsepro-secret", lambda v: PulsePro(api_key=Secret(v), base_url="http://pulse.test"), "api_key"),
]


@pytest.mark.parametrize("value", ["key-from-a-file-8841\n", "key-8841\r\n", "key\t8841-tab", "key-8841\x00"])
@pytest.mark.parametrize(("build", "field"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_credentials_with_control_characters_are_refused_by_field_name(
    build: Callable[[Any], Any], field: str, value: str
) -> None:
    with pytest.raises(InvalidCredential) as refused:
        build(value)
    error = refused.value
    assert isinstance(error, ValueError)
    assert isinstance(error, AuthError)
    assert error.field == field
    assert str(error).startswith(f"{field} contains a control character")
    assert_clean(error_texts(error), [value])


def test_a_header_credential_must_be_ascii() -> None:
    with pytest.raises(InvalidCredential) as refused:
        PulsePro(api_key="clé-8841-secret", base_url="http://pulse.test")
    assert refused.value.field == "api_key"
    assert "clé" not in str(refused.value)


# -- the redactor: every written form of a secret, and credentials known only by their name ----------------------


def test_every_written_form_of_a_secret_is_masked() -> None:
    token = "tok-4471-secret\n"  # as a server might hand it out: sending it fails in h11, which quotes it
    symbols = 'x"y\\z!'  # no run of plain characters to look for first: the full pattern always runs
    redactor = Redactor([PASSWORD, API_KEY, token, symbols])
    echoed = [
        f'{{"message": "bad login: {json.dumps(PASSWORD)[1:-1]}"}}',  # JSON-escaped in a body
        f"GET /x?q={quote(PASSWORD, safe='')}&k={quote_plus(API_KEY)}",  # percent-encoded in a URL or a form
        f"GET {httpx.URL('http://h/x', params={'q': PASSWORD})}",  # as httpx encodes a query
        f"LocalProtocolError: Illegal header value {('Bearer ' + token).encode()!r}",  # h11's text, verbatim
        f"{PASSWORD!r} {API_KEY.encode()!r}",  # Python reprs
        f"{symbols} {json.dumps(symbols)} {quote(symbols)} {repr(symbols)!r}",  # and a repr of a repr
    ]
    assert_clean([redactor.text(text) for text in echoed], [PASSWORD, API_KEY, token, symbols])


def test_a_session_renewed_on_every_response_keeps_the_redactor_bounded() -> None:
    redactor = Redactor(["given-password-1"])
    tokens = [f"session-token-{n:06d}" for n in range(1000)]
    for token in tokens:
        redactor.add(token)
    text = " ".join(["given-password-1", *tokens[-Redactor.LEARNT :], tokens[0]])
    masked = redactor.text(text).split()
    # the given secret and the newest learnt tokens stay masked; the oldest token was let go
    assert masked == [MASK] * (1 + Redactor.LEARNT) + [tokens[0]]


def test_credentials_are_masked_by_name_before_the_secret_is_known() -> None:
    redactor = Redactor()
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    texts = [
        '{"access_token": "unknown-4471", "token_type": "bearer", "keywords": "sports", "refresh_token": "r-9"}',
        "[(b'set-cookie', b'X-VP-AUTH=\"unknown-4471\"; Version=1; Max-Age=3600; Path=/'), (b'x-o-api-key', b'r-9')]",
        f"Authorization: Basic {basic}",
    ]
    clean = [redactor.text(text) for text in texts]
    assert_clean(clean, ["unknown-4471", "r-9", basic, PASSWORD])
    assert '"token_type": "bearer"' in clean[0]
    assert '"keywords": "sports"' in clean[0]
    assert f"X-VP-AUTH={MASK}; Version=1; Max-Age=3600; Path=/" in clean[1]
    assert "Basic authentication failed" in redactor.text("Basic authentication failed")


# -- a learnt token h11 refuses to send: the TransportError and the retry log line --------------------------------

LEARNT = "tok-4471-secret\n"


class _Login(TokenAuth):
    async def login(self, client: BaseClient) -> Token:
        reply = await client.request("POST", "/login", payload={"password": PASSWORD}, authenticate=False)
        return Token(Secret(reply.data["token"]))


async def test_a_token_that_cannot_be_sent_stays_out_of_the_transport_error_and_the_retry_line() -> None:
    async def handler(hit: Hit) -> Answer:
        return Answer(200, {"token": LEARNT} if hit.path == "/login" else {"ok": True})

    with serve(app(handler)) as url, all_logs() as logs:
        async with BaseClient(base_url=url, auth=_Login(), retry=FAST) as client:
            with pytest.raises(TransportError) as caught:
                await client.request("GET", "/x")
    assert "Illegal header value" in str(caught.value)
    assert any("retrying in" in line for line in logs)
    assert_clean([*logs, *error_texts(caught.value)], [PASSWORD, LEARNT])


# -- every vendor, every typed failure the sandbox can provoke ------------------------------------------------------


@dataclass
class Vendor:
    name: str
    sandbox: Callable[[], Sandbox]
    client: Callable[[str, Sandbox, str], BaseClient]
    """``(url, sandbox, secret)``: a client holding ``secret`` (the good one, or the wrong one)."""
    good: str
    wrong: str
    auth_header: str
    path: str
    fault_path: str
    learnt: Callable[[Any], list[str]] = lambda sandbox: []
    params: dict[str, str] = field(default_factory=dict)


VENDORS = [
    Vendor(
        "ooyala-session",
        lambda: OoyalaSandbox(users={USER: PASSWORD}, renew_after=0.0, latency=0.0),
        lambda url, s, secret: OoyalaPulse(username=USER, password=secret, base_url=url, retry=FAST),
        PASSWORD,
        WRONG_PASSWORD,
        "x-vp-auth",
        "/api/1.0/client",
        "/api/1.0/client",
        lambda sandbox: list(sandbox.tokens),
    ),
    Vendor(
        "ooyala-key",
        lambda: OoyalaSandbox(api_keys=(API_KEY,), latency=0.0),
        lambda url, s, secret: OoyalaPulse(api_key=secret, base_url=url, retry=FAST),
        API_KEY,
        WRONG_KEY,
        "x-o-api-key",
        "/api/1.0/client",
        "/api/1.0/client",
    ),
    Vendor(
        "appnexus",
        lambda: AppNexusSandbox(users={USER: SandboxUser(PASSWORD, 1)}),
        lambda url, s, secret: AppNexus(username=USER, password=secret, base_url=url, retry=FAST),
        PASSWORD,
        WRONG_PASSWORD,
        "authorization",
        "/advertiser",
        "/advertiser",
        lambda sandbox: list(sandbox._sessions),
    ),
    Vendor(
        "adnuntius",
        lambda: AdnuntiusSandbox(users={USER: PASSWORD}),
        lambda url, s, secret: Adnuntius(context="network_1", username=USER, password=secret, base_url=url, retry=FAST),
        PASSWORD,
        WRONG_PASSWORD,
        "authorization",
        "/api/v1/advertisers",
        "/api/v1/advertisers",
        lambda sandbox: [*sandbox._access, *sandbox._refresh],
        {"context": "network_1"},
    ),
    Vendor(
        "adnuntius-key",
        lambda: AdnuntiusSandbox(api_keys=[API_KEY]),
        lambda url, s, secret: Adnuntius(context="network_1", api_key=secret, base_url=url, retry=FAST),
        API_KEY,
        WRONG_KEY,
        "authorization",
        "/api/v1/advertisers",
        "/api/v1/advertisers",
        params={"context": "network_1"},
    ),
    Vendor(
        "pulsepro",
        lambda: PulseProSandbox(keys={API_KEY: "org-1"}, inspections=5),
        lambda url, s, secret: PulsePro(api_key=secret, base_url=f"{url}/api/v1", clock=s.client_clock(), retry=FAST),
        API_KEY,
        WRONG_KEY,
        "authorization",
        "inspections",
        "/api/v1/inspections",
    ),
]


def echo(secrets: list[str]) -> bytes:
    """A body that quotes every secret the way a careless server would: raw, JSON-escaped and percent-encoded."""
    parts = [f"raw={secret} json={json.dumps(secret)} url={quote(secret, safe='')}" for secret in secrets]
    return (" | ".join(parts)).encode()


@pytest.mark.parametrize("vendor", VENDORS, ids=[vendor.name for vendor in VENDORS])
async def test_no_secret_in_any_typed_failure_of_any_vendor(vendor: Vendor) -> None:
    sandbox = vendor.sandbox()
    texts: list[str] = []
    seen: list[type[AdOpsError]] = []
    with serve(sandbox) as url, all_logs() as logs:
        async with vendor.client(url, sandbox, vendor.good) as client:
            await client.request("GET", vendor.path, params=vendor.params)
            body = echo([vendor.good, *vendor.learnt(sandbox)])
            failures: list[tuple[Fault, type[AdOpsError]]] = [
                (Fault("status", status=403, body=body, path=vendor.fault_path), PermissionDenied),
                (Fault("status", status=404, body=body, path=vendor.fault_path), NotFound),
                (Fault("status", status=200, body=b"<<{ " + body, path=vendor.fault_path), DecodeError),
                (Fault("reset", count=2, path=vendor.fault_path), TransportError),
            ]
            for fault, expected in failures:
                sandbox.inject(fault)
                with pytest.raises(expected) as caught:
                    await client.request("GET", vendor.path, params=vendor.params)
                seen.append(type(caught.value))
                texts += error_texts(caught.value)
                kept = caught.value.response
                if expected is not TransportError:
                    # The response kept on the error stays useful: its status, headers and (redacted) body are there,
                    # and so is the request, with its credential header masked.
                    assert kept is not None
                    assert kept.status_code == caught.value.status == fault.status
                    assert kept.text.startswith("<<{ raw=" if expected is DecodeError else "raw=")
                    assert kept.request.method == "GET"
                    assert kept.request.headers[vendor.auth_header] == MASK
        async with vendor.client(url, sandbox, vendor.wrong) as client:
            with pytest.raises(AuthError) as refused:
                await client.request("GET", vendor.path, params=vendor.params)
            texts += error_texts(refused.value)
    assert len(seen) == 4
    assert sandbox.faults == []
    assert any("retrying in" in line for line in logs)  # the retry line was written, and is checked below
    assert any(MASK in text for text in texts)  # the echoes were there, masked
    assert_clean([*texts, *logs], [vendor.good, vendor.wrong, *vendor.learnt(sandbox)])
