"""Which history store a fleet gets: PostgreSQL when a database URL is set, else memory.

The one decision is made here, so that `fleet.runtime` calls one function and the API
learns which backend it got from the store's status rather than from the settings.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from fleet.store import memory, postgresql
from fleet.structs import history as h
from fleet.structs.clock import Clock
from fleet.structs.settings import HistorySettings


def history_store(
    settings: HistorySettings,
    *,
    registry: CollectorRegistry,
    clock: Clock | None = None,
) -> h.HistoryStore:
    """A store for ``settings``; call `start` before use and `close` at shutdown."""
    if settings.database_url is None:
        return memory.MemoryHistory(settings, registry=registry)
    return postgresql.PostgresHistory(settings, registry=registry, clock=clock)
