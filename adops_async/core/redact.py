"""Keeping secrets out of exception text, reprs and log records.

Every client registers the secrets it holds (passwords, tokens, API keys) with its :class:`Redactor`; every string
the library builds for humans (error messages, URLs, log lines) passes through it. Query parameters whose names look
secret are masked as well, since a vendor may echo them back in a redirect or an error.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Iterable

import httpx

__all__ = ["MASK", "Redactor", "Secret"]

MASK = "***"
_SECRET_PARAM_WORDS = ("password", "passwd", "secret", "token", "key", "auth", "signature", "session")
# name=value pairs inside free text (a URL quoted in an exception message), where the name looks secret
_SECRET_PAIR = re.compile(r"(?i)\b([\w-]*(?:{})[\w-]*)=([^&\s\"'<>]+)".format("|".join(_SECRET_PARAM_WORDS)))


class Secret:
    """A string that never shows itself: ``repr``/``str`` print a mask, :meth:`reveal` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class Redactor:
    """Replaces every known secret in a text by :data:`MASK`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | Secret | None) -> None:
        value = secret.reveal() if isinstance(secret, Secret) else secret
        # Very short values would mask ordinary words; a real credential is never this short.
        if value and len(value) >= 4:
            self._secrets.add(value)

    def text(self, text: str) -> str:
        # Longest first, so a token that contains another secret is masked whole.
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return _SECRET_PAIR.sub(rf"\1={MASK}", text)

    def url(self, url: httpx.URL | str) -> str:
        parsed = httpx.URL(str(url))
        if parsed.userinfo:
            parsed = parsed.copy_with(username=None, password=None)
        if parsed.query:
            params = [(name, MASK if _looks_secret(name) else value) for name, value in parsed.params.multi_items()]
            parsed = parsed.copy_with(params=params)
        return self.text(str(parsed))


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_PARAM_WORDS)


class _RedactingFilter(logging.Filter):
    """Masks the secrets of every live client in records of loggers we do not own (httpx logs each request URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = message
        for redactor in list(self.redactors):
            clean = redactor.text(clean)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_filter = _RedactingFilter()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_filter)


def watch_third_party_logs(redactor: Redactor) -> None:
    """Keep this redactor's secrets out of httpx's and httpcore's log records while it lives."""
    _filter.redactors.add(redactor)
