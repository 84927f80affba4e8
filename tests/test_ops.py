"""AdOps across the four sandboxes on real sockets: every entity once, no rule broken, memory flat."""

from __future__ import annotations

import csv
import gc
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adops_async import (
    Adnuntius,
    AdOps,
    AdOpsError,
    AppNexus,
    AuthError,
    Entity,
    OoyalaPulse,
    PulsePro,
    ScaledClock,
    VendorModel,
)
from adops_async.ops import Campaign, LineItem, normalize
from adops_async.sandbox import Sandbox, serve
from adops_async.sandbox.adnuntius import AdnuntiusSandbox
from adops_async.sandbox.appnexus import AppNexusSandbox
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.sandbox.pulsepro import PulseProSandbox

pytestmark = pytest.mark.anyio

SPEED = 120


def seeded(tenths: int = 10) -> dict[str, Sandbox]:
    """The four sandboxes with 20,000 entities in all (``tenths`` of them: tests of other claims need fewer)."""
    appnexus = AppNexusSandbox(speed=SPEED)
    appnexus.seed_line_items(800 * tenths)
    adnuntius = AdnuntiusSandbox(speed=SPEED)
    adnuntius.seed("orders", ({"id": f"order_{i}", "name": f"Order {i}"} for i in range(10)))
    adnuntius.seed(
        "lineitems",
        ({"id": f"li_{i}", "name": f"Line {i}", "order": {"id": f"order_{i % 10}"}} for i in range(600 * tenths)),
    )
    ooyala = OoyalaSandbox(speed=SPEED)
    for c in range(20):
        campaign = f"00000000-0000-4000-8000-{c:012d}"
        ooyala.beans["campaign"][campaign] = {"id": campaign, "name": f"C{c}", "status": "ACTIVE"}
        for g in range(10 * tenths):
            goal = f"00000000-0000-4000-9000-{c * 100 + g:012d}"
            ooyala.beans["goal"][goal] = {
                "id": goal,
                "campaignId": campaign,
                "name": f"G{g}",
                "start": "2026-01-01T00:00:00+0200",
                "goalValue": "1000",
                "type": "IMPRESSION",
                "variant": "NORMAL",
            }
    pulsepro = PulseProSandbox(speed=SPEED, inspections=400 * tenths)
    return {"appnexus": appnexus, "adnuntius": adnuntius, "ooyala": ooyala, "pulsepro": pulsepro}


@contextmanager
def running(apps: dict[str, Sandbox], appnexus_password: str = "secret") -> Iterator[AdOps]:
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(app)) for name, app in apps.items()}
        yield AdOps(
            appnexus=AppNexus(
                username="api-user", password=appnexus_password, base_url=urls["appnexus"], clock=ScaledClock(SPEED)
            ),
            adnuntius=Adnuntius(
                context="network_1", username="user@example.com", password="secret", base_url=urls["adnuntius"]
            ),
            ooyala=OoyalaPulse(api_key="sandbox-key", base_url=urls["ooyala"]),
            pulsepro=PulsePro(
                api_key="test-key",
                base_url=f"{urls['pulsepro']}/api/v1",
                clock=apps["pulsepro"].client_clock(),
                page_size=20,
            ),
        )


WANTED = {"appnexus": "line_items", "adnuntius": "line_items", "ooyala": "line_items", "pulsepro": "inspections"}


def live_models() -> int:
    """Vendor models and entities alive now, wherever they are held (the sandboxes keep plain dicts)."""
    return sum(1 for obj in gc.get_objects() if isinstance(obj, (VendorModel, Entity)))


async def test_20000_entities_across_four_vendors_each_once_without_a_violation_in_flat_memory() -> None:
    apps = seeded()
    seen: Counter[tuple[str, str]] = Counter()
    held: dict[int, int] = {}
    with running(apps) as ops:
        async with ops, ops.paginate(WANTED) as entities:
            async for entity in entities:
                seen[entity.vendor, entity.id] += 1
                if len(seen) in (2_000, 19_000):
                    held[len(seen)] = live_models()
    assert len(seen) == 20_000
    assert set(seen.values()) == {1}
    assert Counter(vendor for vendor, _ in seen) == {
        "appnexus": 8_000,
        "adnuntius": 6_000,
        "ooyala": 2_000,
        "pulsepro": 4_000,
    }
    assert [v for app in apps.values() for v in app.violations] == []
    # Ten times the entities, not ten times the memory: the client holds the stream's buffer and the pages in
    # flight (a few hundred objects), never the history.
    assert held[19_000] < 2_000, held
    assert held[2_000] < 2_000, held


async def test_normalized_line_items_are_comparable_across_vendors() -> None:
    apps = seeded(tenths=1)
    kinds: dict[str, set[type[Any]]] = {}
    with running(apps) as ops:
        async with ops, ops.paginate("line_items") as entities:
            async for entity in entities:
                kinds.setdefault(entity.vendor, set()).add(type(entity))
                if sum(len(k) for k in kinds.values()) == 3 and len(kinds) == 3:
                    break  # leaving early cancels every vendor's producer
    assert kinds == {vendor: {LineItem} for vendor in ("appnexus", "adnuntius", "ooyala")}  # PulsePro has none
    for app in apps.values():
        assert app.violations == []


async def test_one_failing_vendor_is_collected_while_the_others_finish() -> None:
    apps = seeded(tenths=1)
    with running(apps, appnexus_password="wrong") as ops:
        async with ops:
            async with ops.paginate(WANTED, on_error="collect") as entities:
                vendors = Counter([entity.vendor async for entity in entities])
            assert [f.source for f in entities.failures] == ["appnexus"]
            assert isinstance(entities.failures[0].error, AuthError)
            assert vendors == {"adnuntius": 600, "ooyala": 200, "pulsepro": 400}
            with pytest.raises(AdOpsError):
                await drain(ops)


async def drain(ops: AdOps) -> None:
    async with ops.paginate(WANTED) as entities:
        async for _ in entities:
            pass


def test_normalize_maps_vendor_fields() -> None:
    io = normalize("appnexus", "campaigns", {"id": 7, "state": "active", "start_date": "2026-01-02 03:00:00"})
    assert isinstance(io, Campaign)
    assert (io.vendor, io.id, io.status, str(io.start)) == ("appnexus", "7", "active", "2026-01-02 03:00:00")
    raw = {"id": "c", "enabled": True, "budget": {"value": "12.5"}, "end": "2026-01-01T00:00:00+0200"}
    campaign = normalize("ooyala", "campaigns", raw)
    assert (campaign.status, campaign.budget) == ("ENABLED", 12.5)
    assert campaign.end is not None
    assert campaign.end.utcoffset() == timedelta(hours=2)


REPORTS = {
    "appnexus": {"report_type": "network_analytics", "columns": ["day", "imps"], "report_interval": "last_7_days"},
    "ooyala": {"definition_id": "56de9277498ed663342784c7"},
    "adnuntius": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z", "group_by": "LINE_ITEM"},
}


async def test_reports_of_three_vendors_at_once_per_vendor_files_and_merged(tmp_path: Path) -> None:
    apps = seeded(tenths=1)
    with running(apps) as ops:
        async with ops:
            counts = await ops.reports(REPORTS, directory=tmp_path)
            merged = await ops.reports(REPORTS, merged=tmp_path / "all.jsonl")
    assert counts == merged
    assert counts["appnexus"] == 1_000  # the sandbox's default report size
    assert counts["adnuntius"] == 600  # one row per line item
    assert counts["ooyala"] == 10  # the sandbox's report for the definition: every row, not merely some
    for vendor, rows in counts.items():
        with (tmp_path / f"{vendor}.csv").open(newline="") as f:
            assert sum(1 for _ in csv.DictReader(f)) == rows
    lines = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert Counter(line["vendor"] for line in lines) == counts
    assert [v for app in apps.values() for v in app.violations] == []
    with pytest.raises(ValueError, match=r"directory= .* or merged="):
        await ops.reports(REPORTS)
