"""Bodies to and from Python: JSON, and XML through xmltodict with every entity refused.

An XML body that declares an entity is rejected outright (billion laughs, external entities): vendor payloads never
need one, so there is nothing to gain by expanding them safely.

Nesting is capped (``max_depth``, default :data:`MAX_DEPTH`): vendor payloads are a few levels deep, and a body nested
200,000 deep would otherwise be built (XML) or hit Python's recursion limit (JSON), then break ``repr`` and every
recursive walk of the result. The cap is checked without recursion and before the object is built: JSON by a scan of
its brackets, XML as each element opens.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar
from xml.parsers import expat
from xml.parsers.expat import ExpatError

import xmltodict

__all__ = ["MAX_DEPTH", "Codec", "JsonCodec", "XmlCodec"]

MAX_DEPTH = 100
"""The deepest nesting a decoded body may have (JSON arrays and objects, XML elements): far above any vendor's."""

_NOT_BRACKETS = bytes(b for b in range(256) if b not in b'[]{}"')


class Codec(ABC):
    """Turns request payloads into bytes and response bytes into payloads."""

    content_type: ClassVar[str] = "application/octet-stream"
    """The media type of encoded payloads, sent as ``Content-Type`` and ``Accept``."""

    @abstractmethod
    def encode(self, payload: Any) -> bytes:
        """A request payload as bytes."""

    @abstractmethod
    def decode(self, body: bytes) -> Any:
        """Raise :class:`ValueError` (with a reason a person can act on) when the body is unreadable."""


def _too_deep(max_depth: int) -> ValueError:
    return ValueError(f"refused: nested deeper than {max_depth} levels")


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether a JSON text nests arrays and objects deeper than ``max_depth``, found without parsing it.

    Strings are dropped (escaped backslashes and quotes first), then everything but brackets; then each pass removes
    the innermost ``[]``/``{}`` pairs, so ``max_depth`` passes empty any text nested no deeper, and a run of more than
    ``max_depth`` opening brackets ends the search at once. All of it runs in C over the body. A text whose brackets
    do not pair up is left to the parser to call malformed.
    """
    if body.count(b"[") + body.count(b"{") <= max_depth:
        return False
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_BRACKETS)
    brackets = b"".join(plain.split(b'"')[::2])
    run = re.compile(rb"[\[{]{%d}" % (max_depth + 1))
    for _ in range(max_depth):
        if run.search(brackets):
            return True
        inner = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if not inner or inner == brackets:
            return False
        brackets = inner
    return b"[]" in brackets or b"{}" in brackets


class JsonCodec(Codec):
    """JSON. ``max_depth``: deeper bodies are refused (:data:`MAX_DEPTH` by default)."""

    content_type = "application/json"

    def __init__(self, *, max_depth: int = MAX_DEPTH) -> None:
        self.max_depth = max_depth
        """The deepest nesting of arrays and objects a decoded body may have."""

    def encode(self, payload: Any) -> bytes:
        """Compact UTF-8 JSON; values JSON lacks (dates, decimals) are written as their ``str()``."""
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()

    def decode(self, body: bytes) -> Any:
        if not body.strip():
            return None
        if json_depth_exceeds(body, self.max_depth):
            raise _too_deep(self.max_depth)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed JSON: {exc}") from None
        except RecursionError:  # a max_depth set above what Python's stack allows
            raise ValueError("refused: nested deeper than Python's recursion limit allows") from None


class _DepthCappedExpat:
    """expat for :func:`xmltodict.parse`, refusing an element that opens deeper than ``max_depth``."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth

    # Named as pyexpat names it: xmltodict calls expat.ParserCreate.
    def ParserCreate(self, encoding: str | None = None, namespace_separator: str | None = None) -> Any:
        return _DepthCappedParser(expat.ParserCreate(encoding, namespace_separator), self.max_depth)


class _DepthCappedParser:
    """An expat parser whose element handlers count the depth (xmltodict sets them; this wraps them)."""

    def __init__(self, parser: Any, max_depth: int) -> None:
        object.__setattr__(self, "_parser", parser)
        object.__setattr__(self, "_max_depth", max_depth)
        object.__setattr__(self, "_depth", 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "StartElementHandler":
            value = self._counting_start(value)
        elif name == "EndElementHandler":
            value = self._counting_end(value)
        setattr(self._parser, name, value)

    def _counting_start(self, handler: Any) -> Any:
        def start(name: str, attrs: Any) -> None:
            depth = self._depth + 1
            if depth > self._max_depth:
                raise _too_deep(self._max_depth)
            object.__setattr__(self, "_depth", depth)
            handler(name, attrs)

        return start

    def _counting_end(self, handler: Any) -> Any:
        def end(name: str) -> None:
            object.__setattr__(self, "_depth", self._depth - 1)
            handler(name)

        return end


class XmlCodec(Codec):
    """XML as xmltodict reads it: attributes as ``@name``, text as ``#text``.

    Args:
        force_list: element names that are always lists, even with one child (a one-item ``<collection>``).
        max_depth: deeper element nesting is refused (:data:`MAX_DEPTH` by default).
    """

    content_type = "application/xml"

    def __init__(self, force_list: tuple[str, ...] = (), *, max_depth: int = MAX_DEPTH) -> None:
        self.force_list = force_list
        """Element names that are always lists, even with one child."""
        self.max_depth = max_depth
        """The deepest element nesting a decoded body may have."""

    def encode(self, payload: Any) -> bytes:
        """A UTF-8 XML document from a dict shaped as xmltodict reads one (``@name``, ``#text``)."""
        text: str = xmltodict.unparse(payload, full_document=True, encoding="utf-8")
        return text.encode()

    def decode(self, body: bytes) -> Any:
        if not body.strip():
            return None
        if b"<!ENTITY" in body:
            # expat would raise too (disable_entities), but say plainly why.
            raise ValueError("XML entity declarations are refused")
        # Fewer tags than the cap cannot nest past it: skip the counting for small bodies.
        capped = body.count(b"<") > self.max_depth
        try:
            return xmltodict.parse(
                body,
                disable_entities=True,
                force_list=self.force_list or None,
                expat=_DepthCappedExpat(self.max_depth) if capped else expat,
            )
        except ExpatError as exc:
            raise ValueError(f"malformed XML: {exc}") from None
        except ValueError as exc:
            if str(exc).startswith("refused: nested"):
                raise
            raise ValueError(f"XML refused: {exc}") from None
