"""The base of every vendor model: fields the vendor adds are kept, and what was read can be written back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..observe._meta import attach

__all__ = ["VendorModel", "int_or_none", "payload_of"]


class VendorModel(BaseModel):
    """A vendor entity. Python names in snake_case, vendor names as aliases, unknown fields kept as extras.

    ``to_payload()`` returns the fields that were set (read from the vendor or given by you), under the vendor's
    names, so a model read and written back unchanged sends exactly what it received.

    ``adops_async.response_meta(model)`` tells the request id, attempts and gate wait of the response a model was
    read from.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, serialize_by_alias=True)

    def model_post_init(self, context: Any, /) -> None:
        """Ties the model to the response it was read from (:func:`~adops_async.response_meta`)."""
        attach(self)

    def to_payload(self) -> dict[str, Any]:
        """The fields that were set, under the vendor's names, as JSON values: what ``create`` and ``update`` send."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def payload_of(obj: VendorModel | Mapping[str, Any]) -> dict[str, Any]:
    """What a model or a mapping given to ``create``/``update`` sends: the model's :meth:`VendorModel.to_payload`, or
    the mapping as it is."""
    return obj.to_payload() if isinstance(obj, VendorModel) else dict(obj)


def int_or_none(value: Any) -> int | None:
    """``value`` as an int (a count or total a vendor may send as a string), or ``None`` if absent or not one."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):
        return None
