"""Pruning: what leaves Git leaves the cluster, whatever restarts in between; what fleet
did not create is never touched."""

from __future__ import annotations

from pathlib import Path

from fleet.sim import serving
from fleet.structs.history import SyncFilter
from fleet.structs.objects import ClusterName, Revision
from tests.clients import support
from tests.engine import apps, harness
from tests.support import simulator

CLUSTER = "sim-000"


async def names(sim: serving.Simulator, cluster: str, path: str) -> list[str]:
    async with simulator.ApiSession(sim, cluster) as api:
        listed = await api.request("GET", path)
        assert listed.status == 200, listed
        return sorted(item["metadata"]["name"] for item in listed.json()["items"])


async def deleted(run: harness.Run, cluster: str, revision: str | None) -> int:
    """Objects of bundle ``web`` that the syncs of ``cluster`` (at ``revision``) deleted.

    Counted over history rather than read from the last sync: a later sync (a resync, a
    check on a rollout) deletes nothing and would hide it.
    """
    where = SyncFilter(
        cluster=ClusterName(cluster), revision=Revision(revision) if revision else None
    )
    page = await run.history.list_syncs(where)
    return sum(b.counts.deleted for s in page.items for b in s.bundles if b.name == "web")


async def test_a_manifest_removed_from_git_is_pruned(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=2) as run:
        await run.converged()
        revision = await run.publish(apps.web(without=("web/service.yaml",)))
        await run.converged(revision)

        for name in run.names:
            assert await names(run.sim, name, "/api/v1/namespaces/web/services") == []
            assert await deleted(run, name, revision) == 1


async def test_objects_fleet_did_not_create_are_untouched(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=1) as run:
        await run.converged()
        async with support.Writer(run.sim) as other:
            # Someone else's object, and one that claims to be fleet's for another bundle.
            plain = support.manifest(support.CONFIGMAP, "theirs", namespace="web", managed=False,
                                     bundle=None)  # fmt: skip
            foreign = support.manifest(
                support.CONFIGMAP, "foreign", namespace="web", bundle="other"
            )
            assert await other.apply(CLUSTER, plain) in (200, 201)
            assert await other.apply(CLUSTER, foreign) in (200, 201)
        revision = await run.publish(apps.web(without=("web/configmap.yaml",)))
        await run.converged(revision)

        assert await names(run.sim, CLUSTER, "/api/v1/namespaces/web/configmaps") == [
            "foreign", "kube-root-ca.crt", "theirs",
        ]  # fmt: skip


async def test_a_cluster_no_longer_targeted_is_pruned(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=3) as run:
        await run.converged()
        prod_only = [{"name": "prod", "clusterSelector": {"matchLabels": {"env": "prod"}}}]
        revision = await run.publish(apps.web(targets=prod_only))
        await run.converged(revision)

        assert await names(run.sim, "sim-002", "/apis/apps/v1/namespaces/web/deployments") == [
            "web"
        ]
        for name in ("sim-000", "sim-001"):
            assert await names(run.sim, name, "/apis/apps/v1/namespaces/web/deployments") == []
            states = {b.name: b.state for b in run.view(name).bundles}
            assert states == {"namespaces": "ready", "web": "removed"}


async def test_pruning_survives_a_restart_of_fleet(tmp_path: Path) -> None:
    """The inventory lives in the cluster: a new controller, which never saw the old
    revision, still prunes what it had."""
    async with simulator.running(clusters=1) as sim:
        async with harness.controlling(sim, tmp_path / "first", files=apps.web()) as run:
            await run.converged()
        assert await names(sim, CLUSTER, "/api/v1/namespaces/fleet-system/configmaps") == [
            "fleet-inventory-namespaces", "fleet-inventory-web", "kube-root-ca.crt",
        ]  # fmt: skip
        # A new controller with a new mirror and history: none of the first one's memory.
        changed = apps.web(without=("web/service.yaml",))
        async with harness.controlling(sim, tmp_path / "second", files=changed) as again:
            await again.converged()
            assert await names(sim, CLUSTER, "/api/v1/namespaces/web/services") == []
            assert await deleted(again, CLUSTER, None) == 1
