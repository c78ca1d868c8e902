"""Rollouts: a commit converges on every cluster; a change for prod writes to prod only;
an in-sync fleet makes no write and no list, resyncs included."""

from __future__ import annotations

from pathlib import Path

from fleet.sim import faults
from fleet.structs.fleetview import ClusterState
from fleet.structs.settings import EngineSettings
from tests.clients import support
from tests.engine import apps, harness
from tests.support.clock import FakeClock


async def test_a_change_for_prod_writes_on_the_prod_clusters_only(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=20) as run:
        await run.converged()
        prod = [n for n in run.names if run.sim.labels(n)["env"] == "prod"]
        others = [n for n in run.names if n not in prod]
        assert len(prod) == 6
        run.sim.reset_counters()

        revision = await run.publish(apps.web(prod_greeting="bonjour"), message="greet prod")
        await run.converged(revision)

        assert all(run.writes(name) > 0 for name in prod)
        assert [run.writes(name) for name in others] == [0] * len(others)
        settings = run.view(prod[0]).bundles[1]
        assert (settings.name, settings.revision, settings.counts.configured) == (
            "web",
            revision,
            1,
        )


async def test_an_in_sync_fleet_makes_no_write_and_no_list(tmp_path: Path) -> None:
    clock = FakeClock()
    engine = EngineSettings(establish_timeout=10.0, health_interval=0.5, resync_interval=10.0)
    async with harness.running(
        tmp_path, files=apps.web(), clusters=4, engine=engine, clock=clock
    ) as run:
        await support.advancing(
            clock,
            lambda: all(run.view(n).state is ClusterState.READY for n in run.names),
            step=0.1,
        )
        run.sim.reset_counters()
        resyncs = run.sample("fleet_syncs_total", result="succeeded", trigger="resync")

        for _ in range(60):  # a minute on the controller's clock: six resyncs per cluster
            await clock.advance(1.0)

        assert run.sample("fleet_syncs_total", result="succeeded", trigger="resync") >= resyncs + 20
        for name in run.names:
            counted = run.sim.counters(name)
            assert (counted.writes, counted["list"]) == (0, 0), (name, counted)


async def test_a_rollout_done_during_its_own_sync_is_seen_at_once(tmp_path: Path) -> None:
    """Each request takes 0.1 s and a rollout 0.05 s, so the Deployment reports done while
    its sync is still recording inventories; that event must bring the cluster to ready
    then, not one `health_interval` (here 60 s) later."""
    engine = EngineSettings(establish_timeout=10.0, health_interval=60.0)
    async with harness.running(
        tmp_path, files=apps.web(), clusters=1, engine=engine,
        rollout_delay=0.05, faults=faults.Faults(latency=0.1),
    ) as run:  # fmt: skip
        await run.until(
            lambda: all(run.view(n).state is ClusterState.READY for n in run.names), within=20
        )
