"""The one request pipeline every call of every vendor passes through.

Two layers, as httpx layers ``send``: :meth:`BaseClient._exchange` is the retry loop (renew credentials once when the
vendor rejects them, retry where the policy says it is safe, else raise), around :meth:`BaseClient._attempt`, the
only place that sends HTTP. One attempt, in order:

1. classify the call (read or write; safe to repeat or not: :class:`_Plan`, decided once per call),
2. wait at the gate for cooldowns, rate budgets and a concurrency permit, never past the call's deadline,
3. put the credentials on the request (obtained before the gate, applied inside it),
4. send it with the client's one ``httpx.AsyncClient``, headers and body within one wall-clock bound per attempt,
   the body read up to a size cap,
5. let the gate observe the response (rate headers, 429/503 Retry-After),
6. decode the body and ask the vendor's dialect whether it is an error.

Observability: each call is numbered and, when the client has observers, its steps become events
(:mod:`adops_async.observe`): call started, waited at the gate, request sent, response received (or request failed),
rate signal, retry scheduled, lease lost, call ended; the gate adds its own (cooldowns, budgets synced from headers,
the shared store's mode). A successful call's :class:`~adops_async.observe.ResponseMeta` (request id, attempts, gate
wait) is recorded for the objects built from its reply (``adops_async.response_meta(obj)``).

Per-call options: :meth:`BaseClient.with_options` returns a view of the client (same gate, auth, connection pool and
observers) whose calls use other ``timeout``, ``retry``, ``priority``, ``max_wait`` or ``raw_response`` settings.

Bounds: the retry policy's ``deadline`` counts from the call's start and covers gate waits, every attempt and every
body read; each attempt also ends after ``timeout`` seconds of wall-clock time (httpx's own timeout is per read, so a
body trickled a byte at a time would never trip it). A caller cancelled while its request is on the wire returns at
once, but the request keeps its gate place until its attempt's bound has passed: the vendor may still be working on it.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import itertools
import logging
import math
import os
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypedDict

import anyio.lowlevel
import httpx
from typing_extensions import Self, Unpack

from ..observe._dispatch import Observer, Observers
from ..observe._events import (
    CallEnded,
    CallStarted,
    Event,
    GateWaited,
    LeaseLost,
    RateSignal,
    RequestFailed,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    path_template,
)
from ..observe._logging import LogObserver
from ..observe._meta import ResponseMeta, record
from .auth import Auth, NoAuth
from .clock import AnyioClock
from .codecs import Codec, JsonCodec
from .dialect import Dialect, ErrorInfo
from .errors import (
    AdOpsError,
    ClientClosed,
    DecodeError,
    ErrorContext,
    GateWaitTooLong,
    QuotaStoreUnavailable,
    TransportError,
)
from .errors import LeaseLost as LeaseLostError
from .gate import Gate, Slot
from .headers import parse_retry_after
from .options import ClientOptions, check_options
from .policies import Cooldown, Kind, Priority
from .priority import current_priority
from .redact import Redactor, watch_third_party_logs
from .retry import Failure, RetryPolicy

__all__ = ["BaseClient", "Call", "CallOptions", "Reply"]

logger = logging.getLogger("adops_async.http")

#: The default cap on a decoded (not streamed) response body: far above any real page, far below a worker's memory.
MAX_BODY_SIZE = 32 * 2**20

#: The environment variable that adds a log observer to every client built while it is set (``info`` or ``debug``).
LOG_ENV = "ADOPS_LOG"

_new_event = object.__new__
"""The three events every observed call makes (CallStarted, ResponseReceived, CallEnded) are made as
``event = _new_event(cls); event.__init__(...)``: calling a class with keywords packs them into a dict and unpacks it
again for ``__init__`` (CPython), about a third of what such an event costs; calling ``__init__`` passes them as
they are. Their fields are passed one by one, not as ``**trace.origin()``, and the enums' own ``_value_``/``_name_``,
not their properties."""
_calls = itertools.count(1)
# Attributes a view shares with its client as they are (the rest is copied, and helpers bound to the client rebound).
_SHARED = frozenset(
    {"auth", "gate", "http", "dialect", "redactor", "clock", "codec", "observers", "_root", "_templates"}
)


@dataclass(frozen=True)
class Call:
    """One logical request, before it becomes one or more HTTP attempts."""

    method: str
    """The HTTP method (``GET``, ``POST``, ...)."""
    url: str
    """A path joined to the client's ``base_url``, or an absolute URL (a vendor's own download link)."""
    params: Mapping[str, Any] | None = None
    """Query parameters (httpx encodes them; a list repeats the name)."""
    payload: Any = None
    """Encoded with the codec (JSON or XML)."""
    content: bytes | None = None
    """Raw bytes, sent as they are (takes precedence over ``payload``)."""
    data: Mapping[str, Any] | None = None
    """Form fields (``application/x-www-form-urlencoded``, or multipart with ``files``)."""
    files: Mapping[str, Any] | None = None
    """Multipart file parts, as httpx takes them (``{name: (filename, bytes, content type)}``)."""
    headers: Mapping[str, str] | None = None
    """Extra request headers, over the client's own."""
    priority: Priority | None = None
    """``None``: the surrounding :func:`~adops_async.priority` block's, else ``NORMAL``."""
    retry_safe: bool | None = None
    """Override the HTTP-method rule: ``True`` for a POST the vendor documents as idempotent (Adnuntius upserts)."""
    authenticate: bool = True
    """Send the credentials; ``False`` for the login call itself."""
    codec: Codec | None = None
    """Encodes the payload and decodes the response; ``None``: the client's (its dialect's)."""
    stream: bool = False
    """Leave the body unread for the caller (:meth:`BaseClient.stream` sets it); ``Reply.data`` is then ``None``."""
    follow_redirects: bool = False
    """Follow a 3xx answer to its ``Location``; by default a 3xx is returned as it is."""
    timeout: float | None = None
    """Wall-clock bound of one attempt, headers and body (a streamed body included); ``None``: the client's."""


class CallOptions(TypedDict, total=False):
    """The per-call keyword arguments of :meth:`BaseClient.request` and :meth:`BaseClient.stream`: the fields of
    :class:`Call` besides its method and URL."""

    params: Mapping[str, Any] | None
    """As :attr:`Call.params`."""
    payload: Any
    """As :attr:`Call.payload`."""
    content: bytes | None
    """As :attr:`Call.content`."""
    data: Mapping[str, Any] | None
    """As :attr:`Call.data`."""
    files: Mapping[str, Any] | None
    """As :attr:`Call.files`."""
    headers: Mapping[str, str] | None
    """As :attr:`Call.headers`."""
    priority: Priority | None
    """As :attr:`Call.priority`."""
    retry_safe: bool | None
    """As :attr:`Call.retry_safe`."""
    authenticate: bool
    """As :attr:`Call.authenticate`."""
    codec: Codec | None
    """As :attr:`Call.codec`."""
    follow_redirects: bool
    """As :attr:`Call.follow_redirects`."""
    timeout: float | None
    """As :attr:`Call.timeout`."""


_CALL_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Call) if f.default is not dataclasses.MISSING}
"""Every field of :class:`Call` but its method and URL, with its default."""


def _new_call(method: str, url: str, options: Mapping[str, Any]) -> Call:
    """``Call(method, url, **options)``, built by filling its ``__dict__`` at once: the generated ``__init__`` of a
    frozen dataclass writes each of its fifteen fields through ``object.__setattr__`` (about 25,000 instructions, 1 %
    of a loopback GET). Anything but a known field goes through the real constructor (and its ``TypeError``)."""
    if not options.keys() <= _CALL_DEFAULTS.keys():
        return Call(method, url, **options)
    call = object.__new__(Call)
    fields = call.__dict__
    fields["method"], fields["url"] = method, url
    fields.update(_CALL_DEFAULTS)
    fields.update(options)
    return call


@dataclass
class Reply:
    """A successful response and its decoded body (``None`` for an empty body or a streamed one)."""

    response: httpx.Response
    """The final attempt's response (its body already read, unless the call streamed)."""
    data: Any = None
    """The body decoded by the call's codec."""
    meta: ResponseMeta | None = None
    """Request id, attempts taken and time waited at the gate."""

    @property
    def status(self) -> int:
        """The response's HTTP status code."""
        return self.response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response's headers."""
        return self.response.headers


@dataclass(slots=True)
class _Plan:
    """What the pipeline decides about a call once, before its first attempt."""

    kind: Kind
    priority: Priority
    retry_safe: bool
    codec: Codec
    started: float
    deadline: float
    """Clock time after which no gate wait, attempt or body read goes on (the retry policy's deadline)."""

    @classmethod
    def of(cls, call: Call, client: BaseClient) -> _Plan:
        started = client.clock.now()
        priority = client.priority
        if priority is None:
            priority = current_priority(call.priority, Priority.NORMAL)
        retry_safe = call.retry_safe
        if retry_safe is None:
            retry_safe = client.dialect.idempotent(call.method)
        # Positional: matching six keywords costs more than filling the six slots.
        return cls(
            Kind.of(call.method),
            priority,
            retry_safe,
            call.codec or client.codec,
            started,
            started + client.retry.deadline,
        )


@dataclass(slots=True)
class _Trace:
    """One call's bookkeeping: its number and path template for events, its attempts and gate wait for its
    response metadata."""

    call: int
    vendor: str
    method: str
    path: str
    observers: Observers | None
    """The client's observers when it has any: events are built only then (and only the types they take)."""
    attempt: int = 0
    gate_wait: float = 0.0
    status: int | None = None
    """The last response's status and request id (for the call's end and the response metadata)."""
    request_id: str | None = None
    _origin: dict[str, Any] | None = None
    _origin_attempt: int = -1

    def origin(self) -> dict[str, Any]:
        """The fields every event of the current attempt carries (one dict per attempt: do not change it)."""
        if self._origin_attempt != self.attempt or self._origin is None:
            self._origin_attempt = self.attempt
            self._origin = {
                "vendor": self.vendor,
                "method": self.method,
                "path": self.path,
                "attempt": self.attempt,
                "call": self.call,
            }
        return self._origin

    def answered(self, status: int, request_id: str | None) -> None:
        """Remember the response the attempt got (read once for the events and the metadata)."""
        self.status, self.request_id = status, request_id


@dataclass(slots=True)
class _Held:
    """A streamed call's success, its gate slot still held while the caller reads the body."""

    slot: Slot
    call: Call
    plan: _Plan
    trace: _Trace
    previous: _Outcome | None


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
        **options: ``http``, ``retry``, ``timeout``, ``clock``, ``max_body_size``, ``observers``: the options every
            client takes, described in :class:`~adops_async.ClientOptions`. A vendor client takes the same and hands
            them on.

    Attributes:
        base_url: ``base_url`` without its trailing slash.
        dialect: the vendor's :class:`Dialect`.
        auth: the credentials strategy (:class:`NoAuth` when none was given).
        clock: the time source (the gate's when only ``gate`` was given).
        gate: where every request of this client waits.
        retry: the retry policy.
        codec: the codec of request payloads and response bodies (the dialect's, else JSON).
        http: the ``httpx.AsyncClient`` the requests go through.
        timeout: wall-clock bound of one attempt, in seconds.
        max_body_size: the largest response body read into memory, in bytes.
        redactor: what is removed from URLs, errors and logs (the credentials, and tokens added with ``add``).
        requests_sent: HTTP attempts this client has sent, retries and logins included.
        priority: the priority of every call (set by :meth:`with_options`); ``None``: the call's own.
        max_wait: the longest a call may wait at the gate (set by :meth:`with_options`); ``None``: up to its deadline.
        raw_response: keep each reply's ``httpx.Response`` in its response metadata (set by :meth:`with_options`).
    """

    def __init__(
        self,
        *,
        base_url: str,
        dialect: Dialect | None = None,
        auth: Auth | None = None,
        gate: Gate | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        check_options(type(self).__name__, options)
        http, retry, clock = options.get("http"), options.get("retry"), options.get("clock")
        timeout, max_body_size = options.get("timeout", 30.0), options.get("max_body_size", MAX_BODY_SIZE)
        observers = options.get("observers", ())
        if not timeout > 0 or not max_body_size > 0:
            raise ValueError("timeout and max_body_size must be positive")
        self.base_url = base_url.rstrip("/")
        self.dialect = dialect or Dialect()
        self.auth = auth or NoAuth()
        self.clock = clock or (gate.clock if gate is not None else AnyioClock())
        self.gate = gate or Gate(Cooldown(), clock=self.clock)
        self.retry = retry or RetryPolicy()
        self.codec: Codec = self.dialect.codec or JsonCodec()
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout, verify=_default_tls_context())
        self.timeout = timeout
        self.max_body_size = max_body_size
        self._speed = float(getattr(self.clock, "speed", 1.0))
        self.redactor = Redactor(self.auth.secrets())
        watch_third_party_logs(self.redactor)
        self._closed = False
        self.requests_sent = 0
        self.priority: Priority | None = None
        self.max_wait: float | None = None
        self.raw_response = False
        self._root = self
        self._templates: dict[str, str] = {}
        self._bounds: _Bounds | None = None
        self._base_path = httpx.URL(self.base_url).path.rstrip("/")
        self.observers = Observers(_with_env_logging(observers))
        """This client's subscribers (:meth:`Observers.add` subscribes one more)."""
        self.observers.on_add = self._subscribed
        self._listening = False
        for observer in self.observers.observers:
            self._subscribed(observer)

    def _subscribed(self, observer: Observer) -> None:
        """Hear the gate's events once this client has an observer; tell one that wants to know its client."""
        if not self._listening:
            self._listening = True
            self.gate.listeners.append(self._gate_event)
        bind = getattr(observer, "bind", None)
        if callable(bind):
            bind(self)

    def _gate_event(self, event: Event) -> None:
        self.observers.emit(event if event.vendor else dataclasses.replace(event, vendor=self.vendor))

    def with_options(
        self,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        priority: Priority | None = None,
        max_wait: float | None = None,
        raw_response: bool | None = None,
    ) -> Self:
        """A view of this client whose calls use these settings; it shares the gate, auth, connection pool and
        observers, and its resources (``view.line_items``, ``view.reports``) call through the view.

        Args:
            timeout: wall-clock bound of one attempt, in seconds.
            retry: the retry policy (its ``deadline`` bounds the whole call, gate waits included).
            priority: the priority of every call made through the view, over the resources' own defaults.
            max_wait: the longest a call may wait at the gate, per attempt. When the gate can already tell it will
                not open in time (a cooldown, a budget refilling later) :class:`GateWaitTooLong` is raised at once
                with the predicted wait as ``retry_after``; otherwise it is raised once ``max_wait`` has passed.
            raw_response: keep each reply's ``httpx.Response`` in its metadata
                (``adops_async.response_meta(model).response``).

        Closing a view does nothing: the client it came from owns the connections.
        """
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be positive")
        if max_wait is not None and not max_wait >= 0:
            raise ValueError("max_wait must be zero or more")
        view = copy.copy(self)
        view._owns_http = False
        view.timeout = timeout if timeout is not None else self.timeout
        view.retry = retry if retry is not None else self.retry
        view.priority = priority if priority is not None else self.priority
        view.max_wait = max_wait if max_wait is not None else self.max_wait
        view.raw_response = raw_response if raw_response is not None else self.raw_response
        memo: dict[int, Any] = {id(self): view}
        for name, value in vars(self).items():
            if name not in _SHARED:
                rebound = _rebind(value, self, memo, depth=3)
                if rebound is not value:
                    setattr(view, name, rebound)
        return view

    @property
    def vendor(self) -> str:
        """The vendor's name in errors, events and metrics (its dialect's ``vendor``)."""
        return self.dialect.vendor

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client (if we created it) and let async observers finish what is buffered. Further calls
        raise :class:`ClientClosed`. A view (:meth:`with_options`) closes nothing."""
        if self._closed or self._root is not self:
            return
        self._closed = True
        if self._listening:
            self.gate.listeners.remove(self._gate_event)
            self._listening = False
        await self.observers.aclose()
        if self._owns_http:
            await self.http.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._root._closed else "open"
        return f"<{type(self).__name__} {self.base_url} {state}>"

    def _check_open(self) -> None:
        if self._root._closed:
            raise ClientClosed(f"{type(self).__name__} is closed; open a new one", vendor=self.vendor)

    # -- public entry points -----------------------------------------------------------------------------------

    async def request(self, method: str, url: str, **options: Unpack[CallOptions]) -> Reply:
        """Send one logical request through the pipeline and return the decoded reply; raise a typed error.

        ``options`` are the fields of :class:`Call` (``params``, ``payload``, ``content``, ``priority``, ...).
        """
        reply, _ = await self._exchange(_new_call(method.upper(), url, options))
        return reply

    @asynccontextmanager
    async def stream(self, method: str, url: str, **options: Unpack[CallOptions]) -> AsyncIterator[httpx.Response]:
        """Send a request and hold its gate slot while the caller reads the body (``response.aiter_bytes()``).

        Retries happen before the body is handed over, never after; a body that breaks off while it is read raises
        :class:`TransportError` with the status and request id that had already arrived.
        """
        reply, held = await self._exchange(Call(method.upper(), url, stream=True, **options))
        assert held is not None
        response = reply.response
        failed: BaseException | None = None
        try:
            try:
                try:
                    try:
                        yield response
                    except httpx.TransportError as exc:
                        # The body broke off mid-download: a typed error, never a silently short report.
                        broken = self._transport_failure(response.request, exc, retry_safe=False).error
                        context = broken.context()
                        context["status"] = response.status_code
                        context["request_id"] = self.dialect.request_id(response)
                        raise TransportError(broken.message, **context) from None
                    finally:
                        await _close(response)
                except BaseException as exc:
                    if not await held.slot.__aexit__(type(exc), exc, exc.__traceback__):
                        raise
                else:
                    await held.slot.__aexit__(None, None, None)
            except (QuotaStoreUnavailable, GateWaitTooLong) as exc:
                error = self._gate_error(exc, held.call, response.request, held.trace, held.previous)
                if error is None:
                    raise
                raise error from None
        except BaseException as exc:
            failed = exc
            raise
        finally:
            self._ended(held.trace, held.plan, failed)

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

    async def _exchange(self, call: Call) -> tuple[Reply, _Held | None]:
        """The retry loop around :meth:`_attempt`: renew credentials once when the vendor rejects them, retry where
        the policy says it is safe, else raise the attempt's typed error.

        A plain coroutine, not a context manager: a call that is not streamed pays for neither. A streamed success
        comes back with its slot still held (:class:`_Held`); :meth:`stream` releases it and ends the call."""
        self._check_open()
        plan = _Plan.of(call, self)
        observers = self.observers if self.observers else None
        trace = _Trace(next(_calls), self.dialect.vendor, call.method, self._template(call.url), observers)
        if observers is not None and (route := observers.routes[CallStarted]):
            started = _new_event(CallStarted)  # see _new_event
            started.__init__(  # type: ignore[misc]
                vendor=trace.vendor,
                method=trace.method,
                path=trace.path,
                attempt=trace.attempt,
                call=trace.call,
                kind=plan.kind._value_,
                priority=plan.priority._name_,
                at=plan.started,
            )
            observers.emit(started, route)
        renewed = False
        failed: BaseException | None = None
        previous: _Outcome | None = None
        held: _Held | None = None
        try:
            while True:
                trace.attempt += 1
                credentials = await self.auth.prepare(self) if call.authenticate else None
                result = await self._attempt(call, plan, credentials, trace, previous)
                if not isinstance(result, _Outcome):
                    reply, slot = result
                    reply.meta = self._meta(reply.response, trace)
                    record(reply.meta)
                    if slot is not None:
                        held = _Held(slot, call, plan, trace, previous)
                    return reply, held
                info = result.info
                renew = info is not None and info.renew_auth and call.authenticate and not renewed
                if renew and await self.auth.renew(self, credentials):
                    renewed = True
                    continue
                elapsed = self.clock.now() - plan.started
                delay = self.retry.delay(result.failure, attempt=trace.attempt, elapsed=elapsed)
                if delay is None:
                    raise result.error
                if observers is not None and observers.wants(RetryScheduled):
                    error = result.error
                    reason = type(error).__name__
                    fields = trace.origin() | {"status": error.status, "request_id": error.request_id}
                    observers.emit(RetryScheduled(**fields, delay=delay, reason=reason, at=self.clock.now()))
                logger.info("retrying in %.3f s after %s", delay, result.error)
                await self.clock.sleep_until(self.clock.now() + delay)
                if self.clock.now() >= plan.deadline:  # no time left for another attempt: the last failure stands
                    raise result.error
                previous = result
        except BaseException as exc:
            failed = exc
            raise
        finally:
            if held is None and observers is not None:
                self._ended(trace, plan, failed)

    def _ended(self, trace: _Trace, plan: _Plan, failed: BaseException | None) -> None:
        """The call's end event (when an observer takes it): how many attempts, how long, and how it ended."""
        observers = trace.observers
        if observers is not None and (route := observers.routes[CallEnded]):
            now = self.clock.now()
            error, status, request_id = None, trace.status, trace.request_id
            if failed is not None:
                error = type(failed).__name__
                status, request_id = getattr(failed, "status", None), getattr(failed, "request_id", None)
            ended = _new_event(CallEnded)  # see _new_event
            ended.__init__(  # type: ignore[misc]
                vendor=trace.vendor,
                method=trace.method,
                path=trace.path,
                attempt=trace.attempt,
                call=trace.call,
                attempts=trace.attempt,
                gate_wait=trace.gate_wait,
                elapsed=now - plan.started,
                error=error,
                status=status,
                request_id=request_id,
                at=now,
            )
            observers.emit(ended, route)

    def _meta(self, response: httpx.Response, trace: _Trace) -> ResponseMeta:
        # In field order, positional: vendor, method, path, status, request id, attempts, gate wait, response.
        return ResponseMeta(
            self.dialect.vendor,
            trace.method,
            trace.path,
            response.status_code,
            trace.request_id,
            trace.attempt,
            trace.gate_wait,
            response if self.raw_response else None,
        )

    def _template(self, url: str) -> str:
        """The path of ``url`` relative to the base URL, ids replaced (:func:`~adops_async.observe.path_template`)
        and known secrets masked."""
        templates = self._root._templates
        template = templates.get(url)
        if template is None:
            path = url.split("?", 1)[0].split("#", 1)[0]
            if path.startswith(("http://", "https://")):
                path = httpx.URL(path).path
                if self._base_path and path.startswith(self._base_path + "/"):
                    path = path[len(self._base_path) :]
            template = self.redactor.text(path_template("/" + path.lstrip("/")))
            if len(templates) >= 4096:
                templates.clear()
            templates[url] = template
        return template

    async def _attempt(
        self, call: Call, plan: _Plan, credentials: Any, trace: _Trace, previous: _Outcome | None = None
    ) -> tuple[Reply, Slot | None] | _Outcome:
        """One HTTP attempt: the reply, or the failure the retry loop decides on. When the gate cannot admit a retry
        (``previous`` failed) before the call's deadline, the previous attempt's error is raised: the vendor's own
        failure says more than the gate's prediction.

        In order: wait at the gate (never past the call's deadline), put the credentials on (inside the slot), send
        and read the body within the attempt's wall-clock bound, let the gate observe the response, release the slot,
        decode. A streamed success comes back with its slot, still held: the caller holds it while it reads the body.
        """
        request = self._build(call)
        response: httpx.Response | None = None
        outcome: _Outcome | None = None
        observed_at = sent_at = 0.0
        observers = trace.observers
        deadline = plan.deadline
        if self.max_wait is not None:
            deadline = min(deadline, self.clock.now() + self.max_wait)
        slot = self.gate.slot(plan.kind, plan.priority, deadline=deadline)
        if observers is not None:
            slot.origin = trace.origin
        try:
            await slot.__aenter__()
            try:  # ``async with slot``, written out: a streamed success leaves with the slot held
                sent_at = self.clock.now()
                if slot.blocked:  # it queued (the clock moves a little even when it did not)
                    trace.gate_wait += sent_at - slot.queued_at
                if observers is not None:
                    if slot.blocked and observers.wants(GateWaited):
                        observers.emit(
                            GateWaited(
                                **trace.origin(),
                                wait=sent_at - slot.queued_at,
                                kind=plan.kind._value_,
                                priority=plan.priority._name_,
                                blocked_by=slot.blocked,
                                at=sent_at,
                            )
                        )
                    if observers.routes[RequestSent]:
                        observers.emit(RequestSent(**trace.origin(), at=sent_at))
                if call.authenticate:
                    self.auth.apply(request, credentials)
                bound = min(call.timeout or self.timeout, max(0.0, plan.deadline - sent_at) / self._speed)
                streamed = False
                attempt_scope, ends_at, bounds = _attempt_scope(self._root, bound)
                try:
                    with attempt_scope:
                        self._root.requests_sent += 1
                        try:  # sent here, not in a coroutine of its own: one frame less to resume at every await
                            response = await self.http.send(
                                request, stream=True, follow_redirects=call.follow_redirects
                            )
                        except httpx.TransportError as exc:
                            outcome = self._transport_failure(request, exc, plan.retry_safe)
                        except anyio.get_cancelled_exc_class():
                            # A caller cancelled from outside while the request is on the wire leaves at once, but the
                            # slot keeps its place until the attempt's bound: as far as the client can know, the vendor
                            # is still working on the request.
                            if not attempt_scope.cancel_called:
                                left = max(0.0, ends_at - anyio.current_time())
                                slot.hold_until(self.clock.now() + left * self._speed)
                            raise
                        else:
                            observed_at = self.clock.now()
                            slot.observe(response.status_code, response.headers, at=observed_at)
                            self.auth.observe(response)
                            streamed = call.stream and response.is_success
                            if not streamed:
                                outcome = await self._read_body(response, plan.retry_safe)
                finally:
                    if bounds is not None:
                        bounds.end(attempt_scope)
                if attempt_scope.cancelled_caught:
                    outcome = self._timed_out(request, bound, plan.retry_safe, response)
                elif streamed and response is not None:
                    # The caller reads the body, maybe from an async generator of its own, so no cancel scope may
                    # span it: the stream itself ends with a read timeout once the attempt's bound has passed.
                    response.stream = _BoundedStream(response.stream, ends_at, bound)
                    trace.answered(response.status_code, self.dialect.request_id(response))
                    if observers is not None:
                        self._report(observers, trace, response, None, sent_at)
                    return Reply(response), slot
            except BaseException as exc:
                if not await slot.__aexit__(type(exc), exc, exc.__traceback__):
                    raise
            else:
                await slot.__aexit__(None, None, None)
        except (QuotaStoreUnavailable, GateWaitTooLong) as exc:
            error = self._gate_error(exc, call, request, trace, previous)
            if error is None:
                raise
            raise error from None
        if self.gate.waiting:
            # Let the request we just made way for go out before we spend CPU decoding this one.
            await anyio.lowlevel.checkpoint()
        if outcome is None:
            assert response is not None
            reply, outcome = self._decode(response, plan.codec, plan.retry_safe, observed_at)
            if reply is not None:
                self._log(request, response)
                trace.answered(response.status_code, self.dialect.request_id(response))
                if observers is not None:
                    self._report(observers, trace, response, None, sent_at)
                return reply, None
        assert outcome is not None
        if observers is not None:
            self._report(observers, trace, response, outcome, sent_at)
        return outcome

    def _gate_error(
        self, exc: AdOpsError, call: Call, request: httpx.Request, trace: _Trace, previous: _Outcome | None
    ) -> AdOpsError | None:
        """What to raise for a gate failure (a wait too long, a shared store lost); ``None``: ``exc`` as it is."""
        if exc.vendor:  # raised by a nested call inside a streamed body: already has its context
            return None
        if trace.observers is not None and isinstance(exc, LeaseLostError):
            trace.observers.emit(LeaseLost(**trace.origin(), at=self.clock.now()))
        if isinstance(exc, GateWaitTooLong) and previous is not None:
            return previous.error
        # Raised by the gate, which knows no vendor: say which call could not be metered (and was not sent).
        url = self.redactor.url(request.url)
        return _with_call_context(exc, vendor=self.vendor, method=call.method, url=url)

    def _report(
        self,
        observers: Observers,
        trace: _Trace,
        response: httpx.Response | None,
        outcome: _Outcome | None,
        sent_at: float,
    ) -> None:
        """The events of one attempt's end: a response (and any rate signal in it), or a failure without one."""
        now = self.clock.now()
        if outcome is not None and outcome.info is None:  # no usable response: network, time bound, size cap
            if observers.wants(RequestFailed):
                error = outcome.error
                name = type(error).__name__
                fields = trace.origin() | {"status": error.status, "request_id": error.request_id}
                observers.emit(RequestFailed(**fields, error=name, elapsed=now - sent_at, at=now))
            return
        assert response is not None
        if outcome is not None:  # a success's was read on the way out of the attempt
            trace.answered(response.status_code, outcome.error.request_id)
        status, request_id = trace.status, trace.request_id
        if route := observers.routes[ResponseReceived]:
            received = _new_event(ResponseReceived)  # see _new_event
            received.__init__(  # type: ignore[misc]
                vendor=trace.vendor,
                method=trace.method,
                path=trace.path,
                attempt=trace.attempt,
                call=trace.call,
                status=status,
                request_id=request_id,
                elapsed=now - sent_at,
                at=now,
            )
            observers.emit(received, route)
        if outcome is None:
            return
        failure = outcome.failure
        rate_signal = failure.rate_limited or (failure.status in (429, 503) and failure.retry_after is not None)
        if rate_signal and observers.wants(RateSignal):
            message = outcome.error.message
            observers.emit(
                RateSignal(
                    **trace.origin(),
                    status=status,
                    request_id=request_id,
                    retry_after=failure.retry_after,
                    reason=message,
                    at=now,
                )
            )

    async def _read_body(self, response: httpx.Response, retry_safe: bool) -> _Outcome | None:
        """Read the body into ``response.content`` and close the response; the failure, if the read failed or the
        body is larger than :attr:`max_body_size`."""
        limit = self.max_body_size
        declared = response.headers.get("content-length", "")
        too_large = int(declared) if declared.isdigit() and int(declared) > limit else 0
        chunks: list[bytes] = []
        size = 0
        try:
            if not too_large:
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        too_large = size
                        break
                    chunks.append(chunk)
        except httpx.TransportError as exc:
            return self._transport_failure(response.request, exc, retry_safe)
        finally:
            if not response.is_closed:  # a body read to its end closed it
                await _close(response)
        if too_large:
            return self._too_large(response, too_large, retry_safe)
        response._content = b"".join(chunks)  # what ``aread()`` would set: ``response.content`` works as usual
        return None

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
            response=redact.response(response),  # httpx's own repr would show x-o-api-key, X-VP-AUTH, cookies
            **{name: redact.value(value) for name, value in info.extra.items()},  # ValidationFailed.fields
        )

    def _too_large(self, response: httpx.Response, size: int, retry_safe: bool) -> _Outcome:
        error = DecodeError(
            f"response body of {size} bytes or more exceeds max_body_size ({self.max_body_size} bytes)",
            vendor=self.vendor,
            status=response.status_code,
            code="too_large",
            method=response.request.method,
            url=self.redactor.url(response.request.url),
            request_id=self.dialect.request_id(response),
        )
        return _Outcome(Failure(retry_safe=retry_safe, status=response.status_code), error)

    def _timed_out(
        self, request: httpx.Request, bound: float, retry_safe: bool, response: httpx.Response | None
    ) -> _Outcome:
        """The attempt's wall-clock bound passed: like a read timeout, the vendor may have acted."""
        error = TransportError(
            f"no complete response within {bound:.3g} s (headers and body)",
            vendor=self.vendor,
            status=response.status_code if response is not None else None,
            code="timeout",
            method=request.method,
            url=self.redactor.url(request.url),
            request_id=self.dialect.request_id(response) if response is not None else None,
        )
        return _Outcome(Failure(retry_safe=retry_safe, transport_error=httpx.ReadTimeout(error.message)), error)

    def _transport_failure(self, request: httpx.Request, exc: httpx.TransportError, retry_safe: bool) -> _Outcome:
        message = self.redactor.text(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        error = TransportError(message, vendor=self.vendor, method=request.method, url=self.redactor.url(request.url))
        return _Outcome(Failure(retry_safe=retry_safe, transport_error=exc), error)

    def _log(self, request: httpx.Request, response: httpx.Response) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %s", request.method, self.redactor.url(request.url), response.status_code)


class _BoundedStream(httpx.AsyncByteStream):
    """A streamed body that ends with :class:`httpx.ReadTimeout` once its attempt's wall-clock bound has passed."""

    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, deadline: float, bound: float) -> None:
        assert isinstance(inner, httpx.AsyncByteStream)
        self._inner, self._deadline, self._bound = inner, deadline, bound

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            if anyio.current_time() > self._deadline:
                raise httpx.ReadTimeout(f"the body did not end within the attempt's bound ({self._bound:.3g} s)")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _AsyncioScope:
    """The class of anyio's cancel scopes on asyncio, once one was made."""

    made: type[anyio.CancelScope] | None = None


class _Bounds:
    """The wall-clock bounds of the attempts running on one asyncio loop, kept by one timer.

    A cancel scope with a deadline arms a loop timer of its own, and nearly every attempt ends long before its bound,
    so that timer is made, cancelled and later swept from the loop's heap for nothing: a dozen Python calls per
    request. Here each attempt's scope has no deadline; one timer waits for the earliest bound of the attempts
    running, and when it fires it cancels every attempt past its bound (as the scope's own timer would) and waits for
    the earliest bound left. Attempts that end in time only come and go from a dict.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._running: dict[anyio.CancelScope, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def start(self, scope: anyio.CancelScope, deadline: float) -> None:
        """Cancel ``scope`` at loop time ``deadline`` unless its attempt ends before (:meth:`end`)."""
        self._running[scope] = deadline
        if deadline < self._timer_at:
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = self.loop.call_at(deadline, self._expire), deadline

    def end(self, scope: anyio.CancelScope) -> None:
        """The attempt of ``scope`` is over."""
        self._running.pop(scope, None)

    def _expire(self) -> None:
        now = self.loop.time()
        late = [scope for scope, deadline in self._running.items() if deadline <= now]
        for scope in late:
            del self._running[scope]
            scope.cancel()  # what the scope's own timer does at its deadline
        self._timer, self._timer_at = None, math.inf
        if self._running:
            at = min(self._running.values())
            self._timer, self._timer_at = self.loop.call_at(at, self._expire), at


def _attempt_scope(root: BaseClient, seconds: float) -> tuple[anyio.CancelScope, float, _Bounds | None]:
    """A cancel scope (not entered yet) that ends an attempt after ``seconds``, the event loop time it ends at, and
    on asyncio the :class:`_Bounds` to tell when the attempt is over."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # trio keeps its deadlines itself
        scope = anyio.CancelScope(deadline=anyio.current_time() + seconds)
        return scope, scope.deadline, None
    bounds = root._bounds
    if bounds is None or bounds.loop is not loop:
        bounds = root._bounds = _Bounds(loop)
    if _AsyncioScope.made is None:
        scope = anyio.CancelScope()
        _AsyncioScope.made = type(scope)
    else:
        scope = _AsyncioScope.made()  # anyio.CancelScope() without its two lookups of the running library
    deadline = loop.time() + seconds
    bounds.start(scope, deadline)
    return scope, deadline, bounds


async def _close(response: httpx.Response) -> None:
    """Close a response even when the caller was cancelled, so its connection is never left half read."""
    if response.is_closed:  # a body read to its end closed it: no cancel scopes to pay for
        return
    with anyio.CancelScope(shield=True), anyio.move_on_after(5):
        await response.aclose()


@functools.cache
def _default_tls_context() -> ssl.SSLContext:
    """The TLS context of every ``httpx.AsyncClient`` a client makes for itself: httpx's default (``SSL_CERT_FILE``,
    ``SSL_CERT_DIR`` or certifi's bundle), made once per process.

    Loading the CA bundle costs tens of milliseconds of CPU, which httpx pays for every ``AsyncClient``; a service
    that makes a client per tenant or per job paid it each time. One context is safe to share: the clients differ
    only in what they send, and every one of them speaks HTTP/1.1 (httpcore sets the ALPN list per connection).
    """
    return httpx.create_ssl_context()


def _with_env_logging(observers: Iterable[Observer]) -> list[Observer]:
    """``observers``, with a log observer at the level of ``ADOPS_LOG`` (read now) unless one is there."""
    given = list(observers)
    level = os.environ.get(LOG_ENV, "").strip().lower()
    if level in ("info", "debug") and not any(isinstance(o, LogObserver) for o in given):
        given.append(LogObserver.from_environment("debug" if level == "debug" else "info"))
    return given


def _rebind(value: Any, client: BaseClient, memo: dict[int, Any], depth: int) -> Any:
    """``value``, or a shallow copy of it that calls through the view ``memo[id(client)]`` wherever it (or an
    object of this package it holds, ``depth`` levels down) held ``client``."""
    if id(value) in memo:
        return memo[id(value)]
    if depth == 0 or isinstance(value, BaseClient) or not type(value).__module__.startswith("adops_async."):
        return value
    attributes = getattr(value, "__dict__", None)
    if not attributes:
        return value
    memo[id(value)] = value  # a cycle back to it keeps the original
    changed = {
        name: new for name, old in attributes.items() if (new := _rebind(old, client, memo, depth - 1)) is not old
    }
    if not changed:
        return value
    clone = copy.copy(value)
    clone.__dict__.update(changed)
    memo[id(value)] = clone
    return clone


def _with_call_context(exc: AdOpsError, **context: Unpack[ErrorContext]) -> AdOpsError:
    """The same error raised by the gate, now naming the call it stopped."""
    if isinstance(exc, GateWaitTooLong):
        return GateWaitTooLong(exc.message, retry_after=exc.retry_after, **context)
    return type(exc)(exc.message, **context)
