"""One options object for what every client takes (issue 19, item 5): ``ClientOptions``, passed through once.

Each vendor client takes ``**options: Unpack[ClientOptions]`` and hands them to ``BaseClient``: every key arrives,
a vendor's own default still applies (Ooyala's 60 s timeout and its cap under a shared lease, PulsePro's
``spike_retry``), and a key that is not an option is refused at run time as a named parameter would be.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adops_async import (
    Adnuntius,
    AppNexus,
    BaseClient,
    ClientOptions,
    OoyalaPulse,
    PulsePro,
    RedisStore,
    RetryPolicy,
    VirtualClock,
)
from adops_async.observe import Event

CLIENTS: list[tuple[type[BaseClient], dict[str, Any]]] = [
    (BaseClient, {"base_url": "http://base.test"}),
    (AppNexus, {"username": "u", "password": "p"}),
    (Adnuntius, {"api_key": "k", "context": "network_1"}),
    (OoyalaPulse, {"api_key": "k"}),
    (PulsePro, {"api_key": "k", "base_url": "http://pulse.test"}),
]
IDS = [cls.__name__ for cls, _ in CLIENTS]


def heard(event: Event) -> None:
    """An observer that needs no events: only its subscription is checked."""


@pytest.mark.parametrize(("cls", "settings"), CLIENTS, ids=IDS)
def test_every_option_reaches_the_pipeline(cls: type[BaseClient], settings: dict[str, Any]) -> None:
    http, retry, clock = httpx.AsyncClient(), RetryPolicy(attempts=2, deadline=9.0), VirtualClock()
    options: ClientOptions = {
        "http": http,
        "retry": retry,
        "timeout": 7.0,
        "clock": clock,
        "max_body_size": 123,
        "observers": [heard],
    }
    client = cls(**settings, **options)
    assert client.http is http
    assert client.retry is retry
    assert client.timeout == 7.0
    assert client.clock is clock
    assert client.gate.clock is clock  # the vendor's default gate is built on the same clock
    assert client.max_body_size == 123
    assert client.observers.observers == (heard,)


@pytest.mark.parametrize(("cls", "settings"), CLIENTS, ids=IDS)
def test_a_keyword_that_is_no_option_is_refused_by_name(cls: type[BaseClient], settings: dict[str, Any]) -> None:
    with pytest.raises(TypeError, match=rf"^{cls.__name__}\.__init__\(\) got an unexpected keyword argument 'timout'$"):
        cls(**settings, timout=5)


def test_appnexus_takes_no_speed_its_clock_carries_it() -> None:
    with pytest.raises(TypeError, match="'speed'"):
        AppNexus(username="u", password="p", speed=60)  # type: ignore[call-arg]


def test_vendor_defaults_hold_when_an_option_is_left_out() -> None:
    assert AppNexus(username="u", password="p").timeout == 30.0
    assert Adnuntius(api_key="k", context="network_1").timeout == 30.0
    assert OoyalaPulse(api_key="k").timeout == 60.0
    pulsepro = PulsePro(api_key="k", base_url="http://pulse.test", deadline=42.0)
    assert (pulsepro.timeout, pulsepro.retry.deadline, pulsepro.retry.max_backoff) == (30.0, 42.0, 60.0)
    assert BaseClient(base_url="http://base.test").retry == RetryPolicy()


def test_ooyalas_timeout_stays_under_a_shared_lease() -> None:
    store = RedisStore("redis://127.0.0.1:1/0", lease=10.0)  # never contacted: only its lease is read
    assert OoyalaPulse(api_key="k", store=store).timeout == 8.0
    assert OoyalaPulse(api_key="k", store=store, timeout=5.0).timeout == 5.0
    assert OoyalaPulse(api_key="k", store=store, timeout=30.0).timeout == 8.0
