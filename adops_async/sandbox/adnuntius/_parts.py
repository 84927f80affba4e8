"""Pieces of the Adnuntius sandbox: Translatable Messages, the per-token rate limit, multipart parsing, validation."""

from __future__ import annotations

import copy
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
#: The endpoints under ``/api/v1/``: those the vendor's own client names (ADN-TOOLS ``api.py``) and those the endpoint
#: pages document. Any other name is a missing endpoint: 404 to every method, ``OPTIONS`` included.
RESOURCES = frozenset(
    {
        "adunits",
        "adunittags",
        "advertisers",
        "allocationreport",
        "apikeys",
        "asset",
        "assets",
        "audit",
        "availablecurrencies",
        "axproduct",
        "blocklists",
        "bulkcreatives",
        "burnrates",
        "categories",
        "cdnassets",
        "contextserviceconfigurations",
        "contextserviceconnections",
        "coupons",
        "creativepreview",
        "creatives",
        "creativesets",
        "currencyconversion",
        "customeventtypes",
        "dataexports",
        "dataview",
        "deliveryestimate",
        "devices",
        "earningsaccounts",
        "emailtranslations",
        "externaladunits",
        "externaldemandsources",
        "fieldmappings",
        "folders",
        "impactreport",
        "invoicetranslations",
        "keyvalues",
        "keywords",
        "layoutincludes",
        "layouts",
        "lineitems",
        "lineitemtemplates",
        "livepreview",
        "location",
        "messagedefinitions",
        "networkforecast",
        "networkinfo",
        "networkprofiles",
        "networks",
        "notes",
        "notificationpreferences",
        "notifications",
        "orders",
        "payment",
        "product",
        "reachestimate",
        "reports",
        "reportschedules",
        "reporttemplates",
        "roles",
        "rulesets",
        "search",
        "segments",
        "signup",
        "sitegroups",
        "sites",
        "sspconnections",
        "stats",
        "sui",
        "targetingtemplates",
        "teamgroups",
        "teams",
        "tiers",
        "timezones",
        "triggers",
        "user",
        "userprofiles",
        "users",
        "visitorprofilefields",
        "workspaces",
        "zippedassets",
    }
)
#: What ``GET <resource>/defaults`` answers: the defaults the creatives page documents ("Defaults to ... if not
#: specified"); every other resource only has its state.
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    "creatives": {
        "userState": "APPROVED",
        "dimensionType": "FIXED",
        "type": "INTERNAL",
        "copyrightStatus": "UNSPECIFIED",
        "source": "DIRECT",
    },
}
_EMPTY_TARGETING: Mapping[str, Any] = {
    "adUnitMatchingLabelTargets": [],
    "adUnitTarget": {"adUnits": []},
    "categoryTargets": [],
    "dateTarget": {"dateRanges": [], "timeZoneSetting": "SYSTEM"},
    "deviceTargets": [],
    "geospatialTargets": [],
    "keyValueTargets": [],
    "keywordTargets": [],
    "namedLocationTarget": {"locations": []},
    "retargetingTargets": [],
    "siteTarget": {"sites": []},
    "userSegmentTargets": [],
    "dayPartingTargets": [],
    "ipAddressTarget": {"addresses": []},
}
#: What a new object gets for the fields it was sent without: what the creatives page's POST response and GET
#: example show that the POST body did not send (an empty targeting, no third-party content), and the documented
#: defaults those examples show.
FILLED: Mapping[str, Mapping[str, Any]] = {
    "creatives": {
        "userState": "APPROVED",
        "type": "INTERNAL",
        "constraintsToAssets": {},
        "constraintsToText": {},
        "constraintsToUrls": {},
        "impressionTrackingUrls": [],
        "thirdPartyContent": {},
        "targeting": _EMPTY_TARGETING,
    },
}


def message(kind: str, code: str, text: str, **params: Any) -> dict[str, Any]:
    """A Translatable Message (ADN-INTRO): ``text`` keeps its ``{{param}}`` placeholders, ``params`` fills them."""
    return {"type": kind, "code": code, "text": text, "params": {k: str(v) for k, v in params.items()}}


def error(status: int, code: str, text: str, **params: Any) -> Response:
    return Response.json(message("ErrorMessage", code, text, **params), status)


def ref_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def defaults_for(resource: str) -> dict[str, Any]:
    return {"objectState": "ACTIVE", **DEFAULTS.get(resource, {})}


def filled_for(resource: str) -> dict[str, Any]:
    return copy.deepcopy({"objectState": "ACTIVE", **FILLED.get(resource, {})})


def reference(target: str, target_id: str, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A reference as the API answers it (creatives page): ``{"id", "url", "name"}``, with the target's name if any."""
    ref: dict[str, Any] = {"id": target_id, "url": f"/api/v1/{target}/{target_id}"}
    if stored is not None and stored.get("name") is not None:
        ref["name"] = stored["name"]
    return ref


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
