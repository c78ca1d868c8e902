"""Stores for the history tests: PostgreSQL in a fresh schema per test, and memory.

`store` is parametrized over both backends, so every test that takes it checks that the
two answer alike.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from prometheus_client import CollectorRegistry

from fleet.store import opening, postgresql
from fleet.structs import history as h
from fleet.structs.settings import HistorySettings
from tests.support import clock
from tests.support import database as db

NOW = clock.START
"""What a fresh `FakeClock` says ``utcnow()`` is; records in the tests are dated around it."""


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port that refuses connections: bound, never listening, for the whole test."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


@pytest.fixture
async def database() -> AsyncIterator[db.Database]:
    async with db.fresh(db.database_url()) as fresh:
        yield fresh


@pytest.fixture
async def postgres_store(
    database: db.Database, registry: CollectorRegistry
) -> AsyncIterator[postgresql.PostgresHistory]:
    store = postgresql.PostgresHistory(
        database.settings(), registry=registry, clock=clock.FakeClock()
    )
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=[h.HistoryBackend.MEMORY, h.HistoryBackend.POSTGRESQL])
async def store(
    request: pytest.FixtureRequest, database: db.Database, registry: CollectorRegistry
) -> AsyncIterator[h.HistoryStore]:
    if request.param is h.HistoryBackend.MEMORY:
        settings = HistorySettings()
    else:
        settings = database.settings()
    store = opening.history_store(settings, registry=registry, clock=clock.FakeClock())
    await store.start()
    try:
        yield store
    finally:
        await store.close()
