"""The exception hierarchy: every failure a caller can see is an :class:`AdOpsError`.

Each error says which vendor, which HTTP status, the vendor's own error code, the message, the request id when the
vendor sends one, and the request's method and URL with secrets removed. The text is built once, already redacted,
so ``str(error)``, ``repr(error)`` and logged tracebacks are safe to ship to a log aggregator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import httpx
from typing_extensions import Unpack

__all__ = [
    "AdOpsError",
    "AuthError",
    "ClientClosed",
    "Conflict",
    "DecodeError",
    "ErrorContext",
    "GateWaitTooLong",
    "IncompleteData",
    "IntegrityError",
    "InvalidCredential",
    "LeaseLost",
    "NotFound",
    "PermissionDenied",
    "QuotaExceeded",
    "QuotaStoreUnavailable",
    "RateLimited",
    "ServerError",
    "TransportError",
    "ValidationFailed",
]

#: How much of an error body an exception keeps: enough to read the vendor's explanation, bounded for memory.
BODY_LIMIT = 8192


class ErrorContext(TypedDict, total=False):
    """Where an error happened; the keyword arguments every :class:`AdOpsError` accepts besides its message."""

    vendor: str
    """As :attr:`AdOpsError.vendor`."""
    status: int | None
    """As :attr:`AdOpsError.status`."""
    code: str | None
    """As :attr:`AdOpsError.code`."""
    method: str | None
    """As :attr:`AdOpsError.method`."""
    url: str | None
    """As :attr:`AdOpsError.url`."""
    request_id: str | None
    """As :attr:`AdOpsError.request_id`."""
    body: str | None
    """As :attr:`AdOpsError.body`."""
    response: httpx.Response | None
    """As :attr:`AdOpsError.response`."""


class AdOpsError(Exception):
    """Root of every error raised by adops-async.

    Attributes:
        vendor: which platform answered (``"appnexus"``, ``"adnuntius"``, ...).
        status: the HTTP status, or ``None`` when no response arrived.
        code: the vendor's error code (AppNexus ``error_id``, Adnuntius ``code``, Ooyala ``type``, PulsePro key).
        message: the vendor's explanation, or ours.
        method, url: the request, with secrets removed from the URL.
        request_id: the vendor's request id header, for support tickets.
        body: the start of the response body (at most ``BODY_LIMIT`` characters, secrets removed).
        response: the :class:`httpx.Response`, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        status: int | None = None,
        code: str | None = None,
        method: str | None = None,
        url: str | None = None,
        request_id: str | None = None,
        body: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.message = message
        self.vendor = vendor
        self.status = status
        self.code = code
        self.method = method
        self.url = url
        self.request_id = request_id
        self.body = body[:BODY_LIMIT] if body is not None else None
        self.response = response
        super().__init__(self._describe())

    def _describe(self) -> str:
        head = " ".join(
            part
            for part in (
                self.vendor or None,
                str(self.status) if self.status is not None else None,
                self.code,
            )
            if part
        )
        text = f"{head}: {self.message}" if head else self.message
        if self.method and self.url:
            text += f" ({self.method} {self.url})"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"

    def context(self) -> ErrorContext:
        """Where this error happened, to build another error about the same exchange."""
        return ErrorContext(
            vendor=self.vendor,
            status=self.status,
            code=self.code,
            method=self.method,
            url=self.url,
            request_id=self.request_id,
            body=self.body,
            response=self.response,
        )


class TransportError(AdOpsError):
    """The request could not be completed on the network (connect failure, timeout, reset, bad HTTP)."""


class ClientClosed(AdOpsError):
    """The client was used after ``aclose()`` / leaving its ``async with`` block."""


class DecodeError(AdOpsError):
    """The vendor answered with a body we cannot read (malformed JSON/XML, refused XML entities, wrong shape)."""


class IncompleteData(DecodeError):
    """The vendor announced more than it delivered: a walk or a download ended short of the vendor's own count.

    Silent loss is the worst failure a client can have, so a short result is never returned as if it were whole.
    :attr:`expected` is what the vendor announced (entities or rows), :attr:`seen` what arrived.
    """

    def __init__(
        self, message: str, *, expected: int | None = None, seen: int = 0, **context: Unpack[ErrorContext]
    ) -> None:
        self.expected = expected
        """What the vendor announced (entities or rows), or ``None`` when it announced no count."""
        self.seen = seen
        """What arrived."""
        super().__init__(message, **context)


class AuthError(AdOpsError):
    """Credentials are missing, wrong, expired for good, or a login kept failing."""


class InvalidCredential(AuthError, ValueError):
    """A credential given to a client cannot be sent as it is: a control character (such as the newline a file ends
    with), or a character an HTTP header cannot carry. Raised at construction, before any request.

    The message names the parameter (:attr:`field`, e.g. ``"api_key"``), never the value. An :class:`AuthError` (the
    credential is unusable) and a :class:`ValueError` (a constructor argument was refused), so either ``except``
    catches it.
    """

    def __init__(self, message: str, *, field: str, **context: Unpack[ErrorContext]) -> None:
        self.field = field
        """The parameter that held the credential (``"api_key"``, ``"password"``)."""
        super().__init__(message, **context)


class PermissionDenied(AdOpsError):
    """Authenticated, but not allowed to do this."""


class NotFound(AdOpsError):
    """The object or endpoint does not exist."""


class ValidationFailed(AdOpsError):
    """The vendor rejected the payload; :attr:`fields` maps a field name to its messages."""

    def __init__(
        self, message: str, *, fields: Mapping[str, Sequence[str]] | None = None, **context: Unpack[ErrorContext]
    ) -> None:
        self.fields: dict[str, list[str]] = {name: list(msgs) for name, msgs in (fields or {}).items()}
        """The vendor's messages per field name; empty when it named no field."""
        if self.fields:
            details = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in self.fields.items())
            message = f"{message} ({details})"
        super().__init__(message, **context)


class Conflict(AdOpsError):
    """The request conflicts with the object's current state."""


class IntegrityError(Conflict):
    """A referential or uniqueness rule of the vendor was broken (AppNexus ``INTEGRITY``)."""


class QuotaExceeded(AdOpsError):
    """An object-count quota of the account was reached (AppNexus ``LIMIT``, Ooyala template quota)."""


class RateLimited(AdOpsError):
    """The vendor refused the call for rate reasons and retrying did not help within the policy.

    :attr:`retry_after` is the wait the vendor asked for, in seconds, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **context: Unpack[ErrorContext]) -> None:
        self.retry_after = retry_after
        """The wait the vendor asked for, in seconds, or ``None`` when it did not say."""
        super().__init__(message, **context)


class GateWaitTooLong(RateLimited):
    """The call would have to wait at the gate past its deadline, so it was not queued (or stopped waiting): nothing
    was sent. :attr:`retry_after` is the gate's prediction of when a call could go, when it can tell (a cooldown the
    vendor asked for, a budget that refills at a known time), else ``None``.

    Raised at once when the prediction already exceeds the deadline, and at the deadline otherwise; never later.
    """


class QuotaStoreUnavailable(AdOpsError):
    """The shared quota store (Redis) did not answer, so the request was not sent: never an unmetered call.

    Raised with ``on_store_error="fail"`` (the default); ``"local"`` meters a conservative share locally instead.
    """


class LeaseLost(QuotaStoreUnavailable):
    """A shared :class:`~adops_async.gates.Serial` lease could not be renewed, so the request was stopped before the
    lease ran out (another process may hold the slot next)."""


class ServerError(AdOpsError):
    """The vendor failed (5xx, or its own ``SYSTEM`` error)."""
