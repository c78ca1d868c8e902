"""Failures: a cluster that is down, an object the server refuses, and a dependency that
is not ready -- each stays where it is and the rest of the fleet goes on."""

from __future__ import annotations

from pathlib import Path

from fleet.sim import faults
from fleet.structs.fleetview import ClusterState
from fleet.structs.history import SyncFilter, SyncResult
from fleet.structs.objects import ClusterName
from tests.engine import apps, harness

BROKEN = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
  labels: {tier: "not a valid label value!"}
data: {a: b}
"""


async def test_a_cluster_down_during_a_rollout_backs_off_and_converges_when_back(
    tmp_path: Path,
) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=4) as run:
        await run.converged()
        down = "sim-001"
        run.sim.set_faults(faults.Faults(outage=faults.Outage.UNAVAILABLE), down)
        revision = await run.publish(apps.web(extra={"web/more.yaml": apps.SERVICE.replace(
            "name: web", "name: web-more")}))  # fmt: skip
        up = [name for name in run.names if name != down]
        await run.converged(revision, names=up)
        await run.until(lambda: run.view(down).failures >= 3)

        # Backing off (the test's cap is 2 s): a handful of attempts, not a busy loop.
        before = run.view(down).failures
        await run.until(lambda: run.view(down).failures >= before + 2, within=10)
        assert run.view(down).state is ClusterState.FAILED
        assert "unreachable" in (run.view(down).error or "") or "503" in (
            run.view(down).error or ""
        )
        attempts = run.sample("fleet_syncs_total", result="failed", trigger="retry")
        assert attempts < 20

        run.sim.set_faults(faults.NONE, down)
        await run.converged(revision)
        assert run.view(down).failures == 0


async def test_an_object_the_server_refuses_fails_its_bundle_only(tmp_path: Path) -> None:
    files = apps.web()
    files["fleet.yaml"] = files["fleet.yaml"].replace(
        "bundles:\n", "bundles:\n- name: broken\n  path: broken\n  namespace: web\n"
        "  dependsOn: [namespaces]\n  targets: [{name: all, clusterSelector: {}}]\n", 1
    )  # fmt: skip
    files["broken/configmap.yaml"] = BROKEN
    async with harness.running(tmp_path, files=files, clusters=2) as run:

        def settled() -> bool:
            states = [{b.name: b.state for b in run.view(n).bundles} for n in run.names]
            return all(s == {"broken": "failed", "namespaces": "ready", "web": "ready"}
                       for s in states)  # fmt: skip

        await run.until(settled)
        for name in run.names:
            view = run.view(name)
            broken = next(b for b in view.bundles if b.name == "broken")
            assert "ConfigMap web/broken: apply refused" in broken.message
            assert "metadata.labels" in broken.message
            assert view.state is ClusterState.FAILED
        page = await run.history.list_syncs(SyncFilter(cluster=ClusterName("sim-000")))
        assert page.items[0].result is SyncResult.PARTIAL
        assert page.items[0].bundles[0].error is not None


async def test_a_bundle_waits_for_its_dependency(tmp_path: Path) -> None:
    files = apps.web()
    # Rollouts take 3 s here: while the Deployment added to `namespaces` rolls out, the
    # bundle that depends on it must wait.
    async with harness.running(tmp_path, files=files, clusters=1, rollout_delay=3.0) as run:
        slow = apps.DEPLOYMENT.replace("name: web}", "name: gate, namespace: web}")
        revision = await run.publish(
            {**files, "ns/gate.yaml": slow.replace("nginx:${tag}", "nginx:1")}
        )

        def waiting() -> bool:
            view = run.view("sim-000")
            return view.revision == revision and [b.state for b in view.bundles] == [
                "progressing", "waiting"]  # fmt: skip

        await run.until(waiting)
        web = run.view("sim-000").bundles[1]
        assert web.message == "waiting for namespaces (progressing)"
        await run.converged(revision)
