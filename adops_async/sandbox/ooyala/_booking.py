"""Booking API routes (``/api/1.0``): XML beans, matrix-parameter ids, full-replace PUT (docs/vendors/ooyala.md).

A GET by id answers ``<collection><campaignBean>...</campaignBean></collection>`` for one id or several
(``;id=a;id=b``), as the Booking "List Campaign(s) by Id", "Goal(s)" and "Client(s)" pages show; ``by_id="bean"``
answers a bare bean instead (the shape older readings of the docs assumed).

A PUT stores exactly the bean it receives: "If a field is not included, it is cleared" (OOY-INTRO). That is what
makes a client's read-modify-write testable: a client that PUTs a partial bean loses fields here, as it would there.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from .._base import Request, Response, route
from ._core import OoyalaCore

__all__ = ["BookingRoutes"]

_KINDS = {"campaign": "campaignBean", "goal": "goalBean", "client": "clientBean"}
_REQUIRED = {
    "campaign": ("name",),
    "goal": ("campaignId", "start", "goalValue", "type", "variant"),
    "client": ("name", "type"),
}
_DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "campaign": {
        "enabled": "false",
        "exclusive": "false",
        "includeInForecast": "true",
        "status": "UPCOMING",
        "priority": "5",
        "goalTotal": "0.0",
    },
    "goal": {"formatType": "PREROLL"},
    "client": {},
}


def _ids(request: Request) -> list[str]:
    """The ``;id=`` matrix parameters of the path."""
    return [part[3:] for part in request.path.split(";")[1:] if part.startswith("id=")]


class BookingRoutes(OoyalaCore):
    """Args (besides :class:`OoyalaCore`'s): ``by_id`` (``"collection"``, the documented shape of a GET by id, or
    ``"bean"``), ``missing_by_id`` (what a GET by id answers when no id exists: ``"404"`` or an ``"empty"``
    collection; the docs do not say)."""

    def __init__(
        self,
        *,
        by_id: Literal["collection", "bean"] = "collection",
        missing_by_id: Literal["404", "empty"] = "404",
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.by_id = by_id
        self.missing_by_id = missing_by_id
        self.beans: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in _KINDS}
        self.rules: dict[tuple[str, str], dict[str, Any]] = {}

    # -- helpers -------------------------------------------------------------------------------------------------

    def _bean_of(self, request: Request, kind: str) -> dict[str, Any] | Response:
        try:
            data = self.read_xml(request)
        except ValueError:
            return self.xml_error(400, "BadRequestError", "malformed XML")
        bean = data.get(_KINDS[kind]) if isinstance(data, Mapping) else None
        if not isinstance(bean, Mapping):
            return self.xml_error(400, "BadRequestError", f"expected <{_KINDS[kind]}>")
        missing = [name for name in _REQUIRED[kind] if not bean.get(name)]
        if missing:
            return self.xml_error(400, "ValidationError", f"required: {', '.join(missing)}")
        if kind == "goal" and bean["campaignId"] not in self.beans["campaign"]:
            return self.xml_error(400, "ValidationError", "campaignId: no such campaign")
        return dict(bean)

    def _find(self, kind: str, request: Request) -> dict[str, Any] | Response:
        ids = _ids(request)
        bean = self.beans[kind].get(ids[0]) if len(ids) == 1 else None
        if bean is None:
            return self.xml_error(404, "NotFoundError", f"{kind} {';'.join(ids) or '?'} not found")
        return bean

    def _collection(self, kind: str, beans: list[dict[str, Any]]) -> Response:
        return self.xml({"collection": {_KINDS[kind]: beans} if beans else None})

    # -- create, read, replace, delete (one set of handlers for the three bean kinds) ----------------------------

    def seed(self, kind: str, count: int) -> list[str]:
        """Store ``count`` beans of ``kind`` (``campaign``, ``goal``, ``client``) named ``<kind> <n>``; their ids."""
        ids = [str(uuid.uuid4()) for _ in range(count)]
        for n, new_id in enumerate(ids):
            self.beans[kind][new_id] = {**_DEFAULTS[kind], "name": f"{kind} {n}", "id": new_id}
        return ids

    async def _create(self, kind: str, request: Request) -> Response:
        bean = self._bean_of(request, kind)
        if isinstance(bean, Response):
            return bean
        new_id = str(uuid.uuid4())
        self.beans[kind][new_id] = {**_DEFAULTS[kind], **bean, "id": new_id}
        return Response.text(new_id)

    async def _get(self, kind: str, request: Request) -> Response:
        ids = _ids(request)
        found = [self.beans[kind][i] for i in ids if i in self.beans[kind]]
        if not ids or (not found and self.missing_by_id == "404"):
            return self.xml_error(404, "NotFoundError", f"{kind} {';'.join(ids) or '?'} not found")
        if self.by_id == "bean" and len(found) == 1:
            return self.xml({_KINDS[kind]: found[0]})
        return self._collection(kind, found)

    async def _replace(self, kind: str, request: Request) -> Response:
        found = self._find(kind, request)
        if isinstance(found, Response):
            return found
        bean = self._bean_of(request, kind)
        if isinstance(bean, Response):
            return bean
        self.beans[kind][found["id"]] = {**bean, "id": found["id"]}  # missing fields are cleared
        return Response(204)

    async def _delete(self, kind: str, request: Request) -> Response:
        found = self._find(kind, request)
        if isinstance(found, Response):
            return found
        del self.beans[kind][found["id"]]
        return Response(204)

    @route("POST", "/api/1.0/campaign")
    async def create_campaign(self, request: Request) -> Response:
        return await self._create("campaign", request)

    @route("GET", "/api/1.0/campaign/{matrix}")
    async def get_campaign(self, request: Request) -> Response:
        if request.params["matrix"] == "archived":
            return self._archived(request)
        return await self._get("campaign", request)

    @route("PUT", "/api/1.0/campaign/{matrix}")
    async def put_campaign(self, request: Request) -> Response:
        return await self._replace("campaign", request)

    @route("DELETE", "/api/1.0/campaign/{matrix}")
    async def delete_campaign(self, request: Request) -> Response:
        return await self._delete("campaign", request)

    @route("POST", "/api/1.0/goal")
    async def create_goal(self, request: Request) -> Response:
        return await self._create("goal", request)

    @route("GET", "/api/1.0/goal/{matrix}")
    async def get_goal(self, request: Request) -> Response:
        if request.params["matrix"].startswith("by_campaign_id;"):
            ids = set(_ids(request))
            return self._collection("goal", [g for g in self.beans["goal"].values() if g.get("campaignId") in ids])
        return await self._get("goal", request)

    @route("PUT", "/api/1.0/goal/{matrix}")
    async def put_goal(self, request: Request) -> Response:
        return await self._replace("goal", request)

    @route("DELETE", "/api/1.0/goal/{matrix}")
    async def delete_goal(self, request: Request) -> Response:
        return await self._delete("goal", request)

    @route("POST", "/api/1.0/client")
    async def create_client(self, request: Request) -> Response:
        return await self._create("client", request)

    @route("GET", "/api/1.0/client")
    async def list_clients(self, request: Request) -> Response:
        return self._collection("client", list(self.beans["client"].values()))

    @route("GET", "/api/1.0/client/{matrix}")
    async def get_client(self, request: Request) -> Response:
        if request.params["matrix"].startswith("by_campaign_id;"):
            campaigns = [self.beans["campaign"].get(i) or {} for i in _ids(request)]
            refs = {c.get(k) for c in campaigns for k in ("advertiserId", "agencyId", "brandId")}
            return self._collection("client", [c for c in self.beans["client"].values() if c["id"] in refs])
        return await self._get("client", request)

    @route("PUT", "/api/1.0/client/{matrix}")
    async def put_client(self, request: Request) -> Response:
        return await self._replace("client", request)

    @route("DELETE", "/api/1.0/client/{matrix}")
    async def delete_client(self, request: Request) -> Response:
        return await self._delete("client", request)

    # -- lists and filters ---------------------------------------------------------------------------------------

    @route("GET", "/api/1.0/campaign")
    async def list_campaigns(self, request: Request) -> Response:
        status, state = request.arg("status"), request.arg("state")
        found = []
        for bean in self.beans["campaign"].values():
            if status and bean.get("status", "").upper() != status.upper():
                continue
            if state and state.upper() == "ARCHIVED" and bean.get("status") != "ARCHIVED":
                continue
            wants_enabled = state.upper() == "ENABLED" if state else None
            if state and state.upper() in ("ENABLED", "DISABLED") and (bean.get("enabled") == "true") != wants_enabled:
                continue
            found.append(bean)
        return self._collection("campaign", found)

    def _archived(self, request: Request) -> Response:
        """``campaign/archived?year=&month=``: archived campaigns whose ``end`` falls in that month."""
        try:
            prefix = f"{int(request.arg('year') or '')}-{int(request.arg('month') or '1'):02d}"
        except ValueError:
            return self.xml_error(400, "ValidationError", "year and month must be numbers")
        found = [
            bean
            for bean in self.beans["campaign"].values()
            if bean.get("status") == "ARCHIVED" and str(bean.get("end") or "").startswith(prefix)
        ]
        return self._collection("campaign", found)

    # -- rules and notifications ---------------------------------------------------------------------------------

    async def _rules(self, kind: str, request: Request) -> Response:
        found = self._find(kind, request)
        if isinstance(found, Response):
            return found
        key = (kind, found["id"])
        if request.method == "GET":
            return self.xml({"rulesBean": self.rules.get(key) or {"parentId": found["id"]}})
        data = self.read_xml(request)
        if not isinstance(data, Mapping) or not isinstance(data.get("rulesBean"), Mapping):
            return self.xml_error(400, "BadRequestError", "expected <rulesBean>")
        self.rules[key] = dict(data["rulesBean"])
        return Response(204)

    @route("GET", "/api/1.0/campaign/rule/{matrix}")
    @route("PUT", "/api/1.0/campaign/rules/{matrix}")
    @route("PUT", "/api/1.0/campaign/rule/{matrix}")
    async def campaign_rules(self, request: Request) -> Response:
        return await self._rules("campaign", request)

    @route("GET", "/api/1.0/goal/rule/{matrix}")
    @route("PUT", "/api/1.0/goal/rules/{matrix}")
    @route("PUT", "/api/1.0/goal/rule/{matrix}")
    async def goal_rules(self, request: Request) -> Response:
        return await self._rules("goal", request)

    @route("GET", "/api/1.0/campaign/notification/{matrix}")
    async def notifications(self, request: Request) -> Response:
        found = self._find("campaign", request)
        if isinstance(found, Response):
            return found
        beans = []
        if not any(g.get("campaignId") == found["id"] for g in self.beans["goal"].values()):
            beans.append(
                {
                    "concernedResource": {"id": found["id"], "type": "CAMPAIGN"},
                    "level": "WARNING",
                    "message": "The campaign has no goals",
                }
            )
        entry = {"@key": found["id"], "notificationList": {"notificationBeans": beans} if beans else None}
        return self.xml({"map": {"entry": [entry]}})
