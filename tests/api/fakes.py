"""A `FleetView` with fixed contents, for the API and command-line tests.

Three clusters that cover what the endpoints show: one ready in production with two
bundles and a drift, one degraded and unreachable, one never synced and without a
client yet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from fleet.structs import fleetview as fv
from fleet.structs import history as h
from fleet.structs.kube import ConnectionPhase, ConnectionState
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision

SHA = Revision("c0ffee" + "0" * 34)
OLD_SHA = Revision("beef" + "1" * 36)
SYNCED_AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"

DEPLOYMENT = ObjectKey("apps", "Deployment", "shop", "web")
SECRET = ObjectKey("", "Secret", "shop", "web-credentials")


def _bundle(name: str, *, state: str = "ready", health: str = "healthy") -> fv.BundleView:
    return fv.BundleView(
        name=BundleName(name),
        revision=SHA,
        state=state,
        health=health,
        message="" if state == "ready" else "Deployment shop/web: 1 of 3 replicas unavailable",
        counts=h.ObjectCounts(configured=1, unchanged=2),
        objects=(
            fv.ObjectView(key=DEPLOYMENT, action="configured", health=health),
            fv.ObjectView(key=SECRET, action="unchanged", health="healthy"),
        ),
    )


CLUSTERS = (
    fv.ClusterView(
        name=ClusterName("dev-1"),
        labels={"env": "dev", "region": "eu"},
    ),
    fv.ClusterView(
        name=ClusterName("eu-1"),
        labels={"env": "prod", "region": "eu"},
        state=fv.ClusterState.READY,
        revision=SHA,
        result=h.SyncResult.SUCCEEDED,
        trigger=h.SyncTrigger.COMMIT,
        synced_at=SYNCED_AT,
        trace_id=TRACE_ID,
        connection=ConnectionState(phase=ConnectionPhase.READY, since=SYNCED_AT),
        bundles=(_bundle("base"), _bundle("web")),
        drift=(
            h.DriftRecord(
                cluster=ClusterName("eu-1"),
                bundle=BundleName("web"),
                key=DEPLOYMENT,
                fields=("spec.replicas",),
                field_manager="kubectl-edit",
                operation=h.DriftOperation.UPDATE,
                action=h.DriftAction.REVERTED,
                revision=SHA,
                observed_at=SYNCED_AT + timedelta(minutes=5),
            ),
        ),
    ),
    fv.ClusterView(
        name=ClusterName("us-1"),
        labels={"env": "prod", "region": "us", "canary": "true"},
        state=fv.ClusterState.DEGRADED,
        revision=OLD_SHA,
        result=h.SyncResult.FAILED,
        trigger=h.SyncTrigger.RETRY,
        synced_at=SYNCED_AT - timedelta(hours=1),
        error="cluster us-1: connection refused",
        failures=3,
        connection=ConnectionState(
            phase=ConnectionPhase.UNREACHABLE,
            since=SYNCED_AT - timedelta(hours=2),
            last_error="connection refused",
            failures=3,
        ),
        bundles=(dataclasses.replace(_bundle("web", state="degraded", health="degraded")),),
    ),
)


class FakeFleet:
    """Serves `CLUSTERS` (or others) and records the syncs requested."""

    def __init__(self, clusters: Sequence[fv.ClusterView] = CLUSTERS) -> None:
        self._clusters = {view.name: view for view in clusters}
        self.requested: list[ClusterName] = []

    def __repr__(self) -> str:
        return f"FakeFleet({len(self._clusters)} clusters, {len(self.requested)} syncs requested)"

    def source(self) -> fv.SourceView:
        return fv.SourceView(
            repository="https://git.example.com/platform/fleet.git",
            branch="main",
            revision=SHA,
            loaded_at=SYNCED_AT,
        )

    def clusters(self) -> Sequence[fv.ClusterView]:
        return [self._clusters[name] for name in sorted(self._clusters)]

    def cluster(self, name: ClusterName) -> fv.ClusterView | None:
        return self._clusters.get(name)

    def request_sync(self, name: ClusterName) -> bool:
        if name not in self._clusters:
            return False
        self.requested.append(name)
        return True


def many(count: int) -> tuple[fv.ClusterView, ...]:
    """``count`` ready clusters, ``c-000`` ..., labelled env=prod for even numbers, else dev."""
    return tuple(
        fv.ClusterView(
            name=ClusterName(f"c-{index:03d}"),
            labels={"env": "prod" if index % 2 == 0 else "dev"},
            state=fv.ClusterState.READY,
        )
        for index in range(count)
    )


class RecordingTrigger:
    """A `MirrorTrigger` that wakes one mirror for any URL and remembers the calls."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __repr__(self) -> str:
        return f"RecordingTrigger({len(self.calls)} calls)"

    def trigger(self, urls: Iterable[str]) -> tuple[str, ...]:
        self.calls.append(list(urls))
        return ("https://git.example.com/platform/fleet.git",)
