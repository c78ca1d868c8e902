"""History under a rollout: the database cut off mid-rollout (its connections terminated
again and again) stops nothing, and afterwards every sync that happened is in the table
exactly once."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from prometheus_client import CollectorRegistry

from fleet.store import opening
from fleet.structs import history as h
from fleet.structs.fleetview import ClusterState
from tests.engine import apps, harness
from tests.support import database


class Recording:
    """A `HistoryStore` that remembers the id of every sync the engine recorded."""

    def __init__(self, store: h.HistoryStore) -> None:
        self.store = store
        self.syncs: list[h.SyncRecord] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def record_sync(self, record: h.SyncRecord) -> None:
        self.syncs.append(record)
        self.store.record_sync(record)


async def test_a_database_cut_off_mid_rollout_loses_and_repeats_no_sync(tmp_path: Path) -> None:
    async with database.fresh(database.database_url()) as db:
        metrics = CollectorRegistry()
        store = opening.history_store(db.settings(), registry=metrics)
        await store.start()
        recording = Recording(store)
        try:
            async with harness.running(
                tmp_path,
                files=apps.web(),
                clusters=10,
                history=recording,  # type: ignore[arg-type]
            ) as run:
                await run.converged()
                revision = await run.publish(apps.web(prod_greeting="bonjour"))
                revision2 = None

                async def cut_off() -> None:
                    while True:
                        await db.terminate_fleet_connections()
                        await asyncio.sleep(0.05)

                cutting = asyncio.create_task(cut_off())
                try:
                    await run.converged(revision)
                    # A second change, still cut off: the rollout goes on regardless.
                    revision2 = await run.publish(apps.web(prod_greeting="hola"))
                    await run.converged(revision2)
                finally:
                    cutting.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await cutting
                assert all(run.view(n).state is ClusterState.READY for n in run.names)
                await store.flush()
            assert revision2 is not None
            ids = [row["id"] for row in await db.admin.fetch(
                f'SELECT id FROM "{db.schema}".syncs')]  # fmt: skip
            assert sorted(ids) == sorted(record.id for record in recording.syncs)
            assert len(ids) == len(set(ids))
            assert store.status().dropped == 0
            # The cut-offs did hit writes: some batches failed and were written again.
            failed = metrics.get_sample_value(
                "fleet_history_write_batches_total", {"result": "failed"}
            )
            assert failed, "no write was cut off: the test proved nothing"
            rows = await db.admin.fetch(
                f'SELECT DISTINCT revision FROM "{db.schema}".syncs WHERE revision = ANY($1)',
                [revision, revision2],
            )
            assert len(rows) == 2
        finally:
            await store.close()
