"""Figures for the informers: caches of 1,000 clusters, their memory, their idle cost.

A `fleet sim --plain-http` process serves CLUSTERS clusters, and a separate populating
process gives each OBJECTS objects labelled as fleet's (a namespace, then ConfigMaps,
Deployments, Services, Secrets and a ServiceAccount: six kinds). Then this process --
fleet's side, and the only one whose memory is measured -- loads the inventory, starts
a client per cluster and an informer per kind, and waits until every cache has synced.
It reports the time that takes, fleet's resident memory per cluster, the watch
connections open (fleet's count and the sockets the process holds), and what an idle,
in-sync fleet does for IDLE seconds: its CPU share and its requests by verb, which
should be watches only.

Run: ``python -m benchmarks informers [--clusters N --objects M --idle S] [--quick]``.
The full run rewrites its section of docs/benchmarks.md; ``--quick`` (what the tests run)
uses 20 clusters of 6 objects and does not touch the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry

from benchmarks import reporting, simulator
from fleet.clients import registry
from fleet.clients.kubeclient import KubeClient
from fleet.structs.objects import GroupVersionKind
from fleet.structs.settings import ClientSettings

DOC = reporting.BENCHMARKS_PAGE
MANAGED = {"app.kubernetes.io/managed-by": "fleet", "fleet.dev/bundle": "bench"}
KINDS = [
    GroupVersionKind("", "v1", kind)
    for kind in ("Namespace", "ConfigMap", "Service", "Secret", "ServiceAccount")
] + [GroupVersionKind("apps", "v1", "Deployment")]
APPLY = "application/apply-patch+yaml"


async def populate(out: Path, count: int, connections: int) -> None:
    """Apply ``count`` managed objects to every cluster (the populating process)."""
    manifests = simulator.objects(count)
    for _, body in manifests:
        body["metadata"].setdefault("labels", {}).update(MANAGED)
    queue = collections.deque(simulator.targets(out))

    async def worker(session: aiohttp.ClientSession) -> None:
        while queue:
            target = queue.popleft()
            for path, body in manifests:
                async with session.patch(
                    target.url + path, data=json.dumps(body), params={"fieldManager": "bench"},
                    headers={"Authorization": f"Bearer {target.token}", "Content-Type": APPLY},
                ) as response:  # fmt: skip
                    if response.status not in (200, 201):
                        raise RuntimeError(f"apply {path} failed with {response.status}")

    connector = aiohttp.TCPConnector(limit=connections)
    session = aiohttp.ClientSession(connector=connector, timeout=simulator.TIMEOUT)
    async with session, asyncio.TaskGroup() as group:
        for _ in range(connections):
            group.create_task(worker(session))


def sockets() -> int:
    """Sockets this process holds open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


async def measure(
    *, clusters: int, count: int, idle: float, workdir: Path
) -> list[tuple[str, str]]:
    out = workdir / "out"
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fleet", "sim", "--clusters", str(clusters), "--plain-http",
        "--out", str(out), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None
    rows: list[tuple[str, str]] = []
    try:
        async with asyncio.timeout(120):
            ready = (await server.stdout.readline()).decode()
        if not re.search(r"\(port \d+\)", ready):
            raise RuntimeError(f"fleet sim did not start: {ready!r}")
        filler = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.informers", "--populate", str(out),
            "--objects", str(count),
        )  # fmt: skip
        async with asyncio.timeout(600):
            if await filler.wait() != 0:
                raise RuntimeError("populating the clusters failed")
        rows += await _fleet_side(out / "inventory.yaml", clusters=clusters, count=count, idle=idle)
    finally:
        server.terminate()
        async with asyncio.timeout(30):
            await server.wait()
    return rows


async def _fleet_side(
    inventory: Path, *, clusters: int, count: int, idle: float
) -> list[tuple[str, str]]:
    pid = os.getpid()
    gc.collect()
    before = reporting.rss_mib(pid)
    sockets_before = sockets()
    settings = ClientSettings(inventory=inventory, inventory_poll_interval=0.0)
    started, spent = time.perf_counter(), reporting.cpu_seconds(pid)
    async with registry.ClusterRegistry(settings, registry=CollectorRegistry()) as fleet:
        clients = [fleet.client(c.name) for c in fleet.clusters()]
        found = [client for client in clients if client is not None]
        await asyncio.gather(*(client.watch_kinds(KINDS) for client in found))
        await asyncio.gather(*(client.cache.wait_synced() for client in found))
        synced = time.perf_counter() - started
        spent = reporting.cpu_seconds(pid) - spent
        requests = sum(_requests(found).values())
        cached = sum(len(client.store) for client in found)
        if len(found) != clusters or cached != clusters * count:
            raise RuntimeError(f"{len(found)} clusters, {cached} objects cached")
        await _all_watching(found)
        gc.collect()
        after = reporting.rss_mib(pid)
        watches = sum(client.meter.watches for client in found)
        held = sockets() - sockets_before
        asked = _requests(found)
        cpu = reporting.cpu_seconds(pid)
        await asyncio.sleep(idle)
        cpu_share = (reporting.cpu_seconds(pid) - cpu) / idle
        idle_requests = _requests(found) - asked
        stopping = time.perf_counter()
    stopped = time.perf_counter() - stopping
    shown = ", ".join(f"{verb} {n}" for verb, n in sorted(idle_requests.items())) or "none"
    return [
        (f"start {clusters:,} clients, {len(KINDS)} informers each, until every cache synced",
         f"{synced:.1f} s"),
        ("fleet's CPU time until then (requests made)", f"{spent:.1f} s ({requests:,})"),
        (f"objects cached ({clusters:,} clusters x {count})", f"{cached:,}"),
        ("fleet's memory (RSS) before the clients", f"{before:.0f} MiB"),
        ("fleet's memory (RSS) with every cache synced", f"{after:.0f} MiB"),
        ("memory per cluster", f"{(after - before) * 1024 / clusters:.0f} KiB"),
        ("watch connections open (fleet's count / sockets held)", f"{watches:,} / {held:,}"),
        (f"CPU while idle for {idle:g} s (share of one core)", f"{100 * cpu_share:.1f} %"),
        (f"requests while idle for {idle:g} s", shown),
        ("stop every client (tasks cancelled, sessions closed)", f"{stopped:.1f} s"),
    ]  # fmt: skip


async def _all_watching(clients: Sequence[KubeClient]) -> None:
    async with asyncio.timeout(120):
        # A count over many clients: there is no one event to wait on.
        while sum(client.meter.watches for client in clients) < len(clients) * len(KINDS):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def _requests(clients: Sequence[KubeClient]) -> collections.Counter[str]:
    total: collections.Counter[str] = collections.Counter()
    for client in clients:
        total.update({str(verb): n for verb, n in client.meter.requests.items()})
    return total


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks informers")
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--objects", type=int, default=20, help="managed objects per cluster")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle to measure")
    parser.add_argument("--quick", action="store_true", help="20 clusters x 6 objects, 1 s idle")
    parser.add_argument("--doc", type=Path, default=DOC, help="the page whose figures to rewrite")
    parser.add_argument("--populate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.populate:
        asyncio.run(populate(args.populate, args.objects, connections=16))
        return 0
    clusters, count, idle = (20, 6, 1.0) if args.quick else (args.clusters, args.objects, args.idle)
    with tempfile.TemporaryDirectory(prefix="fleet-informers-bench-") as workdir:
        rows = asyncio.run(
            measure(clusters=clusters, count=count, idle=idle, workdir=Path(workdir))
        )
    command = "python -m benchmarks informers" + (" --quick" if args.quick else "")
    header = (
        f"`{command}`: one `fleet sim --plain-http` process, {clusters:,} clusters x {count} "
        f"managed objects of {len(KINDS)} kinds; fleet's side in this process; "
        f"{reporting.machine()}."
    )
    text = simulator.table(rows, header=header)
    print(text)
    if not args.quick:
        reporting.rewrite_section(args.doc, "informers", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
