"""Drift: what kubectl does behind fleet's back is reverted, recorded and attributed to
kubectl's field manager; an observe-only bundle reports it and leaves it; a deleted
object is recreated."""

from __future__ import annotations

import stat
from pathlib import Path

from fleet.structs.history import (
    DriftAction,
    DriftFilter,
    DriftOperation,
    DriftRecord,
    SyncResult,
    SyncTrigger,
)
from fleet.structs.objects import ClusterName
from tests.engine import apps, harness
from tests.support.kubectl import Kubectl

CLUSTER = "sim-000"


async def kubectl_for(run: harness.Run, tmp_path: Path) -> Kubectl:
    return Kubectl(tmp_path / "sim" / f"{CLUSTER}.kubeconfig", tmp_path)


async def drift_of(run: harness.Run) -> list[DriftRecord]:
    page = await run.history.list_drift(DriftFilter(cluster=ClusterName(CLUSTER)))
    return list(page.items)


async def replicas(kubectl: Kubectl) -> int:
    shown = await kubectl("get", "deployment", "web", "-n", "web", "-o", "json")
    assert shown.code == 0, shown.err
    value: int = shown.json()["spec"]["replicas"]
    return value


async def test_kubectl_scale_is_reverted_and_attributed(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=1, tls=True) as run:
        await run.converged()
        kubectl = await kubectl_for(run, tmp_path)

        scaled = await kubectl("scale", "deployment", "web", "-n", "web", "--replicas=5")
        assert scaled.code == 0, scaled.err
        await run.until(lambda: bool(run.view(CLUSTER).drift))
        await run.converged()

        assert await replicas(kubectl) == 2
        [record] = await drift_of(run)
        assert (str(record.key), record.fields) == ("Deployment.apps web/web", ("spec.replicas",))
        assert (record.field_manager, record.operation) == ("kubectl", DriftOperation.UPDATE)
        assert record.action is DriftAction.REVERTED
        assert run.sample("fleet_drift_events_total", action="reverted") == 1
        assert run.sample("fleet_syncs_total", result="succeeded", trigger="drift") >= 1


async def test_kubectl_edit_is_reverted_and_names_kubectl_edit(tmp_path: Path) -> None:
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nsed -i -e "s/nginx:1.27/nginx:evil/" "$1"\n')
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    async with harness.running(tmp_path, files=apps.web(), clusters=1, tls=True) as run:
        await run.converged()
        kubectl = await kubectl_for(run, tmp_path)

        edited = await kubectl(
            "edit", "deployment", "web", "-n", "web", env={"KUBE_EDITOR": str(editor)}
        )
        assert edited.code == 0, edited.err
        await run.until(lambda: bool(run.view(CLUSTER).drift))
        await run.converged()

        shown = await kubectl("get", "deployment", "web", "-n", "web", "-o", "json")
        assert shown.json()["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
        [record] = await drift_of(run)
        assert record.fields == ("spec.template.spec.containers[name=web].image",)
        assert record.field_manager == "kubectl-edit"
        # Drift records name paths, never values.
        assert "evil" not in repr(record)


async def test_an_observe_only_bundle_reports_drift_and_leaves_it(tmp_path: Path) -> None:
    async with harness.running(
        tmp_path, files=apps.web(drift="observe"), clusters=1, tls=True
    ) as run:
        await run.converged()
        kubectl = await kubectl_for(run, tmp_path)

        scaled = await kubectl("scale", "deployment", "web", "-n", "web", "--replicas=5")
        assert scaled.code == 0, scaled.err
        await run.until(lambda: bool(run.view(CLUSTER).drift))
        run.controller.board.request_sync(ClusterName(CLUSTER))
        await run.until(lambda: run.view(CLUSTER).trigger is SyncTrigger.MANUAL)
        assert run.view(CLUSTER).result is SyncResult.SUCCEEDED, run.view(CLUSTER).error

        assert await replicas(kubectl) == 5
        [record] = await drift_of(run)
        assert record.action is DriftAction.OBSERVED
        web = run.view(CLUSTER).bundles[1]
        assert web.counts.skipped == 1


async def test_a_deleted_object_is_recreated(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=1, tls=True) as run:
        await run.converged()
        kubectl = await kubectl_for(run, tmp_path)

        deleted = await kubectl("delete", "configmap", "settings", "-n", "web")
        assert deleted.code == 0, deleted.err
        await run.until(lambda: bool(run.view(CLUSTER).drift))
        await run.converged()

        again = await kubectl("get", "configmap", "settings", "-n", "web", "-o", "json")
        assert again.code == 0, again.err
        [record] = await drift_of(run)
        assert (record.operation, record.fields, record.field_manager) == (
            DriftOperation.DELETE, (), None,
        )  # fmt: skip
