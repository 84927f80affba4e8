"""How Adnuntius says "error": Translatable Messages, validation messages, and 429 + Retry-After.

Source: docs/vendors/adnuntius.md ("API Responses"). Every error carries Translatable Messages with ``type``
(``ErrorMessage`` or ``ValidationErrorMessage``), ``code``, ``text`` (with ``{{param}}`` placeholders) and ``params``.
The wrapper around them is not documented, so we accept one message, a list of them, or an object holding a list
under ``errors``/``messages``/``validationErrors``. ``params`` is a map in the likely reading of the seed's (invalid
JSON) example; a list of one-entry maps or of ``{name, value}`` pairs is accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from ...core.dialect import Dialect, ErrorInfo, error_class_for
from ...core.errors import (
    RateLimited,
    ValidationFailed,
)
from ...core.headers import parse_retry_after, sane_wait

__all__ = ["AdnuntiusDialect", "messages_of", "render"]

_PLACEHOLDER = re.compile(r"\{\{\s*([\w.-]+)\s*\}\}")
_SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)", re.IGNORECASE)
_TWO_FACTOR_SCOPES = frozenset({"TWO_FACTOR_AUTH", "FORCED_TWO_FACTOR_AUTH"})


def params_of(message: Mapping[str, Any]) -> dict[str, str]:
    """A message's ``params`` as a flat name -> text map, whatever shape the vendor used."""
    raw = message.get("params")
    found: dict[str, str] = {}
    if isinstance(raw, Mapping):
        found.update({str(k): str(v) for k, v in raw.items()})
    elif isinstance(raw, list):
        for entry in raw:
            if isinstance(entry, Mapping) and "name" in entry and "value" in entry:
                found[str(entry["name"])] = str(entry["value"])
            elif isinstance(entry, Mapping):
                found.update({str(k): str(v) for k, v in entry.items()})
    return found


def render(message: Mapping[str, Any]) -> str:
    """The message's ``text`` with every ``{{param}}`` filled (an unknown placeholder stays as it is)."""
    text = message.get("text")
    if not isinstance(text, str) or not text:
        code = message.get("code")
        return str(code) if code else ""
    params = params_of(message)
    return _PLACEHOLDER.sub(lambda m: params.get(m[1], m[0]), text)


def messages_of(data: Any) -> list[Mapping[str, Any]]:
    """Every Translatable Message in a body (see the module docs for the shapes accepted)."""
    if isinstance(data, Mapping):
        if "text" in data or ("code" in data and "type" in data):
            return [data]
        for key in ("errors", "messages", "validationErrors", "validationErrorMessages"):
            inner = data.get(key)
            if isinstance(inner, list):
                return [m for m in inner if isinstance(m, Mapping)]
        return []
    if isinstance(data, list):
        return [m for m in data if isinstance(m, Mapping) and ("text" in m or "code" in m)]
    return []


def field_of(message: Mapping[str, Any]) -> str:
    """The field a validation message is about (``field``/``property``/``path``, or the same in ``params``)."""
    params = params_of(message)
    for key in ("field", "property", "path", "fieldName"):
        value = message.get(key) or params.get(key)
        if value:
            return str(value)
    return "_object"


class AdnuntiusDialect(Dialect):
    """Adnuntius: JSON, PUT = POST (upserts are idempotent), Translatable Message errors.

    When a 429 has no ``Retry-After`` header but its text says how many seconds to wait (ADN-INTRO: "along with a
    Retry-After header and text message explaining how many seconds you must wait"), the body's figure becomes the
    ``retry_after`` that closes the gate for every task.
    """

    vendor: ClassVar[str] = "adnuntius"
    idempotent_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
    request_id_headers: ClassVar[tuple[str, ...]] = ("x-request-id", "x-adn-request-id", "request-id")

    def error_for(self, response: httpx.Response, data: Any) -> ErrorInfo | None:
        status = response.status_code
        if status < 400:
            return None
        if status == 401 and isinstance(data, Mapping) and data.get("scope") in _TWO_FACTOR_SCOPES:
            return None  # the first step of a 2FA login: a temporary token, not a failure (ADN-TOOLS api.py)
        messages = messages_of(data)
        texts = [render(m) for m in messages]
        message = "; ".join(t for t in texts if t) or self.message_of(response, data)
        code = next((str(m["code"]) for m in messages if m.get("code")), None)
        if status == 429:
            wait = parse_retry_after(response.headers)
            if wait is None:
                wait = self._seconds_in(messages, message)
            return ErrorInfo(
                RateLimited, message, code=code, rate_limited=True, retry_after=wait, extra={"retry_after": wait}
            )
        validation = [m for m in messages if str(m.get("type", "")).startswith("Validation")]
        if validation and status < 500:
            fields: dict[str, list[str]] = {}
            for item in validation:
                fields.setdefault(field_of(item), []).append(render(item))
            return ErrorInfo(ValidationFailed, "validation failed", code=code, extra={"fields": fields})
        error_class = error_class_for(status)
        return ErrorInfo(error_class, message, code=code, renew_auth=status == 401)

    @staticmethod
    def _seconds_in(messages: list[Mapping[str, Any]], text: str) -> float | None:
        for item in messages:
            for key in ("seconds", "retryAfter", "retry_after", "wait"):
                value = params_of(item).get(key)
                if value is not None:
                    try:
                        wait = float(value)
                    except ValueError:
                        continue
                    if sane_wait(wait) is None:  # the header's bounds: never a wait that is infinite or absurd
                        return wait
        match = _SECONDS.search(text)
        return float(match[1]) if match and sane_wait(float(match[1])) is None else None
