"""Figures for the peers' published workload shapes: converging from empty clusters.

Two shapes, each measured from `fleet run` starting until every cluster is ready:

- Rancher Fleet's sizing guidance: 50 applications to 500 clusters (SUSE sizes that at
  16 vCPU and 64 GB). Here: 50 bundles of 4 objects (a Namespace, two ConfigMaps and a
  Deployment), every bundle on every one of 500 clusters.
- flux-benchmark's shape: 1,000 Kustomizations to one cluster (Flux v2.6.0 with 2 CPU:
  100 in 28 s, 1,000 in 4 min 16 s, 175 MiB). Here: 1,000 bundles of 4 objects to one
  cluster; once with fleet's defaults, where the cluster's request limit (50 a second)
  decides the time, and once with that limit raised, which shows what fleet itself
  can do.

Both run against `fleet sim` in another process; the figures are the time to converge,
fleet's peak resident memory and the CPU seconds it used (from its start), the
simulator's CPU seconds over the same time, and the writes the clusters served.

Run: ``python -m benchmarks sizing [--quick]``. The full run rewrites its section of
docs/benchmarks.md; ``--quick`` (what the tests run) makes both shapes small (5
bundles to 5 clusters, 20 bundles to one) and does not touch the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import harness, reporting, workloads
from fleet.sources import publishing

OBJECTS = 4


@dataclasses.dataclass(frozen=True, slots=True)
class Shape:
    name: str
    clusters: int
    bundles: int
    published: str
    options: tuple[str, ...] = ()
    """Flags of `fleet run` beyond its defaults."""


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    shape: Shape
    converged: float
    peak_mib: float
    cpu_seconds: float
    sim_cpu_seconds: float
    requests: dict[str, int]


FULL = (
    Shape("Rancher Fleet's sizing: 50 apps to 500 clusters", 500, 50,
          "16 vCPU, 64 GB (SUSE's sizing guidance)"),
    Shape("flux-benchmark: 1,000 Kustomizations to 1 cluster", 1, 1000,
          "4 min 16 s, 175 MiB (Flux v2.6.0, 2 CPU)"),
    Shape("the same, the cluster's limit raised (`--clients-qps 1000 --clients-burst 1000`)",
          1, 1000, "-", ("--clients-qps", "1000", "--clients-burst", "1000")),
)  # fmt: skip
QUICK = (Shape("quick: 5 bundles to 5 clusters", 5, 5, "-"),
         Shape("quick: 20 bundles to 1 cluster", 1, 20, "-"))  # fmt: skip


async def measure(shape: Shape, workdir: Path) -> Figures:
    workload = workloads.Workload(bundles=shape.bundles, objects=OBJECTS)
    async with harness.simulator(workdir, shape.clusters) as sim:
        origin = workdir / "fleet.git"
        revision = publishing.publish_files(origin, files=workload.files("1.0"), message="v1")
        started = time.time()
        async with harness.controller(
            workdir, origin=origin, inventory=sim.inventory, options=shape.options
        ) as fleet:
            async with harness.Sampler(fleet.pid) as use, harness.Sampler(sim.pid) as served:
                await harness.converged(fleet, revision, since=started, within=1800)
            return Figures(
                shape=shape,
                converged=time.time() - started,
                peak_mib=use.peak_mib,
                cpu_seconds=reporting.cpu_seconds(fleet.pid),
                sim_cpu_seconds=served.cpu_seconds,
                requests=harness.requests_by_verb(await sim.counters()),
            )


def report(figures: Sequence[Figures], command: str) -> str:
    rows = []
    for f in figures:
        objects = f.shape.clusters * f.shape.bundles * OBJECTS
        rows.append([
            f.shape.name, f"{objects:,}", harness.seconds(f.converged), f"{f.peak_mib:.0f} MiB",
            f"{f.cpu_seconds:.1f} s", f"{f.sim_cpu_seconds:.1f} s",
            f"{f.requests.get('writes', 0):,}", f.shape.published,
        ])  # fmt: skip
    return "\n\n".join(
        [
            harness.header(command),
            f"From empty clusters to converged ({OBJECTS} objects a bundle; fleet from its start)",
            harness.table(
                [
                    "workload",
                    "objects",
                    "converged",
                    "fleet peak RSS",
                    "fleet CPU",
                    "simulator CPU",
                    "writes",
                    "published (real clusters)",
                ],
                rows,
            ),
        ]
    )


async def run(shapes: Sequence[Shape]) -> list[Figures]:
    found = []
    for shape in shapes:
        with tempfile.TemporaryDirectory(prefix="fleet-sizing-") as scratch:
            found.append(await measure(shape, Path(scratch)))
        print(f"  {shape.name}: {found[-1].converged:.1f} s", file=sys.stderr, flush=True)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks sizing", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small shapes; docs untouched")
    args = parser.parse_args(argv)
    command = harness.command("sizing", argv)
    text = report(asyncio.run(run(QUICK if args.quick else FULL)), command)
    reporting.publish("sizing", text, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
