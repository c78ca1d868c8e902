"""Figures for fan-out: a commit to converged on 10, 100 and 1,000 clusters, then idle.

For each size, `fleet sim` serves the clusters and `fleet run` (its defaults, in-memory
history) manages them, two processes apart from this one. The repository has two
bundles of ten objects (20 per cluster: Namespaces, ConfigMaps, Deployments, Services,
Secrets, ServiceAccounts). After the first sync from empty clusters, one commit changes
the image tag of each bundle's Deployment; its push webhook starts the clock, and the
figures are the time until every cluster is ready (applied, and the rollouts done) at
it, each cluster's own time (p50, p99), the requests each cluster served for it,
fleet's CPU and memory, and apart from them the simulator's CPU. Then the fleet is
left alone, in sync, for IDLE seconds: fleet's CPU share and every request it makes,
which should be watches only -- no write, no list.

Run: ``python -m benchmarks fanout [--clusters 10,100,1000 --idle S] [--quick]``. The
full run rewrites its section of docs/benchmarks.md; ``--quick`` (what the tests run)
uses 3 clusters and 2 s of idle and does not touch the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from benchmarks import harness, reporting, workloads

WORKLOAD = workloads.Workload(bundles=2, objects=10)
READS = ("get", "list", "watch", "discovery")


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    clusters: int
    first_sync: float
    rollout: harness.Convergence
    requests: dict[str, int]
    rollout_cpu: float
    rollout_peak_mib: float
    rollout_sim_cpu: float
    idle_seconds: float
    idle_cpu_percent: float
    idle_requests: dict[str, int]
    idle_rss_mib: float


async def measure(clusters: int, *, idle: float, workdir: Path) -> Figures:
    async with (
        harness.simulator(workdir, clusters) as sim,
        harness.managing(workdir, sim, WORKLOAD, within=120 + clusters) as (fleet, initial),
    ):
        await sim.reset_counters()
        async with harness.Sampler(fleet.pid) as rollout_use, harness.Sampler(sim.pid) as served:
            rollout = await harness.release(fleet, WORKLOAD, "1.1", within=120 + clusters)
        requests = harness.requests_by_verb(await sim.counters())
        await sim.reset_counters()
        async with harness.Sampler(fleet.pid) as idle_use:
            await asyncio.sleep(idle)
        idle_requests = harness.requests_by_verb(await sim.counters())
        return Figures(
            clusters=clusters,
            first_sync=initial.total,
            rollout=rollout,
            requests=requests,
            rollout_cpu=rollout_use.cpu_seconds,
            rollout_peak_mib=rollout_use.peak_mib,
            rollout_sim_cpu=served.cpu_seconds,
            idle_seconds=idle,
            idle_cpu_percent=idle_use.cpu_percent,
            idle_requests=idle_requests,
            idle_rss_mib=reporting.rss_mib(fleet.pid),
        )


def report(figures: Sequence[Figures], command: str) -> str:
    rollout_rows = []
    idle_rows = []
    for f in figures:
        per = f.clusters
        writes = f.requests.get("writes", 0) / per
        reads = sum(f.requests.get(verb, 0) for verb in READS) / per
        rollout_rows.append([
            f"{f.clusters:,}", harness.seconds(f.first_sync), harness.seconds(f.rollout.total),
            harness.seconds(f.rollout.total - f.rollout.fetched),
            harness.seconds(f.rollout.percentile(0.5)), harness.seconds(f.rollout.percentile(0.99)),
            f"{writes:.1f}", f"{reads:.1f}", f"{f.rollout_cpu:.1f} s",
            f"{f.rollout_peak_mib:.0f} MiB", f"{f.rollout_sim_cpu:.1f} s",
        ])  # fmt: skip
        idle = f.idle_requests
        others = {v: n for v, n in idle.items() if v not in ("writes", "list", "watch")}
        idle_rows.append([
            f"{f.clusters:,}", f"{f.idle_seconds:g} s", f"{f.idle_cpu_percent:.2f} %",
            str(idle.get("writes", 0)), str(idle.get("list", 0)), str(idle.get("watch", 0)),
            ", ".join(f"{v} {n}" for v, n in others.items()) or "none",
            f"{f.idle_rss_mib:.0f} MiB", f"{f.idle_rss_mib * 1024 / f.clusters:.0f} KiB",
        ])  # fmt: skip
    return "\n\n".join([
        harness.header(command),
        f"A commit to converged ({WORKLOAD.per_cluster} objects per cluster in "
        f"{WORKLOAD.bundles} bundles; the commit changes one Deployment per bundle)",
        harness.table(
            ["clusters", "first sync (from empty)", "commit to converged", "fetched to converged",
             "per cluster p50", "per cluster p99", "writes per cluster",
             "reads per cluster", "fleet CPU", "fleet peak RSS", "simulator CPU"],
            rollout_rows,
        ),
        "Idle and in sync: what fleet does when nothing changes",
        harness.table(
            ["clusters", "for", "fleet CPU", "writes", "lists", "watches", "other requests",
             "fleet RSS", "per cluster"],
            idle_rows,
        ),
    ])  # fmt: skip


async def run(sizes: Sequence[int], idle: float) -> list[Figures]:
    found = []
    for clusters in sizes:
        with tempfile.TemporaryDirectory(prefix="fleet-fanout-") as scratch:
            figures = await measure(clusters, idle=idle, workdir=Path(scratch))
        print(f"  {clusters} clusters: commit to converged in {figures.rollout.total:.2f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        found.append(figures)
    return found


def sizes_of(text: str) -> list[int]:
    """``10,100,1000`` as cluster counts; argparse turns the error into a usage line."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected counts like 10,100,1000, not {text!r}"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"every count must be at least 1, not {text!r}")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks fanout", description=__doc__)
    parser.add_argument(
        "--clusters", type=sizes_of, default="10,100,1000", help="sizes, comma-separated"
    )
    parser.add_argument(
        "--idle", type=harness.positive(float), default=120.0, help="seconds left idle"
    )
    parser.add_argument("--quick", action="store_true", help="3 clusters; docs untouched")
    args = parser.parse_args(argv)
    sizes = [3] if args.quick else args.clusters
    idle = 2.0 if args.quick else args.idle
    command = harness.command("fanout", argv)
    text = report(asyncio.run(run(sizes, idle)), command)
    reporting.publish("fanout", text, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
