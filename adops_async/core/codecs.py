"""Bodies to and from Python: JSON, and XML through xmltodict with every entity refused.

An XML body that declares an entity is rejected outright (billion laughs, external entities): vendor payloads never
need one, so there is nothing to gain by expanding them safely.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar
from xml.parsers.expat import ExpatError

import xmltodict

__all__ = ["Codec", "JsonCodec", "XmlCodec"]


class Codec(ABC):
    """Turns request payloads into bytes and response bytes into payloads."""

    content_type: ClassVar[str] = "application/octet-stream"

    @abstractmethod
    def encode(self, payload: Any) -> bytes: ...

    @abstractmethod
    def decode(self, body: bytes) -> Any:
        """Raise :class:`ValueError` (with a reason a person can act on) when the body is unreadable."""


class JsonCodec(Codec):
    content_type = "application/json"

    def encode(self, payload: Any) -> bytes:
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()

    def decode(self, body: bytes) -> Any:
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed JSON: {exc}") from None


class XmlCodec(Codec):
    """XML as xmltodict reads it: attributes as ``@name``, text as ``#text``.

    Args:
        force_list: element names that are always lists, even with one child (a one-item ``<collection>``).
    """

    content_type = "application/xml"

    def __init__(self, force_list: tuple[str, ...] = ()) -> None:
        self.force_list = force_list

    def encode(self, payload: Any) -> bytes:
        text: str = xmltodict.unparse(payload, full_document=True, encoding="utf-8")
        return text.encode()

    def decode(self, body: bytes) -> Any:
        if not body.strip():
            return None
        if b"<!ENTITY" in body:
            # expat would raise too (disable_entities), but say plainly why.
            raise ValueError("XML entity declarations are refused")
        try:
            return xmltodict.parse(body, disable_entities=True, force_list=self.force_list or None)
        except ExpatError as exc:
            raise ValueError(f"malformed XML: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"XML refused: {exc}") from None
