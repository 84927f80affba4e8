"""Each vendor's rule, kept or broken under load: the default gate vs a naive client that only retries on 429.

Both clients are the same vendor client; the naive one gets ``Gate(MaxInFlight(16), Cooldown())`` instead of the
vendor's gate, i.e. no metering, just "retry when told". Figures come from the sandboxes' own records: requests
refused, violations of the rule, and the achieved rate against the rule's allowed rate where the rule has one.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

import anyio

from adops_async import AdOps, AdOpsError
from adops_async.gates import Cooldown, Gate, MaxInFlight
from adops_async.sandbox import Sandbox, serve
from adops_async.vendors import VENDORS

SPEED = 60.0
PULLS = 4  # concurrent pulls through one client: the load a worker pool puts on one account


def allowed_seconds(name: str, requests: int) -> float | None:
    """Vendor seconds the rule needs at least for ``requests`` requests (None: the rule sets no rate)."""
    if name == "appnexus":
        return max(0, (requests - 1) // 100) * 60.0  # 100 reads per rolling minute
    if name == "pulsepro":
        return max(0.0, requests - 60) * 1.0  # a burst of 60, then one a second
    return None


async def run(name: str, naive: bool) -> dict[str, Any]:
    spec = VENDORS[name]
    with ExitStack() as stack:
        app: Sandbox = spec.sandbox.build(SPEED)
        url = stack.enter_context(serve(app))
        settings = spec.sandbox.settings(app, url)
        if naive:
            settings["gate"] = Gate(MaxInFlight(16), Cooldown(), clock=settings.get("clock"))
        start = time.perf_counter()
        count = 0

        failure = ""

        async def one_pull(ops: AdOps) -> None:
            nonlocal count, failure
            try:
                async with ops.paginate({name: spec.sandbox.demo_pull}) as entities:
                    async for _ in entities:
                        count += 1
            except AdOpsError as exc:  # a naive client can give up: that is a result too
                failure = f"  gave up: {type(exc).__name__}"

        async with AdOps(**{name: settings}) as ops, anyio.create_task_group() as tg:  # type: ignore[arg-type]
            for _ in range(PULLS):
                tg.start_soon(one_pull, ops)
        elapsed = time.perf_counter() - start
        ok = [r for r in app.records if r.status < 400]
        refused = sum(1 for r in app.records if r.status in (405, 409, 429) or r.status >= 500)
    span = (max(r.at for r in ok) - min(r.at for r in ok)) if ok else 0.0
    need = allowed_seconds(name, len(ok))
    return {
        "entities": count,
        "requests": len(app.records),
        "refused": refused,
        "violations": len(app.violations),
        "seconds": elapsed,
        "utilisation": (need / span) if need and span else None,
        "failure": failure,
    }


async def main() -> None:
    print(f"quota: {PULLS} concurrent demo pulls per vendor, default gate vs naive retry-on-429")
    print(f"       (sandboxes at speed {SPEED:g}: a vendor minute lasts {60 / SPEED:g} s; counts from the sandboxes)")
    for name in VENDORS:
        for naive in (False, True):
            r = await run(name, naive)
            use = f"{r['utilisation']:6.1%}" if r["utilisation"] is not None else "     -"
            label = "naive retry-on-429" if naive else "adops-async gate"
            print(
                f"  {name:<10} {label:<19} {r['entities']:6,} entities {r['requests']:5,} requests "
                f"{r['refused']:4} refused {r['violations']:4} violations  utilisation {use}  {r['seconds']:5.2f} s"
                f"{r['failure']}"
            )


if __name__ == "__main__":
    anyio.run(main)
