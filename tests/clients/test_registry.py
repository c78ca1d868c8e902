"""The cluster registry: per-cluster problems that leave the other clusters alone,
reloads that add, remove, relabel and reconnect, following the files, and clients that
leave nothing running behind them."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from fleet.clients import registry
from fleet.clients.kubeclient import KubeClient
from fleet.sim import serving
from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.kube import ClusterClient, ClusterSet, ConnectionPhase, ObjectCache
from fleet.structs.objects import ClusterName
from tests.clients import support
from tests.clients.support import CONFIGMAP, DEPLOYMENT, SERVICE
from tests.support import simulator
from tests.support.clock import FakeClock


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def write_inventory(path: Path, entries: Sequence[dict[str, object]]) -> None:
    path.write_text(yaml.safe_dump({"clusters": list(entries)}))


def entry(name: str, **labels: str) -> dict[str, object]:
    return {"name": name, "kubeconfig": f"{name}.kubeconfig", "labels": labels}


async def test_bad_and_unreachable_clusters_are_reported_without_affecting_the_others(
    sim: serving.Simulator, inventory: Path, metrics: CollectorRegistry
) -> None:
    directory = inventory.parent
    down = (directory / "sim-000.kubeconfig").read_text().replace(
        sim.url("sim-000"), f"http://127.0.0.1:{closed_port()}")  # fmt: skip
    (directory / "down.kubeconfig").write_text(down)
    write_inventory(inventory, [entry("sim-000"), entry("sim-001"), entry("down"),
                                entry("missing"), {"name": "typo", "kubeconfg": "x"}])  # fmt: skip
    async with registry.ClusterRegistry(support.settings(inventory), registry=metrics) as clusters:
        assert [c.name for c in clusters.clusters()] == ["down", "sim-000", "sim-001"]
        assert [(p.cluster, p.message.split(":")[0]) for p in clusters.problems] == [
            ("missing", "kubeconfig missing.kubeconfig"),
            ("typo", "unknown key 'kubeconfg' (did you mean 'kubeconfig'?)"),
        ]
        unreachable = clusters.client(ClusterName("down"))
        assert unreachable is not None
        await support.eventually(
            lambda: unreachable.connection.phase is ConnectionPhase.UNREACHABLE
        )
        assert "no answer from http://127.0.0.1" in str(unreachable.connection.last_error)
        good = clusters.client(ClusterName("sim-000"))
        assert good is not None
        await good.watch_kinds([CONFIGMAP])
        await good.cache.wait_synced()
        assert good.connection.phase is ConnectionPhase.READY
        state = {"cluster": "down", "state": "unreachable"}
        assert metrics.get_sample_value("fleet_cluster_connection_state", state) == 1.0
        lists = {"cluster": "sim-000", "verb": "list", "code": "200"}
        assert metrics.get_sample_value("fleet_kube_requests_total", lists) == 1.0


async def test_an_unusable_inventory_stops_the_start(
    inventory: Path, metrics: CollectorRegistry
) -> None:
    await asyncio.to_thread(inventory.write_text, "clusters: {")
    with pytest.raises(errors.InventoryError):
        await registry.ClusterRegistry(support.settings(inventory), registry=metrics).start()


async def test_reloads_add_remove_relabel_and_reconnect(
    tmp_path: Path, metrics: CollectorRegistry
) -> None:
    async with simulator.running(clusters=3) as sim:
        inventory = await sim.write_files(tmp_path)
        write_inventory(inventory, [entry("sim-000", env="dev"), entry("sim-001")])
        seen: list[list[str]] = []
        async with registry.ClusterRegistry(
            support.settings(inventory), registry=metrics
        ) as clusters:
            clusters.subscribe(lambda found: seen.append([c.name for c in found]))
            first = clusters.client(ClusterName("sim-000"))
            leaving = clusters.client(ClusterName("sim-001"))
            assert first is not None
            assert leaving is not None
            await first.watch_kinds([CONFIGMAP])

            write_inventory(inventory, [entry("sim-000", env="prod"), entry("sim-002")])
            result = await clusters.reload()
            assert (result.added, result.removed, result.changed) == (
                ("sim-002",),
                ("sim-001",),
                ("sim-000",),
            )
            assert clusters.client(ClusterName("sim-000")) is first  # labels only: same client
            assert clusters.clusters()[0] == Cluster(ClusterName("sim-000"), {"env": "prod"})
            assert repr(leaving).endswith("closed, 0 kinds, 0 objects)")
            assert (
                metrics.get_sample_value("fleet_watch_relists_total", {"cluster": "sim-001"})
                is None
            )
            assert seen == [["sim-000", "sim-002"]]

            config = tmp_path / "sim-000.kubeconfig"
            config.write_text(config.read_text().replace("namespace: default", "namespace: other"))
            result = await clusters.reload()
            assert result.changed == ("sim-000",)
            replacement = clusters.client(ClusterName("sim-000"))
            assert replacement is not first
            assert repr(first).startswith("KubeClient(sim-000 at")

            # A typo in a running cluster's entry leaves it running, and says so.
            write_inventory(inventory, [{**entry("sim-000"), "lables": {}}, entry("sim-002")])
            result = await clusters.reload()
            assert not result.changes
            assert clusters.client(ClusterName("sim-000")) is replacement
            assert [p.cluster for p in result.problems] == ["sim-000"]

            inventory.write_text("clusters: [")
            result = await clusters.reload()
            assert [c.name for c in clusters.clusters()] == ["sim-000", "sim-002"]
            assert "not valid YAML" in result.problems[0].message
            assert seen == [["sim-000", "sim-002"]] * 2


async def test_changed_files_and_requests_reload_on_the_followers_clock(
    sim: serving.Simulator, inventory: Path, metrics: CollectorRegistry
) -> None:
    clock = FakeClock()
    settings = support.settings(inventory, inventory_poll_interval=10.0)
    write_inventory(inventory, [entry("sim-000")])
    async with registry.ClusterRegistry(settings, registry=metrics, clock=clock) as clusters:
        write_inventory(inventory, [entry("sim-000"), entry("sim-001")])
        os.utime(inventory, ns=(1, 1))  # a distinct mtime, however fast the test runs
        await clock.advance(9.0)
        assert len(clusters.clusters()) == 1
        await support.advancing(clock, lambda: len(clusters.clusters()) == 2, step=0.5)
        write_inventory(inventory, [entry("sim-001")])
        os.utime(inventory, ns=(1, 1))  # same mtime and size: only a request notices
        clusters.request_reload()
        await support.eventually(lambda: [c.name for c in clusters.clusters()] == ["sim-001"])


async def test_closing_lets_a_reload_in_progress_finish_and_closes_what_it_opened(
    sim: serving.Simulator, inventory: Path, metrics: CollectorRegistry
) -> None:
    # "slow" is sim-001 again, behind an exec plugin that answers when the test says so,
    # which holds the reload in the middle: sim-001 opened, slow still connecting.
    asked, answer = asyncio.Event(), asyncio.Event()
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                  "status": {"token": sim.token("sim-001")}}  # fmt: skip

    async def plugin_asks(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked.set()
        await answer.wait()
        writer.write(json.dumps(credential).encode())
        writer.close()
        await writer.wait_closed()

    gate = await asyncio.start_server(plugin_asks, "127.0.0.1", 0)
    port = gate.sockets[0].getsockname()[1]
    script = "import socket; print(socket.create_connection(('127.0.0.1', %d)).makefile().read())"
    document = yaml.safe_load((inventory.parent / "sim-001.kubeconfig").read_text())
    document["users"][0]["user"] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "interactiveMode": "Never",
        "command": sys.executable, "args": ["-c", script % port],
    }}  # fmt: skip
    (inventory.parent / "slow.kubeconfig").write_text(yaml.safe_dump(document))
    write_inventory(inventory, [entry("sim-000")])
    seen: list[list[str]] = []
    async with (
        gate,
        registry.ClusterRegistry(support.settings(inventory), registry=metrics) as clusters,
    ):
        clusters.subscribe(lambda found: seen.append([c.name for c in found]))
        write_inventory(inventory, [entry("sim-000"), entry("sim-001"), entry("slow")])
        clusters.request_reload()
        ready = {"cluster": "sim-001", "state": "ready"}
        await support.eventually(
            lambda: (
                asked.is_set()
                and metrics.get_sample_value("fleet_cluster_connection_state", ready) == 1.0
            )
        )
        assert clusters.client(ClusterName("sim-001")) is None  # the reload is not done

        closing = asyncio.create_task(clusters.close())
        await asyncio.sleep(0)  # close() has begun: it must wait for the reload, not cut it
        answer.set()
        await closing
    assert seen == [["sim-000", "sim-001", "slow"]]
    assert clusters.clusters() == []
    for name in ("sim-000", "sim-001", "slow"):  # a closed client's series are removed
        state = {"cluster": name, "state": "ready"}
        assert metrics.get_sample_value("fleet_cluster_connection_state", state) is None


async def test_starting_and_stopping_100_clusters_leaves_nothing_behind(tmp_path: Path) -> None:
    async with simulator.running(clusters=100, tls=True) as sim:
        inventory = await sim.write_files(tmp_path)
        settings = support.settings(inventory)

        async def round_trip(kinds: int) -> None:
            async with registry.ClusterRegistry(settings, registry=CollectorRegistry()) as clusters:
                clients = [clusters.client(c.name) for c in clusters.clusters()]
                for client in clients:
                    assert client is not None
                    await client.watch_kinds([CONFIGMAP, SERVICE, DEPLOYMENT][:kinds])
                for client in clients:
                    assert client is not None
                    await client.cache.wait_synced()
                await support.eventually(
                    lambda: sum(c.meter.watches for c in clients if c) == 100 * kinds
                )

        def watchers() -> int:
            return sum(len(cluster.store.watchers()) for cluster in sim.started())

        await round_trip(1)  # thread pool, module caches, the CA file: made once per process
        await support.eventually(lambda: watchers() == 0)
        tasks, fds = len(asyncio.all_tasks()), len(os.listdir("/proc/self/fd"))
        await round_trip(3)
        await support.eventually(lambda: watchers() == 0)
        await support.eventually(lambda: len(os.listdir("/proc/self/fd")) == fds)
        assert len(asyncio.all_tasks()) == tasks


def test_the_registry_and_its_parts_are_what_the_engine_expects() -> None:
    # Checked by mypy: the concrete types satisfy the protocols of fleet.structs.kube.
    def check(cluster_set: ClusterSet, client: ClusterClient, cache: ObjectCache) -> None: ...

    def conform(r: registry.ClusterRegistry, c: KubeClient) -> None:
        check(r, c, c.cache)

    assert callable(conform)


async def test_a_client_that_fails_to_close_does_not_keep_the_others_open(
    sim: serving.Simulator,
    inventory: Path,
    metrics: CollectorRegistry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    write_inventory(inventory, [entry("sim-000"), entry("sim-001")])
    closed: list[str] = []
    close = KubeClient.close

    async def close_or_fail(self: KubeClient) -> None:
        await close(self)
        closed.append(self.name)
        if self.name == "sim-000":
            raise RuntimeError("the session would not close")

    monkeypatch.setattr(KubeClient, "close", close_or_fail)
    async with registry.ClusterRegistry(support.settings(inventory), registry=metrics):
        pass
    assert sorted(closed) == ["sim-000", "sim-001"]
    assert "cluster sim-000: closing its client failed" in caplog.text
