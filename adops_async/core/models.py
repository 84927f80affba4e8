"""The base of every vendor model: fields the vendor adds are kept, and what was read can be written back."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from ..observe._meta import attach

__all__ = ["VendorModel"]


class VendorModel(BaseModel):
    """A vendor entity. Python names in snake_case, vendor names as aliases, unknown fields kept as extras.

    ``to_payload()`` returns the fields that were set (read from the vendor or given by you), under the vendor's
    names, so a model read and written back unchanged sends exactly what it received.

    ``adops_async.response_meta(model)`` tells the request id, attempts and gate wait of the response a model was
    read from.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, serialize_by_alias=True)

    def model_post_init(self, context: Any, /) -> None:
        attach(self)

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
