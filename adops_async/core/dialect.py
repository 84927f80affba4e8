"""How a vendor speaks HTTP: its codec, which calls it treats as idempotent, and how it says "error".

The default :class:`Dialect` reads the HTTP status the usual way. Vendors subclass it where they differ (AppNexus puts
errors in 200 bodies; Adnuntius sends Translatable Messages; PulsePro's own 503 means nothing was done).

"Nothing was done" lets a non-idempotent write be sent again, so it is trusted only where it cannot come from a proxy
or load balancer that answered after the write went through: a 429 (a refusal by definition, RFC 6585, whoever
sends it), and a vendor signal recognised by the vendor's own body shape or header (PulsePro's ``"error"`` object,
AppNexus' ``x-ratelimit-code``). A 5xx without it means "may have been applied": the write is not resent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from .codecs import Codec
from .errors import (
    AdOpsError,
    AuthError,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from .headers import parse_retry_after

__all__ = ["STATUS_ERRORS", "Dialect", "ErrorInfo", "error_class_for"]


@dataclass(frozen=True)
class ErrorInfo:
    """A vendor's verdict on a response: which error to raise and what the pipeline should do about it."""

    error_class: type[AdOpsError]
    """The :class:`~adops_async.AdOpsError` subclass to raise."""
    message: str
    """The vendor's explanation, for the error's message."""
    code: str | None = None
    """The vendor's error code, if it gave one."""
    rate_limited: bool = False
    """Close the gate for every task and retry (the vendor refused without acting)."""
    retry_after: float | None = None
    """Seconds the vendor asked to wait before a retry, when it said."""
    renew_auth: bool = False
    """The credentials were rejected; a fresh login may help (once per call)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments for the error class (``fields`` of :class:`ValidationFailed`, ...)."""


STATUS_ERRORS: Mapping[int, type[AdOpsError]] = {
    400: ValidationFailed,
    401: AuthError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    410: NotFound,
    422: ValidationFailed,
    429: RateLimited,
}


def error_class_for(status: int) -> type[AdOpsError]:
    """The error an HTTP status means when the vendor says nothing more precise."""
    return STATUS_ERRORS.get(status, ServerError if status >= 500 else AdOpsError)


class Dialect:
    """Plain HTTP semantics; subclass per vendor."""

    vendor: ClassVar[str] = "http"
    """The vendor's name in errors, events and metrics."""
    codec: ClassVar[Codec | None] = None
    """The vendor's codec; ``None``: JSON."""
    idempotent_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
    """HTTP methods that may be sent again once the server may have acted on them."""
    not_acted_statuses: ClassVar[frozenset[int]] = frozenset({429})
    """Statuses that mean the server did nothing, whoever answers them, so even a non-idempotent write may be sent
    again. Only statuses no intermediary sends after forwarding belong here; a vendor's own "nothing was done" that
    needs its body to be told apart is an :class:`ErrorInfo` with ``rate_limited``."""
    request_id_headers: ClassVar[tuple[str, ...]] = ("x-request-id", "request-id", "x-correlation-id")
    """Response headers that carry the vendor's request id, the first present wins."""

    def idempotent(self, method: str) -> bool:
        """Whether a call of ``method`` may be repeated even if the server acted on it."""
        return method.upper() in self.idempotent_methods

    def request_id(self, response: httpx.Response) -> str | None:
        """The vendor's request id of a response (for support tickets), or ``None``."""
        headers = response.headers
        # One pass over the raw names, where each ``name in headers`` would make its own: a call without an id (the
        # usual case for some vendors) asks for every name.
        present = {name.lower() for name, _ in headers.raw}
        for name in self.request_id_headers:
            if name.lower().encode() in present:
                return headers[name]
        return None

    def error_for(self, response: httpx.Response, data: Any) -> ErrorInfo | None:
        """``None`` for success, else what went wrong. ``data`` is the decoded body (``None`` if unreadable)."""
        status = response.status_code
        if status < 400:
            return None
        message = self.message_of(response, data)
        if status == 429:
            retry_after = parse_retry_after(response.headers)
            return ErrorInfo(RateLimited, message, rate_limited=True, extra={"retry_after": retry_after})
        error_class = error_class_for(status)
        return ErrorInfo(error_class, message, renew_auth=status == 401)

    def message_of(self, response: httpx.Response, data: Any) -> str:
        """The vendor's explanation: a ``message``/``error``/``detail`` field, else the start of the body."""
        if isinstance(data, Mapping):
            for key in ("message", "error_description", "detail", "error"):
                value = data.get(key)
                if isinstance(value, str) and value:
                    return value
                if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                    return str(value["message"])
        text = response.text.strip() if response.content else ""
        return text[:200] or response.reason_phrase or f"HTTP {response.status_code}"
