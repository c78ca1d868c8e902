"""Schema migrations: numbered SQL files, applied at start-up in one transaction under a lock.

Two replicas of fleet may start at the same moment against one database. Each takes a
transaction-scoped advisory lock named after the schema before it looks at the schema
version, so the second waits until the first has committed and then finds nothing left to
do. Every step runs in that one transaction, so a failing migration leaves the schema as it
was. The lock is released by the commit or rollback itself; a crashed replica cannot leave
it held.

A database whose schema is newer than the code knows (an older fleet started after a newer
one) is refused with a clear error, rather than written to with assumptions that no longer
hold.

A migration may build an index on a table of millions of rows, which takes far longer than
the statement deadline that suits a batch of history (``history.command_timeout``); its
statements get `TIMEOUT` instead, so that an upgrade does not fail and retry forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from fleet.store import tables
from fleet.structs import errors

TIMEOUT = 900.0
"""Seconds a migration's statements may take: building indexes over a large history."""

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")

_VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def __repr__(self) -> str:
        return f"Migration({self.version:04d}_{self.name})"


def available() -> tuple[Migration, ...]:
    """The migrations shipped with this fleet, in order; numbered 1, 2, 3, ... without gaps."""
    found = []
    for entry in resources.files("fleet.store.migrations").iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    if [migration.version for migration in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"fleet.store.migrations is not numbered 1..n: {found}")
    return tuple(found)


async def migrate(
    connection: tables.Connection,
    *,
    schema: str,
    migrations: tuple[Migration, ...],
) -> int:
    """Bring ``schema`` up to the last of ``migrations``; returns the version it is at.

    ``schema`` must already be a valid identifier (the settings check it).
    """
    latest = migrations[-1].version if migrations else 0
    async with connection.transaction():
        await connection.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            f"fleet.store migrations {schema}",
            timeout=TIMEOUT,  # another replica may be building indexes meanwhile
        )
        await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await connection.execute(f'SET LOCAL search_path TO "{schema}"')
        await connection.execute(_VERSIONS_TABLE)
        current: int = await connection.fetchval(
            "SELECT coalesce(max(version), 0) FROM schema_migrations"
        )
        if current > latest:
            raise errors.HistorySchemaError(
                f"the history schema is at version {current}, but this fleet knows versions"
                f" up to {latest} only; run a fleet at least as new as the one that"
                " upgraded it, or configure another schema",
                where=f"database schema {schema!r}",
            )
        for migration in migrations[current:]:
            await connection.execute(migration.sql, timeout=TIMEOUT)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
    return max(current, latest)
