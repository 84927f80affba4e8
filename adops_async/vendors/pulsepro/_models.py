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
    """The inspection's id, kept as sent (a number or a string)."""
    title: str | None = None
    """``title``: the inspection's title, kept as sent."""
    status: str | None = None
    """``status``: where the inspection stands, in the server's words, kept as sent."""
    score: float | None = None
    """``score``: the inspection's score, kept as sent (its scale is not documented)."""
    location_id: int | str | None = None
    """``location_id``: the location inspected."""
    template_id: int | str | None = None
    """``template_id``: the checklist template it follows."""
    inspector_id: int | str | None = None
    """``inspector_id``: the user who inspects."""
    created_at: str | None = None
    """``created_at``: when it was created, the timestamp kept as sent."""
    completed_at: str | None = None
    """``completed_at``: when it was completed (``None`` while open), kept as sent."""


class CorrectiveAction(VendorModel):
    """A follow-up task raised by an inspection ("Corrective actions (CRUD, assignment, timeline)")."""

    id: int | str | None = None
    """The action's id, kept as sent."""
    title: str | None = None
    """``title``: the task's title."""
    description: str | None = None
    """``description``: what is to be done."""
    status: str | None = None
    """``status``: where the task stands, in the server's words, kept as sent."""
    priority: str | None = None
    """``priority``: its priority, in the server's words, kept as sent."""
    inspection_id: int | str | None = None
    """``inspection_id``: the inspection that raised it."""
    location_id: int | str | None = None
    """``location_id``: the location it concerns."""
    assignee_id: int | str | None = None
    """``assignee_id``: the user it is assigned to."""
    due_date: str | None = None
    """``due_date``: when it is due, kept as sent."""
    created_at: str | None = None
    """``created_at``: when it was raised, kept as sent."""
    timeline: list[dict[str, Any]] | None = None
    """``timeline``: its history entries, kept as sent."""


class Location(VendorModel):
    """A site in the location hierarchy (``parent_id`` links a site to its region or group)."""

    id: int | str | None = None
    """The location's id, kept as sent."""
    name: str | None = None
    """``name``: the location's name."""
    parent_id: int | str | None = None
    """``parent_id``: the region or group above it, or ``None`` at the top."""
    address: str | None = None
    """``address``: its address, as one text."""


class User(VendorModel):
    """A team member (the internal web API also sends ``member_name`` and ``user_id``; kept as extras)."""

    id: int | str | None = None
    """The user's id, kept as sent."""
    name: str | None = None
    """``name``: the user's name."""
    email: str | None = None
    """``email``: the user's address."""
    role_ids: list[int | str] | None = None
    """``role_ids``: the roles (permission bundles) the user has."""
    location_ids: list[int | str] | None = None
    """``location_ids``: the locations the user works on."""


class Role(VendorModel):
    """A role / permission bundle (the internal API's ``get_all_permission_bundles`` returns ``{id, name}``)."""

    id: int | str | None = None
    """The role's id, kept as sent."""
    name: str | None = None
    """``name``: the role's name."""


class AnalyticsScore(VendorModel):
    """An aggregate inspection score for a scope (a location, a template) over a period. Read-only."""

    scope: str | None = None
    """``scope``: what the score aggregates over (a location, a template), in the server's words."""
    scope_id: int | str | None = None
    """``scope_id``: the id of that location or template."""
    score: float | None = None
    """``score``: the aggregate score, kept as sent."""
    inspections: int | None = None
    """``inspections``: how many inspections it aggregates."""
    period_start: str | None = None
    """``period_start``: the period's first day, kept as sent."""
    period_end: str | None = None
    """``period_end``: the period's last day, kept as sent."""


class AnalyticsTrend(VendorModel):
    """One point of a score trend (``date``, ``score``). Read-only."""

    date: str | None = None
    """``date``: the point's day, kept as sent."""
    score: float | None = None
    """``score``: the score on that day, kept as sent."""
    inspections: int | None = None
    """``inspections``: how many inspections the score counts."""
