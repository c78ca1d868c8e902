"""Figures for fleet against the push pipeline a team would otherwise script.

In one run and on one `fleet sim` (HTTPS, as kubectl needs to send a token), 2 x
CLUSTERS clusters: the first half gets its changes from a pipeline, ``kubectl apply
--server-side`` of the manifests (the same 20 objects fleet renders, in one file) to
each cluster, one cluster after another and then 8 at a time; the other half is
fleet's, and gets the same change as one commit and its push webhook. Both halves
start from the same objects, applied before the clock starts.

The pipeline's time ends when its last ``kubectl apply`` returns; it waits for no
rollout. Fleet's ends when every cluster is ready, rollouts done, so the comparison
favours the pipeline.

Run: ``python -m benchmarks push [--clusters N] [--quick]``. The full run rewrites its
section of docs/benchmarks.md; ``--quick`` (what the tests run) uses 2 clusters a side
and does not touch the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from benchmarks import harness, reporting, workloads

WORKLOAD = workloads.Workload(bundles=2, objects=10)
PARALLEL = 8


async def kubectl_apply(kubeconfig: Path, manifests: Path, cache: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), "apply",
        "--server-side", "--field-manager", "pipeline", "-f", str(manifests),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    if process.returncode != 0:
        raise harness.BenchmarkError(f"kubectl apply to {kubeconfig.name}: {err.decode()}")


async def pipeline(kubeconfigs: Sequence[Path], manifests: Path, *, at_once: int) -> float:
    """Seconds to apply ``manifests`` to every cluster, ``at_once`` clusters at a time."""
    pending = list(kubeconfigs)
    cache = manifests.parent / "kube-cache"

    async def worker() -> None:
        while pending:
            await kubectl_apply(pending.pop(0), manifests, cache)

    started = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for _ in range(at_once):
            group.create_task(worker())
    return time.monotonic() - started


def split_inventory(out: Path, clusters: int) -> tuple[list[Path], Path]:
    """The pipeline's kubeconfigs (the first half), and an inventory of the second half."""
    entries = yaml.safe_load((out / "inventory.yaml").read_text())["clusters"]
    kubeconfigs = [out / entry["kubeconfig"] for entry in entries[:clusters]]
    inventory = out / "fleet-inventory.yaml"
    inventory.write_text(yaml.safe_dump({"clusters": entries[clusters:]}))
    return kubeconfigs, inventory


def manifests_file(workdir: Path, version: str) -> Path:
    path = workdir / f"manifests-{version}.yaml"
    path.write_text(yaml.safe_dump_all(WORKLOAD.manifests(version)))
    return path


async def measure(clusters: int, workdir: Path) -> dict[str, float]:
    within = 120 + clusters
    async with harness.simulator(workdir, 2 * clusters, tls=True) as sim:
        kubeconfigs, inventory = split_inventory(sim.out, clusters)
        async with harness.managing(workdir, sim, WORKLOAD, inventory=inventory, within=within) as (
            fleet,
            _,
        ):
            await pipeline(kubeconfigs, manifests_file(workdir, "1.0"), at_once=PARALLEL)
            one_by_one = await pipeline(kubeconfigs, manifests_file(workdir, "1.1"), at_once=1)
            parallel = await pipeline(kubeconfigs, manifests_file(workdir, "1.2"), at_once=PARALLEL)
            rollout = await harness.release(fleet, WORKLOAD, "1.1", within=within)
    return {"clusters": clusters, "one_by_one": one_by_one, "parallel": parallel,
            "fleet": rollout.total}  # fmt: skip


def kubectl_version() -> str:
    answer = subprocess.run(
        ["kubectl", "version", "--client", "-o", "json"], capture_output=True, text=True,
        check=True, timeout=30,
    )  # fmt: skip
    return str(json.loads(answer.stdout)["clientVersion"]["gitVersion"])


def report(figures: dict[str, float], command: str) -> str:
    fleet = figures["fleet"]
    rows = [
        ["`kubectl apply --server-side`, one cluster after another",
         harness.seconds(figures["one_by_one"]),
         harness.seconds(figures["one_by_one"] / figures["clusters"]),
         f"{figures['one_by_one'] / fleet:.1f} x fleet's"],
        [f"`kubectl apply --server-side`, {PARALLEL} clusters at a time",
         harness.seconds(figures["parallel"]),
         harness.seconds(figures["parallel"] / figures["clusters"]),
         f"{figures['parallel'] / fleet:.1f} x fleet's"],
        ["fleet: one commit and its webhook, until ready (rollouts done)",
         harness.seconds(fleet), harness.seconds(fleet / figures["clusters"]), "1"],
    ]  # fmt: skip
    return "\n\n".join(
        [
            harness.header(command),
            f"The same change ({WORKLOAD.per_cluster} objects per cluster) to "
            f"{figures['clusters']:.0f} clusters, on one simulator (kubectl {kubectl_version()})",
            harness.table(["how", "total", "per cluster", "time"], rows),
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks push", description=__doc__)
    parser.add_argument(
        "--clusters", type=harness.positive(int), default=100, help="clusters on each side"
    )
    parser.add_argument("--quick", action="store_true", help="2 clusters a side; docs untouched")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fleet-push-") as scratch:
        figures = asyncio.run(measure(2 if args.quick else args.clusters, Path(scratch)))
    command = harness.command("push", argv)
    text = report(figures, command)
    reporting.publish("push", text, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
