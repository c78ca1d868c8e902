"""Informers: paginated lists, resumes from bookmarks, relists on 410 that deliver only
the difference, backoff on the fake clock, and an idle cluster that costs only watches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from fleet.clients import informing
from fleet.clients.kubeclient import KubeClient
from fleet.clients.metering import Verb
from fleet.sim import faults, serving
from fleet.structs.kube import EventType, ObjectEvent
from tests.clients import support
from tests.clients.support import CONFIGMAP, DEPLOYMENT, SERVICE, Writer
from tests.support import simulator
from tests.support.clock import FakeClock


def informer_of(client: KubeClient) -> informing.Informer:
    (informer,) = client.informers
    return informer


async def test_a_paginated_list_caches_exactly_the_managed_objects(
    sim: serving.Simulator, inventory: Path
) -> None:
    async with Writer(sim) as writer:
        for index in range(5):
            await writer.apply("sim-000", support.manifest(CONFIGMAP, f"managed-{index}"))
        await writer.apply("sim-000", support.manifest(CONFIGMAP, "other", managed=False))
        async with support.connected(inventory, "sim-000", list_page_size=2) as client:
            await client.watch_kinds([CONFIGMAP])
            await client.cache.wait_synced()
            assert client.meter.requests[Verb.LIST] == 3
            assert support.cached_state(client, CONFIGMAP) == await writer.server_state(
                "sim-000", CONFIGMAP
            )
            assert len(client.store) == 5
            assert [obj["metadata"]["name"] for obj in client.cache.by_bundle("b1")] == [
                f"managed-{i}" for i in range(5)
            ]
            assert all(obj["kind"] == "ConfigMap" for obj in client.cache.by_bundle("b1"))


async def test_a_relist_after_410_delivers_only_the_difference(
    sim: serving.Simulator, inventory: Path
) -> None:
    clock = FakeClock()
    async with Writer(sim) as writer:
        for name in ("kept", "changed", "deleted"):
            await writer.apply("sim-000", support.manifest(CONFIGMAP, name))
        async with support.connected(inventory, "sim-000", clock=clock) as client:
            await client.watch_kinds([CONFIGMAP])
            await client.cache.wait_synced()
            informer = informer_of(client)
            await support.eventually(lambda: informer.phase is informing.Phase.WATCHING)
            events: list[ObjectEvent] = []
            client.subscribe(events.append)
            # End the watch; having delivered nothing, it backs off on the fake clock.
            sim.cluster("sim-000").drop_watches()
            await support.eventually(lambda: clock.pending == 1)
            await writer.apply("sim-000", support.manifest(CONFIGMAP, "changed", value="2"))
            await writer.delete("sim-000", CONFIGMAP, "deleted")
            await writer.apply("sim-000", support.manifest(CONFIGMAP, "added"))
            sim.cluster("sim-000").compact()
            await clock.advance(1.0)
            await support.eventually(lambda: len(events) == 3)
            assert {(e.type, e.key.name) for e in events} == {
                (EventType.MODIFIED, "changed"), (EventType.DELETED, "deleted"),
                (EventType.ADDED, "added"),
            }  # fmt: skip
            assert client.meter.relists == 1
            assert support.cached_state(client, CONFIGMAP) == await writer.server_state(
                "sim-000", CONFIGMAP
            )


async def test_a_resume_starts_from_the_last_bookmark(tmp_path: Path) -> None:
    async with simulator.running(clusters=1, bookmark_interval=0.05) as sim, Writer(sim) as writer:
        inventory = await sim.write_files(tmp_path)
        async with support.connected(inventory, "sim-000") as client:
            await client.watch_kinds([CONFIGMAP])
            await client.cache.wait_synced()
            # Changes to another kind move the cluster's resourceVersion; bookmarks carry
            # it to the ConfigMap watch, which has no event of its own.
            await writer.apply("sim-000", support.manifest(SERVICE, "elsewhere"))
            current = str(sim.cluster("sim-000").store.resource_version)
            await support.eventually(lambda: informer_of(client).version == current)
            sim.cluster("sim-000").compact()  # history up to `current` is gone
            sim.cluster("sim-000").drop_watches()
            await support.eventually(lambda: client.meter.requests[Verb.WATCH] >= 2)
            await support.eventually(lambda: client.meter.watches == 1)
            assert client.meter.relists == 0
            assert client.meter.requests[Verb.LIST] == 1


async def test_an_idle_cluster_makes_no_list_and_no_write(
    sim: serving.Simulator, inventory: Path
) -> None:
    async with Writer(sim) as writer:
        await writer.apply("sim-000", support.manifest(DEPLOYMENT, "web"))
        async with support.connected(
            inventory, "sim-000", watch_timeout_min=1, watch_timeout_max=1
        ) as client:
            await client.watch_kinds([CONFIGMAP, DEPLOYMENT])
            await client.cache.wait_synced()
            await support.eventually(lambda: len(client.store) == 1)
            sim.reset_counters("sim-000")
            # Every watch ends after a second; three rounds of reconnects.
            await support.eventually(lambda: sim.counters("sim-000")["watch"] >= 6)
            idle = sim.counters("sim-000")
            assert (idle["list"], idle["get"], idle.writes) == (0, 0, 0)


async def test_backoff_grows_to_its_bound_and_starts_over(
    sim: serving.Simulator, inventory: Path
) -> None:
    clock = FakeClock()
    async with support.connected(
        inventory, "sim-000", clock=clock,
        reconnect_initial=0.8, reconnect_max=30.0, reconnect_jitter=0.0,
    ) as client:  # fmt: skip
        await client.watch_kinds([CONFIGMAP])
        await client.cache.wait_synced()
        informer = informer_of(client)
        await support.eventually(lambda: informer.phase is informing.Phase.WATCHING)
        sim.set_faults(faults.Faults(outage=faults.Outage.RESET), "sim-000")

        def watched(count: int) -> Callable[[], bool]:
            return lambda: client.meter.requests[Verb.WATCH] == count

        # Each wait is exact (no jitter): nothing happens a hundredth of a second before
        # it ends, and the next attempt comes a hundredth after.
        for wait in (0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0):
            await support.eventually(lambda: clock.pending == 1)
            attempts = client.meter.requests[Verb.WATCH]
            await clock.advance(wait - 0.01)
            assert client.meter.requests[Verb.WATCH] == attempts
            await clock.advance(0.02)
            await support.eventually(watched(attempts + 1))
        sim.set_faults(faults.NONE, "sim-000")
        await support.eventually(lambda: clock.pending == 1)
        await clock.advance(30.0)
        await support.eventually(lambda: informer.phase is informing.Phase.WATCHING)
        async with Writer(sim) as writer:  # an event: the watch is healthy again
            await writer.apply("sim-000", support.manifest(CONFIGMAP, "news"))
        await support.eventually(
            lambda: client.cache.get(support.key_of(CONFIGMAP, "news")) is not None
        )
        sim.cluster("sim-000").drop_watches()  # cut: the backoff starts over at 0.8 s
        await support.eventually(lambda: clock.pending == 1)
        await clock.advance(0.79)
        assert informer.phase is informing.Phase.BACKING_OFF
        await clock.advance(0.02)
        await support.eventually(lambda: informer.phase is informing.Phase.WATCHING)


async def test_events_of_an_object_arrive_in_order_and_the_cache_leads_them(
    sim: serving.Simulator, inventory: Path
) -> None:
    seen: list[tuple[EventType, str | None, bool]] = []
    async with support.connected(inventory, "sim-000") as client:

        def handler(event: ObjectEvent) -> None:
            version = (event.new or event.old or {}).get("metadata", {}).get("resourceVersion")
            cached = client.cache.get(event.key)
            seen.append((event.type, version, cached is None))

        def broken(event: ObjectEvent) -> None:
            raise RuntimeError("a handler with a bug")

        client.subscribe(broken)
        unsubscribe = client.subscribe(handler)
        await client.watch_kinds([CONFIGMAP])
        await client.cache.wait_synced()
        async with Writer(sim) as writer:
            for value in range(3):
                await writer.apply("sim-000", support.manifest(CONFIGMAP, "one", value=str(value)))
            await writer.delete("sim-000", CONFIGMAP, "one")
        await support.eventually(lambda: len(seen) == 4)
        assert [kind for kind, _, _ in seen] == [
            EventType.ADDED,
            EventType.MODIFIED,
            EventType.MODIFIED,
            EventType.DELETED,
        ]
        versions = [int(version or 0) for _, version, _ in seen]
        assert versions == sorted(versions)
        assert seen[-1][2]  # the cache had dropped the object before its DELETED arrived
        unsubscribe()
        async with Writer(sim) as writer:
            await writer.apply("sim-000", support.manifest(CONFIGMAP, "two"))
        await support.eventually(lambda: len(client.store) == 1)
        await asyncio.sleep(0)
        assert len(seen) == 4
