"""PostgreSQL for tests: a fresh schema per test on the server `FLEET_TEST_DATABASE_URL` names.

A test that needs the database and cannot reach it FAILS, with the URL it tried and how to
fix it. It never skips: a skipped database test looks green in CI while testing nothing.

Each test gets its own schema (dropped afterwards) and its own ``application_name``, so
tests can run next to one another -- and next to other people's runs on the same server --
and a test that kills "fleet's connections" kills only its own.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import pytest

from fleet.structs import history
from fleet.structs.settings import HistorySettings, Secret

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT = 5.0


def database_url() -> str:
    return os.environ.get("FLEET_TEST_DATABASE_URL", DEFAULT_URL)


async def connect(url: str) -> asyncpg.Connection:
    """A connection to ``url``, or a failed test that says how to get one."""
    try:
        connection: asyncpg.Connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        pytest.fail(
            f"the history store tests need PostgreSQL, and {history.without_credentials(url)}"
            f" is not reachable ({type(error).__name__}: {error}). Start a server there"
            " (user postgres, trust authentication, database test), or set"
            " FLEET_TEST_DATABASE_URL to the URL of one.",
            pytrace=False,
        )
    return connection


@dataclass(frozen=True, slots=True)
class Database:
    """The test's schema on the test server, and an admin connection outside of it."""

    url: str
    schema: str
    admin: asyncpg.Connection

    @property
    def application_name(self) -> str:
        return f"fleet/{self.schema}"

    def settings(self, **overrides: Any) -> HistorySettings:
        """History settings for a store in this schema."""
        defaults = {
            "database_url": self.url,
            "schema": self.schema,
            "application_name": self.application_name,
        }
        return quick_settings(**{**defaults, **overrides})

    async def count(self, table: str) -> int:
        value: int = await self.admin.fetchval(f'SELECT count(*) FROM "{self.schema}".{table}')
        return value

    async def terminate_fleet_connections(self) -> int:
        """End every server process that this test's stores are connected by."""
        ended: int = await self.admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1",
            self.application_name,
        )
        return ended


def quick_settings(**overrides: Any) -> HistorySettings:
    """History settings that retry and flush in milliseconds, so tests take no time waiting.

    A ``database_url`` given as text is wrapped in a `Secret`, as the settings want it.
    """
    if isinstance(overrides.get("database_url"), str):
        overrides["database_url"] = Secret(overrides["database_url"])
    base = HistorySettings(
        connect_timeout=2.0,
        command_timeout=5.0,
        flush_interval=0.01,
        retry_initial=0.01,
        retry_max=0.1,
    )
    return replace(base, **overrides)


@contextlib.asynccontextmanager
async def fresh(url: str) -> AsyncIterator[Database]:
    """A schema name no one uses yet; the schema is dropped with everything in it afterwards.

    The schema itself is not created: the store's migrations create it.
    """
    admin = await connect(url)
    schema = f"fleet_test_{uuid.uuid4().hex[:12]}"
    try:
        yield Database(url=url, schema=schema, admin=admin)
    finally:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            f"fleet/{schema}",
        )
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close(timeout=CONNECT_TIMEOUT)
