"""The one request pipeline every call of every vendor passes through.

:meth:`BaseClient._exchange` is the only place that sends HTTP. In order (DESIGN.md "The one request pipeline"):

1. classify the call (read or write; safe to repeat or not),
2. wait at the gate for cooldowns, rate budgets and a concurrency permit,
3. put the credentials on the request (obtained before the gate, applied inside it),
4. send it with the client's one ``httpx.AsyncClient``,
5. let the gate observe the response (rate headers, 429/503 Retry-After),
6. decode the body and ask the vendor's dialect whether it is an error,
7. retry where it is safe, or raise a typed error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio.lowlevel
import httpx
from typing_extensions import Self

from .auth import Auth, NoAuth
from .clock import AnyioClock, Clock
from .codecs import Codec, JsonCodec
from .dialect import Dialect, ErrorInfo
from .errors import AdOpsError, ClientClosed, DecodeError, QuotaStoreUnavailable, TransportError
from .gate import Gate
from .headers import parse_retry_after
from .policies import Cooldown, Kind, Priority
from .priority import current_priority
from .redact import Redactor, watch_third_party_logs
from .retry import Failure, RetryPolicy

__all__ = ["BaseClient", "Call", "Reply"]

logger = logging.getLogger("adops_async.http")

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Call:
    """One logical request, before it becomes one or more HTTP attempts."""

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    payload: Any = None
    """Encoded with the codec (JSON or XML)."""
    content: bytes | None = None
    """Raw bytes, sent as they are (takes precedence over ``payload``)."""
    data: Mapping[str, Any] | None = None
    """Form fields (``application/x-www-form-urlencoded``, or multipart with ``files``)."""
    files: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    priority: Priority | None = None
    """``None``: the surrounding :func:`~adops_async.priority` block's, else ``NORMAL``."""
    retry_safe: bool | None = None
    """Override the HTTP-method rule: ``True`` for a POST the vendor documents as idempotent (Adnuntius upserts)."""
    authenticate: bool = True
    codec: Codec | None = None
    stream: bool = False
    follow_redirects: bool = False


@dataclass
class Reply:
    """A successful response and its decoded body (``None`` for an empty body or a streamed one)."""

    response: httpx.Response
    data: Any = None

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers


@dataclass
class _Outcome:
    """What one attempt left behind once its gate slot closed."""

    failure: Failure
    error: AdOpsError
    info: ErrorInfo | None = field(default=None)


class BaseClient:
    """The engine under every vendor client: one ``httpx.AsyncClient``, a gate, auth, retry, a dialect, a codec.

    Args:
        base_url: the vendor's API root; paths given to :meth:`request` are joined to it.
        dialect: how the vendor reports errors and which calls are idempotent.
        auth: credentials strategy (default: none).
        gate: where requests wait (default: a gate with :class:`Cooldown` only).
        retry: when to retry (default: :class:`RetryPolicy`).
        http: your own ``httpx.AsyncClient`` (transport, proxy, limits); you keep ownership and close it yourself.
        timeout: per-attempt HTTP timeout in seconds, for the client we create.
        clock: time source shared by the gate, retry and token expiry.
    """

    def __init__(
        self,
        *,
        base_url: str,
        dialect: Dialect | None = None,
        auth: Auth | None = None,
        gate: Gate | None = None,
        retry: RetryPolicy | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.dialect = dialect or Dialect()
        self.auth = auth or NoAuth()
        self.clock = clock or (gate.clock if gate is not None else AnyioClock())
        self.gate = gate or Gate(Cooldown(), clock=self.clock)
        self.retry = retry or RetryPolicy()
        self.codec: Codec = self.dialect.codec or JsonCodec()
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self.redactor = Redactor(self.auth.secrets())
        watch_third_party_logs(self.redactor)
        self._closed = False
        self.requests_sent = 0

    @property
    def vendor(self) -> str:
        return self.dialect.vendor

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (if we created it). Further calls raise :class:`ClientClosed`."""
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            await self.http.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.base_url} {state}>"

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosed(f"{type(self).__name__} is closed; open a new one", vendor=self.vendor)

    # -- public entry points -----------------------------------------------------------------------------------

    async def request(self, method: str, url: str, **options: Any) -> Reply:
        """Send one logical request through the pipeline and return the decoded reply; raise a typed error.

        ``options`` are the fields of :class:`Call` (``params``, ``payload``, ``content``, ``priority``, ...).
        """
        async with self._exchange(Call(method.upper(), url, **options)) as reply:
            return reply

    @asynccontextmanager
    async def stream(self, method: str, url: str, **options: Any) -> AsyncIterator[httpx.Response]:
        """Send a request and hold its gate slot while the caller reads the body (``response.aiter_bytes()``).

        Retries happen before the body is handed over, never after; a body that breaks off while it is read raises
        :class:`TransportError` with the status and request id that had already arrived.
        """
        call = Call(method.upper(), url, stream=True, **options)
        async with self._exchange(call) as reply:
            try:
                yield reply.response
            except httpx.TransportError as exc:
                # The body broke off mid-download: a typed error, never a silently short report.
                response = reply.response
                error = self._transport_failure(response.request, exc, retry_safe=False).error
                context = error.context()
                context["status"] = response.status_code
                context["request_id"] = self.dialect.request_id(response)
                raise TransportError(error.message, **context) from None

    # -- the pipeline ------------------------------------------------------------------------------------------

    def _url(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        return f"{self.base_url}/{url.lstrip('/')}"

    def _build(self, call: Call) -> httpx.Request:
        codec = call.codec or self.codec
        headers = dict(call.headers or {})
        content = call.content
        if content is None and call.payload is not None:
            content = codec.encode(call.payload)
            headers.setdefault("Content-Type", codec.content_type)
        headers.setdefault("Accept", codec.content_type)
        return self.http.build_request(
            call.method,
            self._url(call.url),
            params=call.params,
            content=content,
            data=call.data,
            files=call.files,
            headers=headers,
        )

    @asynccontextmanager
    async def _exchange(self, call: Call) -> AsyncIterator[Reply]:
        self._check_open()
        kind = Kind.of(call.method)  # 1. classify
        priority = current_priority(call.priority, Priority.NORMAL)
        retry_safe = call.retry_safe if call.retry_safe is not None else self.dialect.idempotent(call.method)
        codec = call.codec or self.codec
        started = self.clock.now()
        attempt = 0
        renewed = False
        while True:
            attempt += 1
            credentials = await self.auth.prepare(self) if call.authenticate else None
            request = self._build(call)
            response: httpx.Response | None = None
            outcome: _Outcome | None = None
            observed_at = 0.0
            try:
                async with self.gate.slot(kind, priority) as slot:  # 2. gate
                    if call.authenticate:
                        self.auth.apply(request, credentials)  # 3. auth, inside the slot
                    try:
                        self.requests_sent += 1
                        response = await self.http.send(request, stream=True, follow_redirects=call.follow_redirects)
                    except httpx.TransportError as exc:  # 4. send
                        outcome = self._transport_failure(request, exc, retry_safe)
                    else:
                        observed_at = self.clock.now()
                        slot.observe(response.status_code, response.headers)  # 5. observe
                        self.auth.observe(response)
                        if call.stream and response.is_success:
                            try:
                                yield Reply(response)
                            finally:
                                await response.aclose()
                            return
                        try:
                            await response.aread()
                        except httpx.TransportError as exc:
                            outcome = self._transport_failure(request, exc, retry_safe)
                        finally:
                            await response.aclose()
            except QuotaStoreUnavailable as exc:
                # Raised by the gate, which knows no vendor: say which call could not be metered (and was not sent).
                url = self.redactor.url(request.url)
                raise type(exc)(exc.message, vendor=self.vendor, method=call.method, url=url) from None
            if self.gate.waiting:
                # Let the request we just made way for go out before we spend CPU decoding this one.
                await anyio.lowlevel.checkpoint()
            if outcome is None and response is not None:  # 6. decode, outside the slot
                reply, outcome = self._decode(response, codec, retry_safe, observed_at)
                if reply is not None:
                    self._log(request, response)
                    yield reply
                    return
            assert outcome is not None
            if (
                outcome.info is not None
                and outcome.info.renew_auth
                and call.authenticate
                and not renewed
                and await self.auth.renew(self, credentials)
            ):
                renewed = True
                continue
            elapsed = self.clock.now() - started  # 7. retry
            delay = self.retry.delay(outcome.failure, attempt=attempt, elapsed=elapsed)
            if delay is None:
                raise outcome.error
            logger.info("retrying in %.3f s after %s", delay, outcome.error)
            await self.clock.sleep_until(self.clock.now() + delay)

    def _decode(
        self, response: httpx.Response, codec: Codec, retry_safe: bool, observed_at: float
    ) -> tuple[Reply | None, _Outcome | None]:
        data: Any = None
        decode_problem: str | None = None
        try:
            data = codec.decode(response.content)
        except ValueError as exc:
            decode_problem = str(exc)
        info = self.dialect.error_for(response, data)
        if info is None and decode_problem is not None:
            info = ErrorInfo(DecodeError, decode_problem, code="decode")
        if info is None:
            return Reply(response, data), None
        retry_after = info.retry_after if info.retry_after is not None else parse_retry_after(response.headers)
        if info.rate_limited:
            # Measured from when the gate saw the response, so a 429/503 its Cooldown already read is not counted twice.
            wait = retry_after if retry_after is not None else 1.0
            self.gate.cool_down(wait, since=observed_at, status=response.status_code, reason=info.message)
        failure = Failure(
            retry_safe=retry_safe,
            status=response.status_code,
            retry_after=retry_after,
            rate_limited=info.rate_limited,
            not_acted=info.rate_limited or response.status_code in self.dialect.not_acted_statuses,
        )
        self._log(response.request, response)
        return None, _Outcome(failure, self._error(info, response), info)

    def _error(self, info: ErrorInfo, response: httpx.Response) -> AdOpsError:
        redact = self.redactor
        return info.error_class(
            redact.text(info.message),
            vendor=self.vendor,
            status=response.status_code,
            code=info.code,
            method=response.request.method,
            url=redact.url(response.request.url),
            request_id=self.dialect.request_id(response),
            body=redact.text(response.text[:8192]) if response.content else None,
            response=response,
            **info.extra,
        )

    def _transport_failure(self, request: httpx.Request, exc: httpx.TransportError, retry_safe: bool) -> _Outcome:
        message = self.redactor.text(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        error = TransportError(message, vendor=self.vendor, method=request.method, url=self.redactor.url(request.url))
        return _Outcome(Failure(retry_safe=retry_safe, transport_error=exc), error)

    def _log(self, request: httpx.Request, response: httpx.Response) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %s", request.method, self.redactor.url(request.url), response.status_code)
