"""How Ooyala Pulse speaks HTTP: XML beans on the Booking API, JSON elsewhere, and ``{"type", "message"}`` errors.

Sources (docs/vendors/ooyala.md): XML beans, ``<collection>`` lists, a create answers the id as plain text; the error
body is ``{"type": "ForbiddenError", "message": "..."}`` (whether Booking errors are JSON or XML is not documented, so
both are read, and so is an empty body).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from ...core.codecs import Codec, JsonCodec, XmlCodec
from ...core.dialect import Dialect, ErrorInfo, error_class_for
from ...core.errors import (
    AdOpsError,
    AuthError,
    Conflict,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
    RateLimited,
    ServerError,
    ValidationFailed,
)

__all__ = ["BOOKING_CODEC", "JSON_CODEC", "TEXT_CODEC", "OoyalaDialect", "ReportFailed", "TemplateQuotaExceeded"]


class TemplateQuotaExceeded(QuotaExceeded, PermissionDenied):
    """The account's targeting-template quota is used up (a 403 ``ForbiddenError``, docs/vendors/ooyala.md).

    It is both a :class:`QuotaExceeded` (what happened) and a :class:`PermissionDenied` (what the vendor said).
    """


class ReportFailed(AdOpsError):
    """A report or forecast job ended in ``FAILED`` (the vendor answers it with a 200, so the body tells)."""


class TextCodec(Codec):
    """Plain text bodies: the id a Booking create returns, and the login redirect's (ignored) page."""

    content_type = "text/plain"

    def encode(self, payload: Any) -> bytes:
        return str(payload).encode()

    def decode(self, body: bytes) -> Any:
        return body.decode("utf-8", errors="replace").strip() or None


#: Elements that are lists even with one child, so a one-item ``<collection>`` is still a list.
_LISTS = (
    "campaignBean",
    "goalBean",
    "clientBean",
    "notificationBeans",
    "entry",
    "content",
    "tags",
    "locations",
    "days",
    "relatedResources",
)
BOOKING_CODEC = XmlCodec(force_list=_LISTS)
JSON_CODEC = JsonCodec()
TEXT_CODEC = TextCodec()
_ERROR_XML = XmlCodec()

# Ooyala names its errors by ``type``; only ForbiddenError is documented, the rest are the usual Java names.
_BY_TYPE: Mapping[str, type[AdOpsError]] = {
    "ForbiddenError": PermissionDenied,
    "UnauthorizedError": AuthError,
    "AuthenticationError": AuthError,
    "NotFoundError": NotFound,
    "BadRequestError": ValidationFailed,
    "ValidationError": ValidationFailed,
    "ConflictError": Conflict,
    "TooManyRequestsError": RateLimited,
    "InternalServerError": ServerError,
}


def error_body(content: bytes) -> tuple[str | None, str | None]:
    """``(type, message)`` from a JSON, XML or text error body; ``(None, None)`` when it is empty."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return None, None
    if text.startswith(("{", "[")):
        try:
            data = JSON_CODEC.decode(content)  # bounded nesting, like every body we decode
        except ValueError:
            return None, text[:500]
        if isinstance(data, Mapping):
            kind, message = data.get("type"), data.get("message") or data.get("error")
            return (str(kind) if kind else None), (str(message) if message else None)
        return None, text[:500]
    if text.startswith("<") and b"<!ENTITY" not in content:
        try:
            data = _ERROR_XML.decode(content)
        except ValueError:
            return None, text[:500]
        root = next(iter(data.values()), None) if isinstance(data, Mapping) else None
        if isinstance(root, Mapping):
            kind = root.get("type") or root.get("@type")
            message = root.get("message") or root.get("description") or root.get("#text")
            return (str(kind) if kind else None), (str(message) if message else None)
        return None, (str(root) if root else None)
    return None, text[:500]


class OoyalaDialect(Dialect):
    """Ooyala Pulse errors. A 401 is worth a fresh login only with a login session (``legacy``): a bad API key is
    permanent (OOY-WEB: "Authenticating with an invalid API key returns 401 Unauthorized")."""

    vendor: ClassVar[str] = "ooyala"
    codec: ClassVar[Codec | None] = BOOKING_CODEC
    idempotent_methods: ClassVar[frozenset[str]] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

    def __init__(self, *, legacy: bool = False) -> None:
        self.legacy = legacy
        """Whether the client logs in with a session (a 401 is then worth one fresh login)."""

    def error_for(self, response: httpx.Response, data: Any) -> ErrorInfo | None:
        status = response.status_code
        if status < 400:
            return None
        kind, message = error_body(response.content)
        message = message or response.reason_phrase or f"HTTP {status}"
        error_class = _BY_TYPE.get(kind or "") or error_class_for(status)
        if error_class is PermissionDenied and "of your" in message and "templates" in message:
            error_class = TemplateQuotaExceeded  # "You have used 5 (100%) of your 5 templates. ..."
        if status == 429 or error_class is RateLimited:
            return ErrorInfo(RateLimited, message, code=kind, rate_limited=True)
        return ErrorInfo(error_class, message, code=kind, renew_auth=status == 401 and self.legacy)
