"""Four vendors at once (``AdOps.paginate``) vs one after another, each under its own gate, against the sandboxes.

Each vendor's pull is bounded by its own rule (AppNexus' read quota, PulsePro's bucket, Ooyala's one request at a
time, Adnuntius' cooldowns), so running them side by side should take about as long as the slowest alone.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

import anyio

from adops_async import AdOps
from adops_async.vendors import VENDORS

SPEED = 60.0


async def pull(concurrently: bool) -> tuple[float, int, int]:
    with ExitStack() as stack:
        from adops_async.sandbox import serve

        apps = {name: spec.sandbox.build(SPEED) for name, spec in VENDORS.items()}
        urls = {name: stack.enter_context(serve(app)) for name, app in apps.items()}
        settings = {name: VENDORS[name].sandbox.settings(apps[name], urls[name]) for name in VENDORS}
        ops = AdOps(**settings)  # type: ignore[arg-type]
        count = 0
        start = time.perf_counter()
        async with ops:
            wanted = {name: spec.sandbox.demo_pull for name, spec in VENDORS.items()}
            groups = [wanted] if concurrently else [{name: what} for name, what in wanted.items()]
            for group in groups:
                async with ops.paginate(group) as entities:
                    async for _ in entities:
                        count += 1
        elapsed = time.perf_counter() - start
        violations = sum(len(app.violations) for app in apps.values())
    return elapsed, count, violations


async def main() -> None:
    together, n1, v1 = await pull(concurrently=True)
    apart, n2, v2 = await pull(concurrently=False)
    print(f"fan_in: {n1:,} entities from four sandboxes (a vendor minute lasts {60 / SPEED:g} s)")
    print(f"  one after another  {apart:6.2f} s  violations {v2}")
    print(f"  all four at once   {together:6.2f} s  violations {v1}  ({apart / together:4.2f}x faster)")
    assert n1 == n2


if __name__ == "__main__":
    anyio.run(main)
