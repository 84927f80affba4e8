"""How the Pulse API says "error", and what its 503 means.

Sources (docs/vendors/pulsepro.md, PP-INTRO, the "Pulse API" Postman collection description):

* "If the API request results in an error, it is represented by an ``"error": {}`` key in the JSON response", with
  4XX for client errors and 5XX for server errors. The keys inside ``error`` are not documented, so the decoder reads
  the usual ones (``code``/``type``, ``message``/``detail``/``description``, ``fields``/``errors``) and keeps the rest
  in the message rather than guessing.
* "If you receive a 503 response from our servers, it implies that we have hit an unexpected spike in API access
  traffic and would usually be operational within the next 5 minutes": the request was refused before anything was
  done, so such a 503 is retryable for writes too, and pauses every task like a rate signal. Only when it is *their*
  503, though: one that carries the vendor's error body (an ``"error"`` object with a ``code`` or ``message``). A
  load balancer or proxy in front of the API answers 503 with its own page (HTML, empty, other JSON), and may do so
  after the write went through: that 503 is an ordinary :class:`ServerError` and a non-idempotent write is not
  resent (a second creation is worse than a typed error).
* 429 with ``Retry-After`` when the token bucket is empty (the format is not stated; delta-seconds and HTTP-dates
  are both read by the core).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from ...core.dialect import Dialect, ErrorInfo, error_class_for
from ...core.errors import (
    AdOpsError,
    AuthError,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from ...core.headers import parse_retry_after

__all__ = ["PulseProDialect"]

_CODE_KEYS = ("code", "type", "error_code", "status")
_MESSAGE_KEYS = ("message", "detail", "description", "error_description", "msg")


class PulseProDialect(Dialect):
    """JSON everywhere; errors in an ``"error"`` object; the vendor's own 503 means the request was not acted on.

    A 429 is a refusal whoever sends it (RFC 6585), so it is never "may have been applied", body or not.
    """

    vendor: ClassVar[str] = "pulsepro"
    request_id_headers: ClassVar[tuple[str, ...]] = (
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "x-amzn-requestid",
    )

    def error_for(self, response: httpx.Response, data: Any) -> ErrorInfo | None:
        status = response.status_code
        error = data.get("error") if isinstance(data, Mapping) else None
        if status < 400:
            # The docs make the "error" key *the* error signal, so a 200 carrying a non-empty one is a failure too.
            if not error:
                return None
            code, message, fields = _read_error(error)
            return ErrorInfo(_class_for_code(code, ValidationFailed if fields else AdOpsError), message, code=code)
        code, message, fields = _read_error(error) if error else (None, self.message_of(response, data), {})
        if status == 429:
            retry_after = parse_retry_after(response.headers)
            return ErrorInfo(
                RateLimited,
                message,
                code=code,
                rate_limited=True,
                retry_after=retry_after,
                extra={"retry_after": retry_after},
            )
        if status == 503 and _vendor_error(error):
            # A traffic spike turned the call away: nothing was done, and every task should hold back.
            retry_after = parse_retry_after(response.headers)
            message = f"traffic spike, nothing was done ({message})"
            return ErrorInfo(ServerError, message, code=code, rate_limited=True, retry_after=retry_after)
        error_class = error_class_for(status)
        extra: dict[str, Any] = {"fields": fields} if error_class is ValidationFailed and fields else {}
        if status >= 500 and not _vendor_error(error):
            message = (
                f"HTTP {status} without PulsePro's error body (a proxy?); a write may have been applied ({message})"
            )
        return ErrorInfo(error_class, message, code=code, extra=extra)


def _vendor_error(error: Any) -> bool:
    """The body is PulsePro's own error (``{"error": {"code": ..., "message": ...}}``), not an intermediary's page."""
    return isinstance(error, Mapping) and any(isinstance(error.get(k), str) and error[k] for k in ("code", "message"))


def _read_error(error: Any) -> tuple[str | None, str, dict[str, list[str]]]:
    """``(code, message, field messages)`` from the value of the ``"error"`` key (an object, or a bare string)."""
    if isinstance(error, str):
        return None, error, {}
    if not isinstance(error, Mapping):
        return None, str(error), {}
    code = next((str(error[k]) for k in _CODE_KEYS if isinstance(error.get(k), (str, int))), None)
    message = next((str(error[k]) for k in _MESSAGE_KEYS if isinstance(error.get(k), str) and error[k]), None)
    fields: dict[str, list[str]] = {}
    for key in ("fields", "errors", "field_errors"):
        value = error.get(key)
        if isinstance(value, Mapping):
            for name, msgs in value.items():
                fields[str(name)] = [str(m) for m in msgs] if isinstance(msgs, list) else [str(msgs)]
    if message is None:
        rest = {k: v for k, v in error.items() if k not in _CODE_KEYS}
        message = str(rest) if rest else (code or "error")
    return code, message, fields


def _class_for_code(code: str | None, default: type[AdOpsError]) -> type[AdOpsError]:
    """A typed error for the few codes whose meaning is plain from their name (the code list is not published)."""
    if code is None:
        return default
    lowered = code.lower()
    for words, error_class in (
        (("unauthor", "invalid_api_key", "authentication"), AuthError),
        (("forbidden", "permission"), PermissionDenied),
        (("not_found", "notfound"), NotFound),
        (("rate", "throttl"), RateLimited),
        (("validation", "invalid"), ValidationFailed),
    ):
        if any(word in lowered for word in words):
            return error_class
    return default
