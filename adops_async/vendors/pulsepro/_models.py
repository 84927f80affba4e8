"""PulsePro entities.

The Pulse API's reference section is not public (docs/vendors/pulsepro.md): only the product description names the areas
(inspections, corrective actions, analytics, users & roles, locations), and the marketing page shows one DRF-style
list (``{"results": [...], "count": 1248, "next": ...}``). So every field below is optional, named as the internal
web API names it where code shows it (``ashishpulsepro/Pulse-Agent``), and anything else the server sends is kept as
an extra field (``model.model_extra``) and written back unchanged by ``to_payload()``.
"""

from __future__ import annotations

from typing import Any

from ...core.models import VendorModel

__all__ = [
    "AnalyticsScore",
    "AnalyticsTrend",
    "CorrectiveAction",
    "Inspection",
    "Location",
    "Role",
    "User",
]


class Inspection(VendorModel):
    """One inspection (audit / checklist run) at a location."""

    id: int | str | None = None
    title: str | None = None
    status: str | None = None
    score: float | None = None
    location_id: int | str | None = None
    template_id: int | str | None = None
    inspector_id: int | str | None = None
    created_at: str | None = None
    completed_at: str | None = None


class CorrectiveAction(VendorModel):
    """A follow-up task raised by an inspection ("Corrective actions (CRUD, assignment, timeline)")."""

    id: int | str | None = None
    title: str | None = None
    description: str | None = None
    status: str | None = None
    priority: str | None = None
    inspection_id: int | str | None = None
    location_id: int | str | None = None
    assignee_id: int | str | None = None
    due_date: str | None = None
    created_at: str | None = None
    timeline: list[dict[str, Any]] | None = None


class Location(VendorModel):
    """A site in the location hierarchy (``parent_id`` links a site to its region or group)."""

    id: int | str | None = None
    name: str | None = None
    parent_id: int | str | None = None
    address: str | None = None


class User(VendorModel):
    """A team member (the internal web API also sends ``member_name`` and ``user_id``; kept as extras)."""

    id: int | str | None = None
    name: str | None = None
    email: str | None = None
    role_ids: list[int | str] | None = None
    location_ids: list[int | str] | None = None


class Role(VendorModel):
    """A role / permission bundle (the internal API's ``get_all_permission_bundles`` returns ``{id, name}``)."""

    id: int | str | None = None
    name: str | None = None


class AnalyticsScore(VendorModel):
    """An aggregate inspection score for a scope (a location, a template) over a period. Read-only."""

    scope: str | None = None
    scope_id: int | str | None = None
    score: float | None = None
    inspections: int | None = None
    period_start: str | None = None
    period_end: str | None = None


class AnalyticsTrend(VendorModel):
    """One point of a score trend (``date``, ``score``). Read-only."""

    date: str | None = None
    score: float | None = None
    inspections: int | None = None
