"""How AppNexus says "error": in the body, whatever the HTTP status (docs/vendors/appnexus.md).

The API puts ``error_id`` (and sometimes ``error_code``) inside the ``{"response": {...}}`` envelope. It does so with
HTTP 200 as well: a GET of a deleted object answers ``200`` + ``SYNTAX`` / "resource not found", and the 15-concurrent
rule answers ``200`` + an error payload. So every response is read, and the status only decides when the body says
nothing.

Rate limiting has several documented eras, and a real account may meet any of them, so all are signals:

* ``429`` (+ ``Retry-After``), the sandbox and the 2023 throttling page;
* ``405`` + ``RATE_EXCEEDED`` (production before 2016, SIMP PR #11);
* ``SYSTEM`` + ``error_code: RATE_EXCEEDED`` in any status, 200 included (ANX);
* ``503`` + ``x-ratelimit-code`` (XDOC 2025: the service is overwhelmed; a bare 503 is an ordinary server error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from ...core.dialect import Dialect, ErrorInfo
from ...core.errors import (
    AdOpsError,
    AuthError,
    IntegrityError,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from ...core.headers import parse_retry_after

__all__ = ["ERROR_CLASSES", "AppNexusDialect", "envelope"]

ERROR_CLASSES: Mapping[str, type[AdOpsError]] = {
    "NOAUTH": AuthError,
    "NOAUTH_DISABLED": AuthError,
    "NOAUTH_EXPIRED": AuthError,
    "UNAUTH": PermissionDenied,
    "SYNTAX": ValidationFailed,
    "INTEGRITY": IntegrityError,
    "LIMIT": QuotaExceeded,
    "SYSTEM": ServerError,
}
"""``error_id`` -> the typed error it raises (XDOC api-semantics). ``SYNTAX`` + "not found" becomes
:class:`NotFound`."""

_RATE_CODES = frozenset({"RATE_EXCEEDED"})


def envelope(data: Any) -> Mapping[str, Any]:
    """The inside of ``{"response": {...}}`` (an empty mapping when the body has another shape)."""
    if isinstance(data, Mapping):
        inner = data.get("response")
        if isinstance(inner, Mapping):
            return inner
    return {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class AppNexusDialect(Dialect):
    """AppNexus error decoding.

    Args:
        rate_wait: seconds to pause every task after a rate signal that names no ``Retry-After`` (a 405 or a 200 body).
            The API's window is a minute, but a refused call was not counted, so a short pause then the gate's own
            quota is enough.
    """

    vendor: ClassVar[str] = "appnexus"
    # PUT is partial and idempotent, except with ``append=true``: the resource passes ``retry_safe=False`` then.
    idempotent_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
    request_id_headers: ClassVar[tuple[str, ...]] = ("x-an-requestid", "x-request-id")

    def __init__(self, *, rate_wait: float = 1.0) -> None:
        self.rate_wait = rate_wait
        """Seconds every task pauses after a rate signal that names no ``Retry-After``."""

    def error_for(self, response: httpx.Response, data: Any) -> ErrorInfo | None:
        status = response.status_code
        body = envelope(data)
        error_id = _text(body.get("error_id"))
        error_code = _text(body.get("error_code"))
        message = _text(body.get("error")) or _text(body.get("error_description")) or ""
        if self._rate_signal(response, error_id, error_code):
            wait = parse_retry_after(response.headers)
            wait = wait if wait is not None else self.rate_wait
            return ErrorInfo(
                RateLimited,
                message or f"rate limit exceeded (HTTP {status})",
                code=error_code or error_id or str(status),
                rate_limited=True,
                retry_after=wait,
                extra={"retry_after": wait},
            )
        if error_id is not None:
            return self._by_error_id(error_id, message or error_id, error_code)
        if status == 401:
            return ErrorInfo(AuthError, message or "not authenticated", code="NOAUTH", renew_auth=True)
        return super().error_for(response, data)

    @staticmethod
    def _rate_signal(response: httpx.Response, error_id: str | None, error_code: str | None) -> bool:
        status = response.status_code
        rate_code = error_code in _RATE_CODES
        if status == 429 or (status == 405 and (rate_code or error_id is None)):
            return True
        if error_id == "SYSTEM" and rate_code:
            return True
        return status == 503 and "x-ratelimit-code" in response.headers

    @staticmethod
    def _by_error_id(error_id: str, message: str, error_code: str | None) -> ErrorInfo:
        error_class = ERROR_CLASSES.get(error_id, AdOpsError)
        if error_id == "SYNTAX" and "not found" in message.lower():
            error_class = NotFound
        if error_id == "LIMIT":
            message = f"limit reached: {message}"
        # Only a plain NOAUTH is worth a fresh login: a disabled account or an expired password stays refused.
        if error_code:
            message = f"{message} ({error_code})"
        return ErrorInfo(error_class, message, code=error_id, renew_auth=error_id == "NOAUTH")
