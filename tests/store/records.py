"""Record builders for the store tests: realistic values, one line per record at call sites."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from fleet.structs import history as h
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision

SHA_A = Revision("a" * 40)
SHA_B = Revision("b" * 40)
REPOSITORY = "https://git.example.com/platform/fleet.git"
DEPLOYMENT = ObjectKey("apps", "Deployment", "shop", "web")


def sync(
    *,
    cluster: str = "eu-1",
    at: datetime,
    revision: Revision = SHA_A,
    result: h.SyncResult = h.SyncResult.SUCCEEDED,
    trigger: h.SyncTrigger = h.SyncTrigger.COMMIT,
    bundles: tuple[str, ...] = ("base", "web"),
    error: str | None = None,
    id: uuid.UUID | None = None,
) -> h.SyncRecord:
    outcomes = tuple(
        h.BundleOutcome(
            name=BundleName(name),
            revision=revision,
            result=result,
            counts=h.ObjectCounts(created=index, configured=1, unchanged=7),
            error=error,
        )
        for index, name in enumerate(bundles)
    )
    return h.SyncRecord(
        cluster=ClusterName(cluster),
        revision=revision,
        trigger=trigger,
        result=result,
        started_at=at - timedelta(seconds=2),
        finished_at=at,
        bundles=outcomes,
        error=error,
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        id=id or uuid.uuid4(),
    )


def drift(
    *,
    cluster: str = "eu-1",
    at: datetime,
    bundle: str = "web",
    key: ObjectKey = DEPLOYMENT,
    manager: str | None = "kubectl-edit",
    action: h.DriftAction = h.DriftAction.REVERTED,
) -> h.DriftRecord:
    return h.DriftRecord(
        cluster=ClusterName(cluster),
        bundle=BundleName(bundle),
        key=key,
        fields=("spec.replicas", "spec.template.spec.containers[name=web].image"),
        field_manager=manager,
        operation=h.DriftOperation.UPDATE,
        action=action,
        revision=SHA_A,
        observed_at=at,
    )


def revision(
    *, sha: Revision, at: datetime, ref: str = "refs/heads/main", repository: str = REPOSITORY
) -> h.RevisionRecord:
    return h.RevisionRecord(
        sha=sha,
        repository=repository,
        ref=ref,
        author_name="Ada Lovelace",
        author_email="ada@example.com",
        committed_at=at,
        message="Scale web to 3 replicas\n\nBecause Friday.",
        first_seen_at=at + timedelta(seconds=30),
    )


async def keep(
    store: h.HistoryStore,
    *,
    syncs: Iterable[h.SyncRecord] = (),
    drift: Iterable[h.DriftRecord] = (),
    revisions: Iterable[h.RevisionRecord] = (),
) -> None:
    """Record everything, as the engine would, and wait until the store has written it."""
    for sync_record in syncs:
        store.record_sync(sync_record)
    for drift_record in drift:
        store.record_drift(drift_record)
    for revision_record in revisions:
        store.record_revision(revision_record)
    await store.flush()
