"""The memory store: bounded per table, honest about being memory; and which store a fleet gets."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import CollectorRegistry

from fleet.store import memory, opening, postgresql
from fleet.structs import history as h
from fleet.structs.objects import Revision
from fleet.structs.settings import HistorySettings, Secret
from tests.store import records
from tests.store.conftest import NOW


async def test_each_table_keeps_only_its_newest_rows() -> None:
    registry = CollectorRegistry()
    store = memory.MemoryHistory(HistorySettings(memory_rows=3), registry=registry)
    syncs = [records.sync(at=NOW + timedelta(seconds=n)) for n in range(5)]
    for sync in reversed(syncs):  # arrival order does not matter, time does
        store.record_sync(sync)
    for n in range(2):
        store.record_revision(records.revision(sha=Revision(f"{n:040x}"), at=NOW))
    page = await store.list_syncs(h.SyncFilter())
    assert page.items == tuple(reversed(syncs[2:]))
    assert len((await store.list_revisions(h.RevisionFilter())).items) == 2
    assert repr(store) == "<MemoryHistory syncs=3 drift=0 revisions=2>"
    written = registry.get_sample_value("fleet_history_rows_written_total", {"table": "syncs"})
    assert written == 5


def test_status_says_memory() -> None:
    store = memory.MemoryHistory(HistorySettings(), registry=CollectorRegistry())
    assert store.status() == h.HistoryStatus(
        backend=h.HistoryBackend.MEMORY,
        location=None,
        connected=True,
        buffered=0,
        dropped=0,
        last_error=None,
        last_error_since=None,
    )


def test_a_database_url_chooses_postgresql_and_none_chooses_memory() -> None:
    registry = CollectorRegistry()
    chosen = opening.history_store(HistorySettings(), registry=registry)
    assert isinstance(chosen, memory.MemoryHistory)
    settings = HistorySettings(database_url=Secret("postgresql://fleet@db/fleet"))
    chosen = opening.history_store(settings, registry=CollectorRegistry())
    assert isinstance(chosen, postgresql.PostgresHistory)
    assert chosen.status().backend is h.HistoryBackend.POSTGRESQL
