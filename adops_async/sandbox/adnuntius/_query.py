"""List filters of the Adnuntius sandbox, as ``docs/vendors/adnuntius.md`` ("Lists and filters") describes them.

* flags ``includeActive``, ``includeInactive`` (both on unless ``false``), ``includeHidden`` (off unless ``true``),
  ``excludeInvalid`` (objects with validation warnings left out);
* ``filterBy`` with one of ``filterByValue`` (equal), ``filterByLike`` / ``filterByNotLike`` (contains / does not
  contain, case-insensitively), and ``excludeIfMissing=<field>``;
* ``where=COND;COND`` (all must hold) with ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, `` in A,B``,
  `` not in A,B``, `` is null``, `` is not null``, and relative times (``2 hours ago``, ``1 month later``).

The operators are read as the server reads its query string: decoded, so the documented URL
``where=executionState+in+RUNNING,ENDED`` arrives as ``executionState in RUNNING,ENDED``. A literal ``+`` (sent
percent-encoded as ``%2B``) is not an operator, and a condition that does not parse is refused with 400.
A field is a name or a dotted path (``order.id``); a reference ``{"id", "url", "name"}`` compares by its id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["InvalidFilter", "select"]


class InvalidFilter(ValueError):
    """A filter the server cannot read (answered with 400 and a Translatable Message)."""


_CONDITION = re.compile(
    r"^(?P<field>[A-Za-z_][\w.]*)\s*(?:"
    r"(?P<op>!=|>=|<=|=|>|<)(?P<value>.*)"
    r"|\s(?P<set>not in|in)\s(?P<values>.+)"
    r"|\sis\s(?P<negated>not\s)?null"
    r")$"
)
_RELATIVE = re.compile(r"^(\d+)\s+(minute|hour|day|month|year)s?\s+(ago|later)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400, "month": 30 * 86400, "year": 365 * 86400}


def field_value(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path``; a reference (an object with an ``id``) stands for its id."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, Mapping) and "id" in value:
        return value["id"]
    return value


def _instant(text: str) -> datetime | None:
    relative = _RELATIVE.match(text.strip())
    if relative:
        seconds = int(relative[1]) * _UNIT_SECONDS[relative[2]]
        return datetime.now(timezone.utc) + timedelta(seconds=seconds if relative[3] == "later" else -seconds)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _ordered(left: Any, right: str) -> tuple[Any, Any] | None:
    """Both sides as comparable values (instants, numbers, else text), or ``None`` when ``left`` is missing."""
    if left is None:
        return None
    moment, other = _instant(str(left)), _instant(right)
    if moment is not None and other is not None:
        return moment, other
    try:
        return float(left), float(right)
    except (TypeError, ValueError):
        return str(left), right


_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
}


def _condition(text: str) -> Callable[[Mapping[str, Any]], bool]:
    match = _CONDITION.match(text.strip())
    if not match:
        raise InvalidFilter(text)
    path = match["field"]
    if match["set"]:
        members = {v.strip() for v in match["values"].split(",")}
        inside = match["set"] == "in"
        return lambda obj: (str(field_value(obj, path)) in members) == inside
    if match["op"] is None:
        wants_null = match["negated"] is None
        return lambda obj: (field_value(obj, path) is None) == wants_null
    op, value = match["op"], match["value"].strip()
    if op in ("=", "!="):
        equal = op == "="
        return lambda obj: (field_value(obj, path) is not None and str(field_value(obj, path)) == value) == equal
    if not value:
        raise InvalidFilter(text)
    compare = _COMPARE[op]

    def holds(obj: Mapping[str, Any]) -> bool:
        pair = _ordered(field_value(obj, path), value)
        try:
            return pair is not None and compare(*pair)
        except TypeError:
            return False

    return holds


def _contains(obj: Mapping[str, Any], path: str, part: str) -> bool:
    value = field_value(obj, path)
    return value is not None and part.lower() in str(value).lower()


def select(rows: Sequence[dict[str, Any]], arg: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """The rows a list request's filters keep (``arg(name)`` reads a query parameter). Raises :class:`InvalidFilter`."""
    kept = list(rows)
    states = {
        "ACTIVE": arg("includeActive") != "false",
        "INACTIVE": arg("includeInactive") != "false",
        "HIDDEN": arg("includeHidden") == "true",
    }
    kept = [r for r in kept if states.get(str(r.get("objectState", "ACTIVE")), True)]
    if arg("excludeInvalid") == "true":
        kept = [r for r in kept if not r.get("validationWarnings")]
    missing = arg("excludeIfMissing")
    if missing:
        kept = [r for r in kept if field_value(r, missing) is not None]
    by = arg("filterBy")
    value, like, not_like = arg("filterByValue"), arg("filterByLike"), arg("filterByNotLike")
    if by is None and any(v is not None for v in (value, like, not_like)):
        raise InvalidFilter("filterByValue, filterByLike and filterByNotLike require filterBy")
    if by is not None:
        if value is not None:
            kept = [r for r in kept if str(field_value(r, by)) == value]
        if like is not None:
            kept = [r for r in kept if _contains(r, by, like)]
        if not_like is not None:
            kept = [r for r in kept if not _contains(r, by, not_like)]
    clause = arg("where")
    if clause:
        conditions = [_condition(c) for c in clause.split(";") if c.strip()]
        kept = [r for r in kept if all(holds(r) for holds in conditions)]
    return kept
