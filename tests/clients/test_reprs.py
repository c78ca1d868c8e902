"""Every stateful object of fleet.clients says what it is in its repr, and never a token."""

from __future__ import annotations

from pathlib import Path

from fleet.clients import registry
from fleet.sim import serving
from fleet.structs.objects import ClusterName
from tests.clients import support
from tests.clients.support import CONFIGMAP


async def test_reprs_show_state_and_hide_credentials(
    sim: serving.Simulator, inventory: Path, clusters: registry.ClusterRegistry
) -> None:
    client = clusters.client(ClusterName("sim-000"))
    assert client is not None
    await client.watch_kinds([CONFIGMAP])
    await client.cache.wait_synced()
    await support.eventually(lambda: client.meter.watches == 1)
    url = sim.url("sim-000")
    shown = {
        repr(clusters): f"ClusterRegistry({inventory}: 2 clusters, 0 problems)",
        repr(client): f"KubeClient(sim-000 at {url}, ready, 1 kinds, 0 objects)",
        repr(client.session): f"ApiSession(sim-000 at {url}, ready)",
        repr(client.session.connection): "Connection(sim-000, ready, failures=0)",
        repr(client.session.endpoint): f"Endpoint({url})",
        repr(client.informers[0]).rsplit(",", 1)[0]: "Informer(sim-000 v1 ConfigMap, watching",
        repr(client.meter): "ClusterMeter(sim-000: discovery=2, list=1, watch=1,"
                            " watches=1, reconnects=0, relists=0)",
        repr(client.store): "ObjectStore(sim-000: 0 objects, synced)",
        repr(client.delivery): "Delivery(sim-000: 0 handlers, 0 queued)",
    }  # fmt: skip
    assert list(shown) == list(shown.values())
    everything = " ".join(shown) + repr(clusters.clusters()) + repr(client.session.bucket)
    assert sim.token("sim-000") not in everything
    await clusters.close()
    assert repr(client).endswith(", closed, 0 kinds, 0 objects)")
