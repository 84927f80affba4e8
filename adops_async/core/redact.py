"""Keeping secrets out of exception text, reprs and log records.

Every client registers the secrets it holds (passwords, API keys) with its :class:`Redactor`, and every token it
learns (at login, or renewed in a response) as soon as it sees it; every string the library builds for humans (error
messages, URLs, bodies and responses kept on errors, log lines) passes through it. A secret is masked in every form it
takes in text: as it is, JSON-escaped, percent-encoded, escaped in a Python ``repr`` (how httpx and h11 quote a header
value in an exception) and HTML-escaped. Values that look like credentials by their name are masked even when the
secret is not known yet: ``token=...`` pairs in URLs, ``"access_token": "..."`` pairs in JSON, credential headers
(``Authorization``, ``Cookie``/``Set-Cookie``, ``x-o-api-key``, ``X-VP-AUTH`` ...) and ``Basic`` credentials.

Credentials given to a client are checked by :func:`credential`: one that cannot be sent as it is (a control
character, such as the newline a file ends with) is refused at construction with
:class:`~adops_async.core.errors.InvalidCredential`, whose message names the parameter, never the value.
"""

from __future__ import annotations

import base64
import binascii
import html
import logging
import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from .errors import InvalidCredential

__all__ = ["MASK", "Redactor", "Secret", "credential", "refuse_unsendable"]

MASK = "***"
_SECRET_PARAM_WORDS = ("password", "passwd", "secret", "token", "key", "auth", "signature", "session")
# name=value pairs inside free text (a URL quoted in an exception message), where the name looks secret
_SECRET_PAIR = re.compile(r"(?<![\w-])([\w-]+)=([^&\s\"'<>]+)")
# A name that says its value is a credential (a header, a JSON key): stricter than the query-parameter words, since
# it masks values of response headers and error bodies that should otherwise stay readable ("keywords" is no key).
_CREDENTIAL_NAME = re.compile(
    r"(?i)(?:password|passwd|secret|token|api[_-]?key|auth|authorization|session|sessionid|signature|cookie"
    r"|credentials?)$"
)
# "name": "value" (JSON), 'name': 'value' (a dict's repr) and (b'name', b'value') (a header list's repr, as httpcore
# logs response headers): group 2 is the name, group 5 the value (group 4 its quote).
_QUOTED_PAIR = re.compile(r"""(['"])([\w.-]+)\1(\s*[:,]\s*b?)(['"])((?:(?!\4)[^\\]|\\.)*)\4""")
# Every name either pattern masks contains one of these: a text without any is left alone at the cost of a lookup.
_NAME_WORDS = (*_SECRET_PARAM_WORDS, "cookie", "credential")
_COOKIE_VALUE = re.compile(r"([^=;,\s]+=)([^;]*)")
_BASIC = re.compile(r"Basic\s+([A-Za-z0-9+/]{4,}={0,2})")
# C0 and C1 control characters (CR, LF, TAB, NUL ...) and the Unicode line separators: none belongs in a credential.
_UNSENDABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class Secret:
    """A string that never shows itself: ``repr``/``str`` print a mask, :meth:`reveal` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: only for the place it is sent."""
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


def refuse_unsendable(value: str, field: str, *, header: bool = False) -> None:
    """Raise :class:`InvalidCredential` naming ``field`` (never the value) when ``value`` cannot be sent as it is.

    A control character is refused rather than stripped: a credential read from a file with its trailing newline is
    a mistake to report, and a silently altered secret would fail later as a wrong password. A credential sent in a
    header (``header=True``) must also be ASCII, the only characters an HTTP header carries.
    """
    found = _UNSENDABLE.search(value)
    if found is not None:
        raise InvalidCredential(
            f"{field} contains a control character (U+{ord(found.group()):04X} at position {found.start()}), "
            "such as the newline that ends a file: remove it before passing the credential",
            field=field,
        )
    if header and not value.isascii():
        raise InvalidCredential(f"{field} is sent in an HTTP header, so it must be ASCII", field=field)


def credential(value: str | Secret, field: str, *, header: bool = False) -> Secret:
    """``value`` as a :class:`Secret`, once :func:`refuse_unsendable` has accepted it."""
    secret = value if isinstance(value, Secret) else Secret(value)
    refuse_unsendable(secret.reveal(), field, header=header)
    return secret


_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
_SHORT_ESCAPES = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f"}
_ESCAPED = r"\\+"  # one backslash in JSON or a repr, more when escaped again (the repr of a message quoting a repr)


def _written_char(char: str) -> str:
    """A pattern for one character of a secret in each way text writes it: as it is, escaped at any depth
    (``\\"``, ``\\n``, ``\\x0a``, ``\\u00e9``), percent-encoded (``%22``, ``+``) or as an HTML entity."""
    if char in _PLAIN:
        return re.escape(char)
    if char == "\\":
        # Raw or escaped, a backslash is a run of them (a run in the secret is one run too: no ambiguous repeats).
        return r"(?:\\+|(?i:%5c|\\+x5c|\\+u005c|&#92;|&#x0*5c;)+)"
    code = ord(char)
    utf8 = char.encode("utf-8")
    forms = [
        r"\\*" + re.escape(char),
        "(?i:" + "".join(f"%{byte:02x}" for byte in utf8) + ")",
        "(?i:" + "".join(f"{_ESCAPED}x{byte:02x}" for byte in utf8) + ")",
        f"(?i:{_ESCAPED}u{code:04x}|&#x0*{code:x};)",
        f"&#{code};",
    ]
    if char in _SHORT_ESCAPES:
        forms.append(_ESCAPED + _SHORT_ESCAPES[char])
    if char == " ":
        forms.append(r"\+")
    entity = html.escape(char)
    if entity != char:
        forms.append(re.escape(entity))
    return "(?:" + "|".join(forms) + ")"


def _anchor(value: str) -> str | None:
    """The longest run of characters no escaping changes: every written form of ``value`` contains it."""
    runs = re.findall(r"[A-Za-z0-9_.~-]{3,}", value)
    return max(runs, key=len) if runs else None


def _written_pattern(value: str) -> str:
    return "".join(_written_char(char) for char in re.sub(r"\\+", r"\\", value))


def _is_credential_name(name: str) -> bool:
    return _CREDENTIAL_NAME.search(name.strip()) is not None


_COOKIE_ATTRIBUTES = frozenset(
    f"{attr}=" for attr in ("expires", "max-age", "domain", "path", "samesite", "version", "comment", "priority")
)


def _mask_cookie_value(match: re.Match[str]) -> str:
    name = match.group(1)
    return match.group(0) if name.lower() in _COOKIE_ATTRIBUTES else f"{name}{MASK}"


def _masked_header(name: str, value: str) -> str:
    if name.lower() in ("cookie", "set-cookie"):
        # Keep the cookie names and attributes (Max-Age, Path): they are what one debugs; the values are secrets.
        return _COOKIE_VALUE.sub(_mask_cookie_value, value)
    return MASK


def _mask_secret_pair(match: re.Match[str]) -> str:
    return f"{match.group(1)}={MASK}" if _looks_secret(match.group(1)) else match.group(0)


def _mask_quoted_pair(match: re.Match[str]) -> str:
    name = match.group(2)
    if not _is_credential_name(name):
        return match.group(0)
    value = _masked_header(name, match.group(5))
    quote_ = match.group(4)
    return f"{match.group(0)[: match.start(4) - match.start(0)]}{quote_}{value}{quote_}"


def _mask_basic(match: re.Match[str]) -> str:
    try:
        decoded = base64.b64decode(match.group(1), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return match.group(0)
    return f"Basic {MASK}" if ":" in decoded else match.group(0)


def _mask_by_name(text: str) -> str:
    """Mask what is a credential by its name or shape, whether or not the secret is known."""
    if "Basic" in text:
        text = _BASIC.sub(_mask_basic, text)
    lowered = text.lower()
    if not any(word in lowered for word in _NAME_WORDS):
        return text
    if "=" in text:
        text = _SECRET_PAIR.sub(_mask_secret_pair, text)
    if "'" in text or '"' in text:
        text = _QUOTED_PAIR.sub(_mask_quoted_pair, text)
    return text


def _forms(secret: str | Secret | None) -> set[str]:
    value = secret.reveal() if isinstance(secret, Secret) else secret
    # A value with a newline or spaces around it is also masked without them (a server may have stripped them).
    # Very short values would mask ordinary words; a real credential is never this short.
    return {v for v in (value, value.strip()) if len(v) >= 4} if value else set()


class Redactor:
    """Replaces every known secret (in each of its written forms) and every credential-looking value by :data:`MASK`.

    Safe to use from any thread: log records may be filtered in a thread other than the event loop's.

    The secrets a client was given are kept for its life; of the tokens it learns (:meth:`add`), the newest
    :attr:`LEARNT` are: a session renewed on every response would otherwise grow the pattern without end, and a token
    that many renewals old has long stopped opening anything.
    """

    LEARNT = 32

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._given: set[str] = set()
        self._learnt: dict[str, None] = {}  # insertion-ordered: the oldest learnt token goes first
        self._pattern: re.Pattern[str] | None = None
        self._anchors: tuple[str, ...] | None = None
        self._stale = False
        self._lock = threading.Lock()
        for secret in secrets:
            self._given |= _forms(secret)
        self._stale = bool(self._given)

    def add(self, secret: str | Secret | None) -> None:
        """Mask this learnt secret from now on (call it as soon as a token is learnt, before anything can log it)."""
        fresh = _forms(secret)
        with self._lock:
            for value in fresh - self._given:
                if value not in self._learnt:
                    self._learnt[value] = None
                    self._stale = True  # compiled on next use: a session renewed on every response adds a token each
            while len(self._learnt) > self.LEARNT:
                del self._learnt[next(iter(self._learnt))]

    def known(self, text: str) -> str:
        """``text`` with every known secret masked, in each form it can be written in."""
        if self._stale:
            with self._lock:
                # Longest first, so a token that contains another secret is masked whole.
                ordered = sorted(self._given | self._learnt.keys(), key=len, reverse=True)
                self._pattern = re.compile("|".join(_written_pattern(v) for v in ordered)) if ordered else None
                found = [anchor for anchor in map(_anchor, ordered) if anchor is not None]
                self._anchors = tuple(found) if len(found) == len(ordered) else None  # else: always run the pattern
                self._stale = False
        pattern, anchors = self._pattern, self._anchors
        if pattern is None or (anchors is not None and not any(anchor in text for anchor in anchors)):
            return text  # a substring test per secret is much cheaper than the pattern, and the usual answer
        return pattern.sub(MASK, text)

    def text(self, text: str) -> str:
        return _mask_by_name(self.known(text))

    def value(self, value: Any) -> Any:
        """``value`` with every string in it redacted (nested lists, tuples and mappings are copied)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if type(value) in (list, tuple):
            return type(value)(self.value(item) for item in value)
        return value

    def url(self, url: httpx.URL | str) -> str:
        parsed = httpx.URL(str(url))
        if parsed.userinfo:
            parsed = parsed.copy_with(username=None, password=None)
        if parsed.query:
            params = [(name, MASK if _looks_secret(name) else value) for name, value in parsed.params.multi_items()]
            parsed = parsed.copy_with(params=params)
        return self.text(str(parsed))

    def headers(self, headers: httpx.Headers) -> httpx.Headers:
        """A copy with credential headers masked (httpx's own repr masks only ``Authorization``) and the rest
        redacted."""
        return httpx.Headers(
            [
                (name, _masked_header(name, value) if _is_credential_name(name) else self.text(value))
                for name, value in headers.multi_items()
            ]
        )

    def request(self, request: httpx.Request) -> httpx.Request:
        """A copy safe to keep on an error: redacted URL and headers, and no body (a login's carries a password)."""
        headers = self.headers(request.headers)
        headers.pop("content-length", None)
        return httpx.Request(request.method, self.url(request.url), headers=headers)

    def response(self, response: httpx.Response) -> httpx.Response:
        """A copy of a response safe to keep on an error: the status, redacted headers and body, and the redacted
        request (see :meth:`request`). Its ``text`` and ``json()`` still give the vendor's explanation."""
        try:
            body = self.text(response.text).encode(response.encoding or "utf-8", "replace")
        except httpx.ResponseNotRead:
            body = b""
        headers = self.headers(response.headers)
        for name in ("content-encoding", "content-length", "transfer-encoding"):
            headers.pop(name, None)  # the copy's body is already decoded, and its length is its own
        kept = ("http_version", "reason_phrase")
        extensions = {name: response.extensions[name] for name in kept if name in response.extensions}
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=body,
            request=self.request(response.request),
            extensions=extensions,
        )


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_PARAM_WORDS)


# -- third-party log records -----------------------------------------------------------------------------------------

#: Loggers whose records are redacted: httpx (a line per request, with its URL), httpcore (``httpcore.http11``,
#: ``httpcore.connection`` ... log every response's headers at DEBUG, ``Set-Cookie`` included), h11/h2/hpack (hpack
#: logs header values at DEBUG) and our own.
LOGGER_FAMILIES = ("httpx", "httpcore", "h11", "h2", "hpack", "adops_async")


class _RedactingFilter(logging.Filter):
    """Masks credentials, and the secrets of every live client, in the records of the :data:`LOGGER_FAMILIES`.

    Why a filter on each logger of those families, attached as the loggers appear: a filter on a logger applies only
    to records created by that very logger, not to those its children propagate to it, so one filter on ``httpx``
    and ``httpcore`` missed ``httpcore.http11``. Handlers belong to the application (a filter there would have to be
    added to handlers we do not own, and to every one added later); a log record factory is process-wide, chained by
    hand by every library that sets one, and would cost every record of every library. The filter also masks
    credential headers by name (``(b'set-cookie', b'X-VP-AUTH="..."')``): httpcore logs a login's response headers
    before the client has read the token in them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        _cover_loggers()  # a logger of the families created since the last look (cheap when none was)
        message = record.getMessage()
        clean = self.clean(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
        return True

    def clean(self, text: str) -> str:
        for redactor in list(self.redactors):
            text = redactor.known(text)
        return _mask_by_name(text)


_filter = _RedactingFilter()
_covered_size = -1
_cover_lock = threading.Lock()


def _in_families(name: str) -> bool:
    return any(name == family or name.startswith(f"{family}.") for family in LOGGER_FAMILIES)


def _cover_loggers() -> None:
    """Attach the filter to every logger of the families. Loggers are created when their module is imported
    (httpcore's when the first ``httpx.AsyncClient`` is built), so this runs at import, at every client's
    construction, and on every filtered record; it walks the registry only when the registry has grown."""
    global _covered_size
    registry = logging.Logger.manager.loggerDict
    if len(registry) == _covered_size:
        return
    with _cover_lock:
        size = len(registry)
        pending = False
        for name, logger in list(registry.items()):
            if not _in_families(name):
                continue
            if isinstance(logger, logging.Logger):
                logger.addFilter(_filter)  # a no-op when it is already there
            else:
                pending = True  # a placeholder: it becomes a logger without the registry growing
        _covered_size = -1 if pending else size


for _family in LOGGER_FAMILIES:
    logging.getLogger(_family)
_cover_loggers()


def watch_third_party_logs(redactor: Redactor) -> None:
    """Keep this redactor's secrets out of the log records of the :data:`LOGGER_FAMILIES` while it lives."""
    _filter.redactors.add(redactor)
    _cover_loggers()
