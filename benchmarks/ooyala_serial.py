"""Ooyala Pulse's one-request-in-flight rule under 300 concurrent tasks: how busy the client keeps the line.

The gate lets one request out at a time, so the best any client can do is one request per round trip. The figure is
the achieved rate against the rate of uncontended round trips measured in the same run, through the same client,
over the same mix of calls (reads, read-modify-writes, report polls), once before the load and once after (the
machine's load drifts). Moved here from tests/vendors/test_ooyala_e2e.py, which keeps the correctness checks.
"""

from __future__ import annotations

import anyio

from adops_async.sandbox import serve
from adops_async.sandbox.ooyala import OoyalaSandbox
from adops_async.vendors.ooyala import OoyalaPulse

TASKS = 300
LATENCY = 0.004
"""Real seconds each sandbox request takes: the wire time a real Pulse call spends in the server."""


async def main() -> None:
    app = OoyalaSandbox(report_seconds=0.02, latency=LATENCY)
    with serve(app) as url:
        async with OoyalaPulse(api_key="sandbox-key", base_url=url) as pulse:
            ids = [(await pulse.campaigns.create({"name": f"c{i}", "priority": 5})).id or "" for i in range(10)]
            definition = (await pulse.reports.definitions())[0].id
            probe = await pulse.reports.run(definition)

            async def round_trips() -> tuple[float, int]:
                before, started = app.count(), anyio.current_time()
                for i in range(30):
                    if i % 20 == 0:
                        await probe.check()
                    elif i % 3 == 0:
                        await pulse.campaigns.update(ids[i % 10], {"description": f"probe {i}"})
                    else:
                        await pulse.campaigns.get(ids[i % 10])
                return anyio.current_time() - started, app.count() - before

            async def work(i: int) -> None:
                if i % 20 == 0:
                    job = await pulse.reports.run(definition, [{"type": "CAMPAIGN", "id": ids[i % 10]}])
                    await job.wait(first=0.005, longest=0.02)
                    async for _ in job.rows():
                        pass
                elif i % 3 == 0:
                    await pulse.campaigns.update(ids[i % 10], {"description": f"task {i}"})
                else:
                    await pulse.campaigns.get(ids[i % 10])

            probe_time, probe_requests = await round_trips()
            before, started = app.count(), anyio.current_time()
            async with anyio.create_task_group() as tg:
                for i in range(TASKS):
                    tg.start_soon(work, i)
            elapsed = anyio.current_time() - started
            sent = app.count() - before
            more_time, more_requests = await round_trips()
    rtt = (probe_time + more_time) / (probe_requests + more_requests)
    throughput = sent / elapsed
    print(f"ooyala_serial: {TASKS} concurrent tasks on one Serial gate, {LATENCY * 1000:g} ms server latency")
    print(
        f"  {sent:,} requests in {elapsed:.2f} s: {throughput:,.0f} req/s = {throughput * rtt:.2f}x the uncontended "
        f"rate (1 / RTT, RTT {rtt * 1000:.2f} ms); overlapping requests recorded: {len(app.violations)}"
    )


if __name__ == "__main__":
    anyio.run(main)
