"""Each sync is a span tree: fleet.sync with plan, apply per stage, prune and health,
linked to the fetch that brought the revision; its trace id is in history and the API."""

from __future__ import annotations

from pathlib import Path

from fleet.structs.history import SyncFilter, SyncResult, SyncTrigger
from fleet.structs.objects import ClusterName
from tests.engine import apps, harness


async def test_the_span_tree_of_a_sync(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=1) as run:
        await run.converged()
        revision = await run.publish(apps.web(without=("web/service.yaml",)))
        await run.converged(revision)
        page = await run.history.list_syncs(SyncFilter(revision=revision))
        shown = run.view("sim-000").trace_id

    spans = run.spans.get_finished_spans()
    syncs = [s for s in spans if s.name == "fleet.sync" and s.attributes
             and s.attributes["fleet.revision"] == revision]  # fmt: skip
    first = min(syncs, key=lambda s: s.start_time or 0)
    assert first.attributes is not None
    children = sorted(
        (s.name, (s.attributes or {}).get("fleet.stage"))
        for s in spans
        if s.parent is not None and s.parent.span_id == first.context.span_id
    )
    # Two waves (web depends on namespaces): each applies its stages and judges health.
    assert children == [
        ("fleet.apply", "definitions"),
        ("fleet.apply", "resources"),
        ("fleet.health", None),
        ("fleet.health", None),
        ("fleet.plan", None),
        ("fleet.prune", None),
    ]
    assert dict(first.attributes) == {
        "fleet.cluster": "sim-000",
        "fleet.revision": revision,
        "fleet.trigger": "commit",
        "fleet.bundles": 2,
        "fleet.objects.created": 0,
        "fleet.objects.configured": 0,
        "fleet.objects.unchanged": 3,
        "fleet.objects.deleted": 1,
        "fleet.objects.skipped": 0,
        "fleet.objects.failed": 0,
        "fleet.result": "succeeded",
        "fleet.state": "ready",
    }
    # Linked to the fetch that brought the revision (the mirror's span, on its tracer).
    assert len(first.links) == 1
    trace_id = format(first.context.trace_id, "032x")
    assert trace_id in {record.trace_id for record in page.items}
    assert shown is not None
    assert shown in {record.trace_id for record in page.items}


async def test_a_normalised_value_causes_no_apply(tmp_path: Path) -> None:
    """`cpu: 0.5` is stored as `500m`, memory in bytes as `128Mi`, ports get a protocol
    and Services a clusterIP: none of it may look like a change."""
    async with harness.running(tmp_path, files=apps.web(), clusters=1) as run:
        await run.converged()
        run.sim.reset_counters()
        run.controller.board.request_sync(ClusterName("sim-000"))
        await run.until(lambda: run.view("sim-000").trigger is SyncTrigger.MANUAL)
        assert run.view("sim-000").result is SyncResult.SUCCEEDED, run.view("sim-000").error
        assert run.sim.counters("sim-000").writes == 0
        assert {b.counts.unchanged for b in run.view("sim-000").bundles} == {1, 3}
