"""Figures for drift: out-of-band changes over the fleet, and how soon each is undone.

`fleet sim` serves CLUSTERS clusters, converged by `fleet run` on two bundles of ten
objects. Then CHANGES edits are made by hand, as ``kubectl edit`` makes them (a merge
patch with field manager ``kubectl-edit``), spread round robin over the clusters and
in time (RATE a second), each to one managed ConfigMap value. Each edit is watched from
just before it is made, on the cluster itself, and its time to revert is from the
edit's answer until the cluster's watch shows fleet's value back. The status API's
drift records are then counted: each edit should be recorded once, naming
``kubectl-edit`` as who made it.

Run: ``python -m benchmarks drift [--clusters N --changes C --rate R] [--quick]``.
The full run rewrites its section of docs/benchmarks.md; ``--quick`` (what the tests
run) makes 6 edits on 3 clusters and does not touch the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from benchmarks import harness, reporting, simulator, workloads

WORKLOAD = workloads.Workload(bundles=2, objects=10)
NAMESPACE = WORKLOAD.names()[0]
PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps/configmap-0"
MANAGER = "kubectl-edit"


async def revert_time(
    session: aiohttp.ClientSession, target: simulator.Target, index: int
) -> float:
    """Edit the ConfigMap on ``target``; seconds until its first value is fleet's again."""
    headers = {"Authorization": f"Bearer {target.token}"}
    async with session.get(target.url + PATH, headers=headers) as response:
        current = await response.json()
    desired = current["data"]["key0"]
    watch = session.get(
        target.url + f"/api/v1/namespaces/{NAMESPACE}/configmaps",
        params={
            "watch": "1",
            "fieldSelector": "metadata.name=configmap-0",
            "resourceVersion": current["metadata"]["resourceVersion"],
        },
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=None, sock_read=120),
    )
    async with watch as events:
        patch = {"data": {"key0": f"edited by hand ({index})"}}
        async with session.patch(
            target.url + PATH, data=json.dumps(patch), params={"fieldManager": MANAGER},
            headers={**headers, "Content-Type": "application/merge-patch+json"},
        ) as response:  # fmt: skip
            if response.status != 200:
                raise harness.BenchmarkError(f"edit failed: {response.status}")
            edited = time.monotonic()
        async for line in events.content:
            event = json.loads(line)
            if event["type"] == "MODIFIED" and event["object"]["data"]["key0"] == desired:
                return time.monotonic() - edited
    raise harness.BenchmarkError(f"the watch of {target.url} ended before the revert")


async def measure(clusters: int, changes: int, rate: float, workdir: Path) -> dict[str, float]:
    async with (
        harness.simulator(workdir, clusters) as sim,
        harness.managing(workdir, sim, WORKLOAD, within=120 + clusters) as (fleet, _),
    ):
        targets = simulator.targets(sim.out)
        connector = aiohttp.TCPConnector(limit=0)
        async with (
            aiohttp.ClientSession(connector=connector, timeout=harness.TIMEOUT) as session,
            asyncio.TaskGroup() as group,
        ):
            tasks = []
            for index in range(changes):
                target = targets[index % len(targets)]
                tasks.append(group.create_task(revert_time(session, target, index)))
                await asyncio.sleep(1 / rate)
        times = [task.result() for task in tasks]
        records = await fleet.get("/api/v1/drift", {"limit": "1000"})
        named = [r for r in records["items"] if r["field_manager"] == MANAGER]
        return {
            "changes": changes,
            "clusters": clusters,
            "p50": harness.percentile(times, 0.5),
            "p99": harness.percentile(times, 0.99),
            "max": max(times),
            "recorded": len(named),
        }


def report(figures: dict[str, float], rate: float, command: str) -> str:
    row = [
        f"{figures['changes']:.0f}", f"{figures['clusters']:.0f}", f"{rate:g} per second",
        harness.seconds(figures["p50"]), harness.seconds(figures["p99"]),
        harness.seconds(figures["max"]), f"{figures['recorded']:.0f}",
    ]  # fmt: skip
    return "\n\n".join(
        [
            harness.header(command),
            "Out-of-band edits (`kubectl-edit`) until fleet's value is back, seen by a watch",
            harness.table(
                [
                    "edits",
                    "clusters",
                    "made at",
                    "revert p50",
                    "revert p99",
                    "slowest",
                    f"drift records naming {MANAGER}",
                ],
                [row],
            ),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks drift", description=__doc__)
    parser.add_argument("--clusters", type=harness.positive(int), default=100)
    parser.add_argument("--changes", type=harness.positive(int), default=100)
    parser.add_argument("--rate", type=harness.positive(float), default=20.0, help="edits a second")
    parser.add_argument("--quick", action="store_true", help="6 edits, 3 clusters; docs untouched")
    args = parser.parse_args(argv)
    clusters, changes = (3, 6) if args.quick else (args.clusters, args.changes)
    with tempfile.TemporaryDirectory(prefix="fleet-drift-") as scratch:
        figures = asyncio.run(measure(clusters, changes, args.rate, Path(scratch)))
    command = harness.command("drift", argv)
    text = report(figures, args.rate, command)
    reporting.publish("drift", text, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
