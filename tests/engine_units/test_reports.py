"""Reports: bundles judged from apply entries and health, and what a sync report becomes."""

from __future__ import annotations

import datetime

import pytest

from fleet.engine import changesets, reports
from fleet.engine.changesets import ChangeSetEntry
from fleet.engine.health import Assessment, Health
from fleet.engine.reports import BundleReport, BundleState, ObjectReport, SyncReport
from fleet.planning.plans import Action
from fleet.structs import errors
from fleet.structs.fleetview import BundleView, ClusterState, ObjectView
from fleet.structs.history import BundleOutcome, ObjectCounts, SyncResult, SyncTrigger
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision

REVISION = Revision("0123456789abcdef0123456789abcdef01234567")
STARTED = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
FINISHED = STARTED + datetime.timedelta(seconds=2)
WEB = ObjectKey("apps", "Deployment", "shop", "web")
CONFIG = ObjectKey("", "ConfigMap", "shop", "settings")
JOB = ObjectKey("batch", "Job", "shop", "migrate")
SECRET = ObjectKey("", "Secret", "shop", "db")

HEALTHY = Assessment(Health.HEALTHY)
ROLLING = Assessment(Health.PROGRESSING, "1 of 3 replicas updated")
FAILING = Assessment(Health.DEGRADED, "failed: BackoffLimitExceeded")
GONE = Assessment(Health.MISSING, "not found in the cluster")
REFUSED = ChangeSetEntry(JOB, Action.FAILED, "Job.batch shop/migrate: apply refused: invalid")


def judged(entries: list[ChangeSetEntry], **healths: Assessment) -> BundleReport:
    by_key = {"web": WEB, "config": CONFIG, "job": JOB}
    return reports.judged(
        name=BundleName("shop"),
        revision=REVISION,
        entries=entries,
        healths={by_key[name]: a for name, a in healths.items()},
    )


@pytest.mark.parametrize(
    ("entries", "healths", "state", "message"),
    [
        ([], {}, BundleState.READY, ""),
        (
            [ChangeSetEntry(WEB, Action.CONFIGURED), ChangeSetEntry(CONFIG, Action.UNCHANGED)],
            {"web": HEALTHY, "config": HEALTHY},
            BundleState.READY,
            "",
        ),
        (
            [ChangeSetEntry(WEB, Action.CONFIGURED), ChangeSetEntry(CONFIG, Action.UNCHANGED)],
            {"web": ROLLING, "config": HEALTHY},
            BundleState.PROGRESSING,
            "Deployment.apps shop/web: 1 of 3 replicas updated",
        ),
        (
            [ChangeSetEntry(WEB, Action.SKIPPED)],
            {"web": GONE},
            BundleState.PROGRESSING,
            "Deployment.apps shop/web: not found in the cluster",
        ),
        (
            [ChangeSetEntry(JOB, Action.CREATED), ChangeSetEntry(WEB, Action.CREATED)],
            {"job": FAILING, "web": ROLLING},
            BundleState.DEGRADED,
            "Job.batch shop/migrate: failed: BackoffLimitExceeded",
        ),
        (
            [REFUSED, ChangeSetEntry(WEB, Action.CREATED)],
            {"job": GONE, "web": FAILING},
            BundleState.FAILED,
            "Job.batch shop/migrate: apply refused: invalid",
        ),
        (
            [
                ChangeSetEntry(WEB, Action.CREATED),
                ChangeSetEntry(CONFIG, Action.CREATED),
                ChangeSetEntry(JOB, Action.CREATED),
            ],
            {"web": ROLLING, "config": GONE, "job": HEALTHY},
            BundleState.PROGRESSING,
            "Deployment.apps shop/web: 1 of 3 replicas updated (and 1 more)",
        ),
    ],
    ids=[
        "nothing",
        "healthy",
        "rolling out",
        "skipped and missing",
        "degraded",
        "refused",
        "several pending",
    ],
)
def test_judged(
    entries: list[ChangeSetEntry], healths: dict[str, Assessment], state: BundleState, message: str
) -> None:
    report = judged(entries, **healths)
    assert (report.state, report.message) == (state, message)
    assert [o.key for o in report.objects] == [e.key for e in entries]


def test_a_refused_object_is_degraded_with_the_refusal_as_its_message() -> None:
    report = judged([REFUSED], job=HEALTHY)
    assert report.objects == (ObjectReport(JOB, Action.FAILED, Health.DEGRADED, REFUSED.message),)


def test_an_object_without_an_assessment_is_missing() -> None:
    report = judged([ChangeSetEntry(WEB, Action.CREATED)])
    assert report.objects[0].health is Health.MISSING
    assert report.state is BundleState.PROGRESSING


@pytest.mark.parametrize(
    ("state", "objects", "health"),
    [
        (BundleState.READY, 1, Health.HEALTHY),
        (BundleState.REMOVED, 0, Health.HEALTHY),
        (BundleState.FAILED, 1, Health.DEGRADED),
        (BundleState.DEGRADED, 1, Health.DEGRADED),
        (BundleState.PROGRESSING, 1, Health.PROGRESSING),
        (BundleState.WAITING, 1, Health.PROGRESSING),
        (BundleState.WAITING, 0, Health.MISSING),
        (BundleState.BLOCKED, 0, Health.MISSING),
    ],
)
def test_a_bundles_health_follows_its_state(
    state: BundleState, objects: int, health: Health
) -> None:
    report = bundle(
        "shop", state, objects=(ObjectReport(WEB, Action.UNCHANGED, Health.HEALTHY),) * objects
    )
    assert report.health is health


def bundle(
    name: str,
    state: BundleState,
    message: str = "",
    *,
    objects: tuple[ObjectReport, ...] = (),
    pruned: tuple[ChangeSetEntry, ...] = (),
) -> BundleReport:
    return BundleReport(
        name=BundleName(name),
        revision=REVISION,
        state=state,
        message=message,
        objects=objects,
        pruned=pruned,
    )


def sync(*bundles: BundleReport, error: str | None = None) -> SyncReport:
    return SyncReport(
        cluster=ClusterName("sim-000"),
        revision=REVISION,
        trigger=SyncTrigger.COMMIT,
        started_at=STARTED,
        finished_at=FINISHED,
        bundles=bundles,
        error=error,
        trace_id="ab" * 16,
        wrote=True,
    )


S = BundleState


@pytest.mark.parametrize(
    ("states", "error", "result", "state", "settled"),
    [
        ((), None, SyncResult.SUCCEEDED, ClusterState.READY, True),
        ((S.READY, S.REMOVED), None, SyncResult.SUCCEEDED, ClusterState.READY, True),
        ((S.READY, S.PROGRESSING), None, SyncResult.SUCCEEDED, ClusterState.PROGRESSING, False),
        ((S.READY, S.WAITING), None, SyncResult.SUCCEEDED, ClusterState.PROGRESSING, False),
        ((S.DEGRADED, S.PROGRESSING), None, SyncResult.SUCCEEDED, ClusterState.DEGRADED, False),
        ((S.DEGRADED,), None, SyncResult.SUCCEEDED, ClusterState.DEGRADED, True),
        ((S.BLOCKED, S.READY), None, SyncResult.BLOCKED, ClusterState.BLOCKED, True),
        ((S.BLOCKED, S.DEGRADED), None, SyncResult.BLOCKED, ClusterState.BLOCKED, True),
        ((S.FAILED, S.READY), None, SyncResult.PARTIAL, ClusterState.FAILED, True),
        ((S.FAILED, S.PROGRESSING), None, SyncResult.PARTIAL, ClusterState.FAILED, False),
        ((S.FAILED, S.REMOVED), None, SyncResult.PARTIAL, ClusterState.FAILED, True),
        ((S.FAILED,), None, SyncResult.FAILED, ClusterState.FAILED, True),
        ((S.FAILED, S.DEGRADED), None, SyncResult.FAILED, ClusterState.FAILED, True),
        ((S.FAILED, S.WAITING), None, SyncResult.FAILED, ClusterState.FAILED, False),
        ((S.FAILED, S.BLOCKED), None, SyncResult.FAILED, ClusterState.FAILED, True),
        ((), "unreachable", SyncResult.FAILED, ClusterState.FAILED, True),
        ((S.READY,), "unreachable", SyncResult.FAILED, ClusterState.FAILED, True),
    ],
)
def test_how_bundle_states_combine(
    states: tuple[BundleState, ...],
    error: str | None,
    result: SyncResult,
    state: ClusterState,
    settled: bool,
) -> None:
    report = sync(*(bundle(f"b{i}", s) for i, s in enumerate(states)), error=error)
    assert (report.result, report.state, report.settled) == (result, state, settled)


def _a_sync() -> SyncReport:
    ready = bundle(
        "web",
        S.READY,
        objects=(ObjectReport(WEB, Action.CONFIGURED, Health.HEALTHY),),
        pruned=(ChangeSetEntry(CONFIG, Action.DELETED),),
    )
    failed = bundle(
        "jobs",
        S.FAILED,
        REFUSED.message,
        objects=(ObjectReport(JOB, Action.FAILED, Health.DEGRADED, REFUSED.message),),
    )
    waiting = bundle("late", S.WAITING, "waiting for web")
    progressing = bundle("slow", S.PROGRESSING, "Deployment.apps shop/web: rolling")
    return sync(ready, failed, waiting, progressing)


def test_the_history_row() -> None:
    record = _a_sync().record()
    assert (record.cluster, record.revision, record.trigger) == (
        "sim-000",
        REVISION,
        SyncTrigger.COMMIT,
    )
    assert (record.result, record.started_at, record.finished_at) == (
        SyncResult.PARTIAL,
        STARTED,
        FINISHED,
    )
    assert (record.error, record.trace_id) == (None, "ab" * 16)
    assert record.bundles == (
        BundleOutcome(
            name=BundleName("web"),
            revision=REVISION,
            result=SyncResult.SUCCEEDED,
            counts=ObjectCounts(configured=1, deleted=1),
        ),
        BundleOutcome(
            name=BundleName("jobs"),
            revision=REVISION,
            result=SyncResult.FAILED,
            counts=ObjectCounts(failed=1),
            error=REFUSED.message,
        ),
        BundleOutcome(
            name=BundleName("late"),
            revision=REVISION,
            result=SyncResult.SUCCEEDED,
            error="waiting for web",
        ),
        # A bundle that is only progressing has no error, whatever its message.
        BundleOutcome(name=BundleName("slow"), revision=REVISION, result=SyncResult.SUCCEEDED),
    )
    blocked = sync(bundle("bad", S.BLOCKED, "fleet.yaml:3: no such bundle")).record()
    assert blocked.bundles[0].result is SyncResult.BLOCKED
    assert blocked.bundles[0].error == "fleet.yaml:3: no such bundle"
    assert sync(bundle("quiet", S.FAILED)).record().bundles[0].error is None


def test_the_status_view() -> None:
    report = _a_sync()
    view = report.view(failures=3)
    assert (view.name, view.state, view.result, view.failures) == (
        "sim-000",
        ClusterState.FAILED,
        SyncResult.PARTIAL,
        3,
    )
    assert (view.revision, view.trigger, view.synced_at, view.trace_id) == (
        REVISION,
        SyncTrigger.COMMIT,
        FINISHED,
        "ab" * 16,
    )
    assert view.error == f"bundle jobs: {REFUSED.message}"
    assert view.bundles[0] == BundleView(
        name=BundleName("web"),
        revision=REVISION,
        state="ready",
        health="healthy",
        counts=ObjectCounts(configured=1, deleted=1),
        objects=(ObjectView(key=WEB, action="configured", health="healthy"),),
    )
    assert [b.health for b in view.bundles] == ["healthy", "degraded", "missing", "missing"]
    assert sync(error="cluster sim-000: unreachable").view(failures=1).error == (
        "cluster sim-000: unreachable"
    )
    assert sync(bundle("ok", S.READY, "fine")).view(failures=0).error is None


def test_totals_add_up_every_bundle() -> None:
    assert _a_sync().totals == ObjectCounts(configured=1, deleted=1, failed=1)


def test_reports_show_what_they_are() -> None:
    report = _a_sync()
    assert repr(report) == "SyncReport(sim-000, 0123456789ab, partial, failed)"
    assert repr(report.bundles[0]) == "BundleReport(web, ready, 1 objects)"


# -- refusals -----------------------------------------------------------------------------------


def refusal(message: str, *, causes: tuple[str, ...] = ()) -> errors.ApiError:
    return errors.ApiError(message, cluster="sim-000", code=422, reason="Invalid", causes=causes)


def test_a_refusal_carries_the_servers_message_and_causes() -> None:
    entry = changesets.refused(
        WEB,
        refusal('Deployment "web" is invalid', causes=(".spec.replicas: Invalid value: -1",)),
        verb="apply",
    )
    assert entry == ChangeSetEntry(
        WEB,
        Action.FAILED,
        "Deployment.apps shop/web: apply refused:"
        ' Deployment "web" is invalid (.spec.replicas: Invalid value: -1)',
    )
    plain = changesets.refused(CONFIG, refusal("too big"), verb="delete")
    assert plain.message == "ConfigMap shop/settings: delete refused: too big"


def test_a_secrets_refusal_never_repeats_the_server() -> None:
    # The server quotes what it refused, which may be the Secret's data.
    value = "aHVudGVyMg=="
    error = refusal(
        f'Secret "db" is invalid: data[password]: Invalid value: "{value}"',
        causes=(f'data[password]: Invalid value: "{value}"',),
    )
    entry = changesets.refused(SECRET, error, verb="apply")
    assert entry.message == "Secret shop/db: apply refused: Invalid (HTTP 422)"
    assert value not in entry.message
    view = sync(judged([entry], job=HEALTHY)).view(failures=1)
    shown = [
        view.error,
        *(b.message for b in view.bundles),
        *(o.message for b in view.bundles for o in b.objects),
    ]
    assert shown == [f"bundle shop: {entry.message}", entry.message, entry.message]


def test_counts_tally_every_action() -> None:
    actions = [
        Action.CREATED,
        Action.CREATED,
        Action.CONFIGURED,
        Action.UNCHANGED,
        Action.DELETED,
        Action.SKIPPED,
        Action.FAILED,
    ]
    assert changesets.counts(actions) == ObjectCounts(
        created=2, configured=1, unchanged=1, deleted=1, skipped=1, failed=1
    )
