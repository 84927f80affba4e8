"""Pieces of the Adnuntius sandbox: Translatable Messages, the per-token rate limit, multipart parsing, validation."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._base import Response

OBJECT_STATES = ("ACTIVE", "INACTIVE", "HIDDEN")
READ_ONLY = frozenset({"url", "createUser", "createTime", "updateUser", "updateTime", "validationWarnings", "network"})
#: reference fields checked on write: field -> the resource the id must exist in
REFERENCES: Mapping[str, str] = {
    "advertiser": "advertisers",
    "order": "orders",
    "lineItem": "lineitems",
    "team": "teams",
    "site": "sites",
    "layout": "layouts",
    "tier": "tiers",
}
REQUIRED: Mapping[str, tuple[str, ...]] = {"users": ("username",), "assets": ()}


def message(kind: str, code: str, text: str, **params: Any) -> dict[str, Any]:
    """A Translatable Message (SEED-004): ``text`` keeps its ``{{param}}`` placeholders, ``params`` fills them."""
    return {"type": kind, "code": code, "text": text, "params": {k: str(v) for k, v in params.items()}}


def error(status: int, code: str, text: str, **params: Any) -> Response:
    return Response.json(message("ErrorMessage", code, text, **params), status)


def ref_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def validate(resource: str, obj: Mapping[str, Any], merged: Mapping[str, Any], exists: Any) -> list[dict[str, Any]]:
    """Validation messages for one object about to be stored (empty when it is fine).

    ``exists(resource, id)`` answers whether a referenced object is stored (or is in the same batch).
    """
    problems: list[dict[str, Any]] = []
    oid = merged.get("id", "?")

    def bad(field_name: str, code: str, text: str, **params: Any) -> None:
        item = message("ValidationErrorMessage", code, text, field=field_name, id=oid, **params)
        item["field"] = field_name
        problems.append(item)

    for name in REQUIRED.get(resource, ("name",)):
        value = merged.get(name)
        if not isinstance(value, str) or not value.strip():
            bad(name, "validation.error.required", "{{field}} is required (object {{id}})")
    state = merged.get("objectState")
    if state is not None and state not in OBJECT_STATES:
        bad("objectState", "validation.error.invalid.value", "{{field}} cannot be {{value}}", value=state)
    for name, target in REFERENCES.items():
        if name in obj and obj[name] is not None:
            target_id = ref_id(obj[name])
            if target_id is None or not exists(target, target_id):
                bad(
                    name,
                    "error.referenced.object.not.found",
                    "Referenced object {{type}} {{ref}} not found",
                    type=target,
                    ref=target_id,
                )
    return problems


def warnings_for(resource: str, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Warnings kept on stored objects: problems that stop delivery (a line item without an order)."""
    if resource == "lineitems" and not obj.get("order"):
        return [
            message(
                "ValidationWarningMessage",
                "validation.warning.lineItem.no.order",
                "Line item {{id}} has no order and will not deliver",
                id=obj.get("id", "?"),
            )
        ]
    return []


@dataclass
class TokenLimit:
    """``limit`` admitted requests per token in any window of ``window`` vendor seconds; then 429 until the oldest
    admitted request leaves the window. Refused requests do not count."""

    limit: int
    window: float
    admitted: deque[float] = field(default_factory=deque)
    blocked_until: float = float("-inf")

    def check(self, now: float) -> float | None:
        """``None`` (admitted) or the vendor seconds to wait."""
        while self.admitted and self.admitted[0] <= now - self.window:
            self.admitted.popleft()
        if now < self.blocked_until:
            return self.blocked_until - now
        if len(self.admitted) >= self.limit:
            self.blocked_until = self.admitted[0] + self.window
            return self.blocked_until - now
        self.admitted.append(now)
        return None


def retry_after(wait_real: float, speed: float, style: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and body of a 429 for a wait of ``wait_real`` real seconds.

    ``delta``: ``Retry-After: <seconds>`` (fractional when the clock is compressed, whole seconds at speed 1);
    ``date``: an HTTP-date plus ``Date``; ``body``: no header, the seconds in the message text only.
    """
    seconds = math.ceil(wait_real) if speed == 1 else math.ceil(wait_real * 1000) / 1000
    body = message(
        "ErrorMessage",
        "error.too.many.requests",
        "Too many requests: wait {{seconds}} seconds before the next request",
        seconds=seconds,
    )
    if style == "date":
        now = time.time()
        return {
            "Retry-After": email.utils.formatdate(math.ceil(now + wait_real), usegmt=True),
            "Date": email.utils.formatdate(math.floor(now), usegmt=True),
        }, body
    if style == "body":
        return {}, body
    return {"Retry-After": f"{seconds:g}"}, body


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


def multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, str | None, bytes]]:
    """Parse ``multipart/form-data``: field name -> (file name, content type, bytes exactly as sent)."""
    match = _BOUNDARY.search(content_type)
    if not match:
        return {}
    delimiter = b"--" + match[1].encode()
    fields: dict[str, tuple[str | None, str | None, bytes]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = head.decode("latin-1")
        name = re.search(r'name="([^"]*)"', headers)
        filename = re.search(r'filename="([^"]*)"', headers)
        ctype = re.search(r"(?i)content-type:\s*([^\r\n]+)", headers)
        if name:
            fields[name[1]] = (filename[1] if filename else None, ctype[1].strip() if ctype else None, content)
    return fields
