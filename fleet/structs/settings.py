"""Settings, in small groups with documented defaults.

Each concern has its own frozen group (`settings.git.poll_interval`,
`settings.watching.reconnect_backoff`, ...), so a component receives only the group it
needs and a test builds that group alone. `Settings` collects the groups; the command
line and `FLEET_*` environment variables fill it in `fleet.runtime`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fleet.structs import errors

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorySettings:
    """Where history goes and how writing it behaves (`settings.history`).

    Without a database URL, history is kept in memory (bounded by ``memory_rows``). The URL
    may hold a password, so it is left out of the repr; the store shows it without one.
    """

    database_url: str | None = field(default=None, repr=False)
    """``postgresql://user:password@host:5432/db``; None keeps history in memory."""
    schema: str = "fleet"
    """Schema that holds fleet's tables; created at start-up. Lower-case letters, digits, ``_``."""
    application_name: str = "fleet"
    """How fleet's connections appear in ``pg_stat_activity``."""
    pool_size: int = 4
    """Most connections at once (one writes; the rest answer the API)."""
    connect_timeout: float = 5.0
    """Seconds to open one connection."""
    command_timeout: float = 10.0
    """Seconds for one statement or one batch write."""
    buffer_size: int = 20_000
    """Rows held while the database is slow or away (about 1.4 KB each); then oldest go."""
    batch_size: int = 1_000
    """Most rows written in one transaction."""
    flush_interval: float = 0.5
    """Seconds a row may wait for a fuller batch before it is written."""
    retry_initial: float = 0.2
    """Seconds before the first retry after a failed write; doubles per failure."""
    retry_max: float = 30.0
    """Longest wait between retries while the database is away."""
    close_timeout: float = 5.0
    """Seconds that shutdown waits for buffered rows to be written."""
    retention_days: float = 90.0
    """Rows older than this are deleted."""
    retention_interval: float = 3600.0
    """Seconds between two retention runs."""
    retention_batch: int = 5_000
    """Most rows deleted per statement, so retention never holds long locks."""
    memory_rows: int = 10_000
    """Rows kept per table when history is in memory; the oldest go first."""

    def __post_init__(self) -> None:
        if not _IDENTIFIER.fullmatch(self.schema):
            raise errors.UserError(
                f"{self.schema!r} is not a schema name fleet accepts "
                "(lower-case letters, digits and '_', at most 63, not starting with a digit)",
                where="settings.history.schema",
            )
        for name in ("pool_size", "batch_size", "retention_batch", "memory_rows"):
            if getattr(self, name) < 1:
                raise errors.UserError("must be at least 1", where=f"settings.history.{name}")
        for name in (
            "connect_timeout",
            "command_timeout",
            "flush_interval",
            "retry_initial",
            "retry_max",
            "close_timeout",
            "retention_days",
            "retention_interval",
        ):
            if getattr(self, name) <= 0:
                raise errors.UserError("must be positive", where=f"settings.history.{name}")
        if self.database_url is not None:
            _check_database_url(self.database_url)
        if self.buffer_size < self.batch_size:
            raise errors.UserError(
                f"must be at least batch_size ({self.batch_size})",
                where="settings.history.buffer_size",
            )


def _check_database_url(url: str) -> None:
    # The driver would only find out when it first connects, in the background.
    where = "settings.history.database_url"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- parsing the port is the check
    except ValueError:
        raise errors.UserError("is not a URL with a valid port", where=where) from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise errors.UserError("must look like postgresql://user@host:5432/database", where=where)
