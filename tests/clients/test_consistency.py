"""Caches converge on the server's state: 50 clusters, 3 kinds, thousands of changes made
by another client, first on healthy clusters and then through faults."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry

from fleet.clients import registry
from fleet.clients.kubeclient import KubeClient
from fleet.clients.metering import Verb
from fleet.sim import faults, serving
from fleet.structs.objects import GroupVersionKind
from tests.clients import support
from tests.clients.support import CONFIGMAP, DEPLOYMENT, SERVICE, Writer
from tests.support import simulator

KINDS = (CONFIGMAP, SERVICE, DEPLOYMENT)
NAMES = [f"obj-{i}" for i in range(8)]


async def churn(sim: serving.Simulator, writer: Writer, *, changes: int, seed: int) -> int:
    """``changes`` random creates, updates and deletes over every cluster, eight at a time;
    some objects are not managed, and some updates take the managed label away."""
    rng = random.Random(seed)
    plan = [
        (rng.choice(sim.names), rng.choice(KINDS), rng.choice(NAMES), rng.random(),
         rng.randrange(99))
        for _ in range(changes)
    ]  # fmt: skip
    queue = asyncio.Queue[tuple[str, GroupVersionKind, str, float, int]]()
    for step in plan:
        queue.put_nowait(step)
    refused = 0

    async def work() -> None:
        nonlocal refused
        while not queue.empty():
            cluster, kind, name, dice, value = queue.get_nowait()
            try:
                if dice < 0.25:
                    status = await writer.delete(cluster, kind, name)
                else:
                    body = support.manifest(
                        kind, name, value=str(value), bundle=f"b{value % 3}", managed=dice < 0.9
                    )
                    status = await writer.apply(cluster, body)
            except (OSError, aiohttp.ClientError):
                status = 0  # a cluster in an outage resets the connection
            refused += status not in (200, 201, 404)

    async with asyncio.TaskGroup() as group:
        for _ in range(8):
            group.create_task(work())
    return refused


async def converged(writer: Writer, clients: dict[str, KubeClient]) -> bool:
    for name, client in clients.items():
        for kind in KINDS:
            if support.cached_state(client, kind) != await writer.server_state(name, kind):
                return False
    return True


async def started(sim: serving.Simulator, tmp_path: Path) -> registry.ClusterRegistry:
    inventory = await sim.write_files(tmp_path)
    clusters = registry.ClusterRegistry(support.settings(inventory), registry=CollectorRegistry())
    await clusters.start()
    for cluster in clusters.clusters():
        client = clusters.client(cluster.name)
        assert client is not None
        await client.watch_kinds(KINDS)
    return clusters


def clients_of(clusters: registry.ClusterRegistry) -> dict[str, KubeClient]:
    found = {c.name: clusters.client(c.name) for c in clusters.clusters()}
    return {name: client for name, client in found.items() if client is not None}


async def test_every_cache_equals_the_server_after_thousands_of_changes(tmp_path: Path) -> None:
    async with simulator.running(clusters=50) as sim, Writer(sim) as writer:
        clusters = await started(sim, tmp_path)
        try:
            clients = clients_of(clusters)
            for client in clients.values():
                await client.cache.wait_synced()
            assert await churn(sim, writer, changes=2500, seed=1) == 0
            await support.until_async(lambda: converged(writer, clients))
            # One list per kind, at the start: every change came by watch.
            assert all(c.meter.requests[Verb.LIST] == len(KINDS) for c in clients.values())
            assert sum(len(client.store) for client in clients.values()) > 500
        finally:
            await clusters.close()


async def test_caches_converge_through_faults_with_bounded_reconnects(tmp_path: Path) -> None:
    # A short event window, so that compaction and resumes meet 410 Gone.
    async with simulator.running(clusters=50, history_window=40) as sim, Writer(sim) as writer:
        clusters = await started(sim, tmp_path)
        try:
            clients = clients_of(clusters)
            for client in clients.values():
                await client.cache.wait_synced()
            down, slow = sim.names[0], sim.names[1:10]
            sim.set_faults(faults.Faults(drop_watches_after=1.0))
            for name in slow:
                sim.set_faults(faults.Faults(drop_watches_after=1.0, latency=0.02), name)
            sim.set_faults(faults.Faults(outage=faults.Outage.RESET), down)
            loop = asyncio.get_running_loop()
            began = loop.time()

            async def compact() -> None:
                # Forget history under the watches, so that resumes get 410 and relist.
                while True:
                    await asyncio.sleep(0.7)
                    for name in sim.names[10:20]:
                        sim.cluster(name).compact()

            async with asyncio.TaskGroup() as group:
                compacting = group.create_task(compact())
                await churn(sim, writer, changes=1500, seed=2)
                await asyncio.sleep(max(0.0, 5.0 - (loop.time() - began)))  # down for 5 s
                sim.set_faults(faults.NONE)
                compacting.cancel()
            await support.until_async(lambda: converged(writer, clients))
            elapsed = loop.time() - began

            await support.eventually(lambda: clients[down].connection.phase == "ready")
            assert clients[down].meter.reconnects > 0
            assert sum(client.meter.relists for client in clients.values()) > 0
            # No busy loop. Healthy clusters: each watch lasts about a second before it is
            # cut. The cluster that was down: backoff 50 ms doubling to 0.5 s, shortened by
            # up to half, makes at most about 25 attempts per kind in 5 s.
            for name, client in clients.items():
                assert client.meter.reconnects < len(KINDS) * (elapsed / 0.5 + 5), (
                    name,
                    client.meter,
                )
            assert clients[down].meter.reconnects < len(KINDS) * 30, clients[down].meter
        finally:
            await clusters.close()
