"""Targeting templates (``/api/2.0/targeting-template``, JSON; docs/vendors/ooyala.md).

The account has a template quota: creating past it answers ``403 {"type": "ForbiddenError", "message": "You have
used 5 (100%) of your 5 templates. ..."}``, raised as :class:`TemplateQuotaExceeded` with the vendor's text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ...core.client import BaseClient
from ...core.paging import AsyncPaginator, Page, PageRequest, SinglePage
from ...core.policies import Priority
from ...core.priority import current_priority
from ...core.resources import Resource
from ._dialect import JSON_CODEC
from ._models import Rules, TargetingTemplate, TemplateUsage

__all__ = ["TargetingTemplates"]

PATH = "api/2.0/targeting-template"


class TargetingTemplates:
    """List, create, rename, delete targeting templates; read the quota (:meth:`usage`) and a template's rules."""

    def __init__(self, client: BaseClient) -> None:
        self.client = client
        """The client every request goes through."""
        self._collection = Resource(client, PATH, TargetingTemplate, SinglePage())

    def _url(self, id: str, tail: str = "") -> str:
        return f"{PATH}/{quote(id, safe='')}{tail}"

    async def usage(self) -> TemplateUsage:
        """``{"active": 5, "max": 10, ...}``: how much of the quota is used."""
        reply = await self.client.request("GET", f"{PATH}/usage", codec=JSON_CODEC)
        return TemplateUsage.model_validate(reply.data)

    def list(
        self, *, campaign_id: str | None = None, goal_id: str | None = None, priority: Priority | None = None
    ) -> AsyncPaginator[TargetingTemplate]:
        """The templates (of a campaign or a goal), in one response; a body that is not a list is a
        :class:`~adops_async.DecodeError`, never an empty result."""
        params = {k: v for k, v in (("campaignId", campaign_id), ("goalId", goal_id)) if v is not None}
        priority = current_priority(priority, Priority.BULK)

        async def fetch(request: PageRequest) -> Page[TargetingTemplate]:
            reply = await self.client.request("GET", PATH, params=request.params, codec=JSON_CODEC, priority=priority)
            return self._collection.page_from(request, reply)

        return AsyncPaginator(fetch, self._collection.paging.first(params))

    async def create(self, name: str) -> TargetingTemplate:
        """Raises :class:`TemplateQuotaExceeded` (a :class:`QuotaExceeded` and :class:`PermissionDenied`) when full."""
        reply = await self.client.request("POST", PATH, payload={"name": name}, codec=JSON_CODEC)
        return TargetingTemplate.model_validate(reply.data)

    async def rename(self, template: TargetingTemplate, name: str) -> TargetingTemplate:
        """``PUT /{id}`` with ``{id, name, siteId}``: only the name can change."""
        if not template.id:
            raise ValueError("the template has no id")
        body: dict[str, Any] = {"id": template.id, "name": name, "siteId": template.site_id}
        await self.client.request("PUT", self._url(template.id), payload=body, codec=JSON_CODEC)
        return template.model_copy(update={"name": name})

    async def delete(self, id: str) -> None:
        """Delete the template (``DELETE /api/2.0/targeting-template/{id}``)."""
        await self.client.request("DELETE", self._url(id), codec=JSON_CODEC)

    async def rules(self, id: str) -> Rules:
        """The template's targeting rules (``GET /api/2.0/targeting-template/{id}/rules``)."""
        reply = await self.client.request("GET", self._url(id, "/rules"), codec=JSON_CODEC)
        return Rules.model_validate(reply.data or {})
