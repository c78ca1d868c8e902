"""History in PostgreSQL: recorded without waiting, written in batches by one owned task.

The sync path must never wait for the database, and a database outage must not stop or
slow reconciling. So ``record_*`` only appends to a bounded `buffering.WriteBuffer`, and a
single background writer, started by `start` and cancelled and awaited by `close`, takes
batches out and writes each in one transaction. While the database is away the writer
retries with exponential backoff and rows wait in the buffer; since every row has its own
id and the insert ignores ids it already has, a batch whose commit was lost in transit is
written again without duplicates. If the database refuses a batch's *data* (retrying would
fail forever and block every later row), that batch is dropped, counted and logged.

The same task deletes rows past the retention age, in small batches, so there is only one
writer to reason about. Queries (pages, and delivery metrics as one statement from
`delivering`) go through the pool directly and fail fast with
`errors.HistoryUnavailableError` when the database is away; the API turns that into 503.

Waiting on a schedule (the flush interval, retention, backoff) and reading the time go
through the `Clock`, so that tests can move time; the deadlines on database calls are
real-time `asyncio.timeout`s, because they bound real network I/O that a test clock
does not drive.

The database URL may carry a password. It is kept out of reprs, the status, logs and
errors: the store shows the URL without credentials and scrubs the password from any
driver message before passing it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, unquote, urlsplit

import asyncpg
from prometheus_client import CollectorRegistry

from fleet.store import buffering, delivering, metering, migrating, paging, querying, tables
from fleet.structs import errors
from fleet.structs import history as h
from fleet.structs.clock import Clock, SystemClock
from fleet.structs.settings import HistorySettings

logger = logging.getLogger("fleet.store")

# The database is away or the connection broke: wait, and try the same batch again.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # shutdown, pg_terminate_backend, starting up
    asyncpg.InsufficientResourcesError,  # too many connections, disk full
    # Wrong password or no such database: an operator fixes it, fleet keeps reconciling.
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
    # The driver lost track of a connection that died mid-operation.
    asyncpg.InternalClientError,
)

# The database refuses the data itself; the same batch would be refused forever.
_REJECTED: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
)


class PostgresHistory:
    """A `HistoryStore` in a PostgreSQL schema, written behind the sync path."""

    def __init__(
        self,
        settings: HistorySettings,
        *,
        registry: CollectorRegistry,
        clock: Clock | None = None,
    ) -> None:
        if settings.database_url is None:
            raise ValueError("PostgresHistory needs settings.history.database_url")
        self._settings = settings
        self._url = settings.database_url
        self._location = h.without_credentials(settings.database_url.reveal())
        self._secrets = _secrets_in(settings.database_url.reveal())
        self._clock = clock or SystemClock()
        self._metrics = metering.HistoryMetrics(registry)
        self._buffer = buffering.WriteBuffer(capacity=settings.buffer_size, metrics=self._metrics)
        self._migrations = migrating.available()
        self._pool: asyncpg.Pool | None = None
        self._writer: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._closing = False
        self._progress = asyncio.Condition()
        self._flushing = 0
        self._migrated = False
        self._connected = False
        self._last_error: str | None = None
        self._last_error_since: datetime | None = None
        self._next_retention = 0.0

    def __repr__(self) -> str:
        state = "connected" if self._connected else "disconnected"
        return (
            f"<PostgresHistory {self._location} schema={self._settings.schema} {state}"
            f" buffered={len(self._buffer)} dropped={self._buffer.dropped}>"
        )

    async def start(self) -> None:
        """Open the pool, migrate, and start the writer.

        An unreachable database does not stop start-up -- reconciling must go on, and the
        writer migrates once the database is back -- but a schema newer than this fleet
        does: that will not fix itself.
        """
        if self._pool is not None:
            raise RuntimeError(f"{self!r} is already started")
        self._pool = await asyncpg.create_pool(
            self._url.reveal(),
            min_size=0,
            max_size=self._settings.pool_size,
            timeout=self._settings.connect_timeout,
            command_timeout=self._settings.command_timeout,
            server_settings={
                "application_name": self._settings.application_name,
                "search_path": self._settings.schema,
            },
        )
        try:
            await self._migrate()
        except _UNAVAILABLE as error:
            self._failed(error)
        except errors.HistorySchemaError:
            await self._close_pool()
            raise
        self._writer = asyncio.create_task(self._write_forever(), name="fleet.store writer")

    async def close(self) -> None:
        """Write what is buffered within ``close_timeout``, then stop the writer and the pool."""
        if self._writer is None:
            return
        self._closing = True
        self._wakeup.set()
        try:
            async with asyncio.timeout(self._settings.close_timeout):
                await self._writer  # returns once the buffer is empty
        except TimeoutError:
            pass  # the writer was cancelled by the timeout; what it held is counted below
        finally:
            self._writer = None
            lost = self._buffer.abandon()
            if lost:
                logger.error(
                    "history: %d rows could not be written to %s before shutdown",
                    lost,
                    self._location,
                )
            async with self._progress:
                self._progress.notify_all()  # a flush waiting for those rows is over too
            await self._close_pool()

    async def flush(self) -> None:
        """Wait until every row recorded so far is written or dropped; no time limit of its own."""
        target = self._buffer.added
        self._flushing += 1
        try:
            async with self._progress:
                self._wakeup.set()
                await self._progress.wait_for(lambda: self._buffer.settled >= target)
        finally:
            self._flushing -= 1

    def record_sync(self, record: h.SyncRecord) -> None:
        self._add(record)

    def record_drift(self, record: h.DriftRecord) -> None:
        self._add(record)

    def record_revision(self, record: h.RevisionRecord) -> None:
        self._add(record)

    def status(self) -> h.HistoryStatus:
        return h.HistoryStatus(
            backend=h.HistoryBackend.POSTGRESQL,
            location=self._location,
            connected=self._connected,
            buffered=len(self._buffer),
            dropped=self._buffer.dropped,
            last_error=self._last_error,
            last_error_since=self._last_error_since,
        )

    async def list_syncs(
        self, where: h.SyncFilter, *, cursor: str | None = None, limit: int = h.DEFAULT_PAGE_SIZE
    ) -> h.Page[h.SyncRecord]:
        query = querying.syncs(
            where, after=_after(paging.Table.SYNCS, cursor, limit), limit=limit + 1
        )
        return await self._page(paging.Table.SYNCS, query, tables.sync_from_row, limit)

    async def list_drift(
        self, where: h.DriftFilter, *, cursor: str | None = None, limit: int = h.DEFAULT_PAGE_SIZE
    ) -> h.Page[h.DriftRecord]:
        query = querying.drift(
            where, after=_after(paging.Table.DRIFT, cursor, limit), limit=limit + 1
        )
        return await self._page(paging.Table.DRIFT, query, tables.drift_from_row, limit)

    async def list_revisions(
        self,
        where: h.RevisionFilter,
        *,
        cursor: str | None = None,
        limit: int = h.DEFAULT_PAGE_SIZE,
    ) -> h.Page[h.RevisionRecord]:
        after = _after(paging.Table.REVISIONS, cursor, limit)
        query = querying.revisions(where, after=after, limit=limit + 1)
        return await self._page(paging.Table.REVISIONS, query, tables.revision_from_row, limit)

    async def delivery_metrics(self, query: h.DeliveryQuery) -> h.DeliveryReport:
        # The one query whose cost the caller chooses: say how to make it cheaper.
        too_long = (
            f"measuring delivery from {query.since.isoformat()} to {query.until.isoformat()}"
            f" takes longer than {self._settings.command_timeout:g} s (history.command_timeout);"
            " ask for a shorter range, one cluster or one bundle"
        )
        rows = await self._fetch(delivering.statement(query), too_long=too_long)
        return delivering.report(
            query, [(row["grouped"], row["name"], delivering.totals(row)) for row in rows]
        )

    async def apply_retention(self) -> int:
        """Delete rows older than ``retention_days`` by the clock, in batches; returns the count."""
        cutoff = self._clock.utcnow() - timedelta(days=self._settings.retention_days)
        total = 0
        for table, statement in tables.RETENTION:
            deleted = self._settings.retention_batch
            while deleted == self._settings.retention_batch:
                async with self._connection() as connection:
                    status = await connection.execute(
                        statement, cutoff, self._settings.retention_batch
                    )
                deleted = tables.affected(status)
                self._metrics.rows_deleted.labels(table).inc(deleted)
                total += deleted
        if total:
            logger.info("history retention deleted %d rows older than %s", total, cutoff)
        return total

    def _add(self, record: paging.Record) -> None:
        self._buffer.add(record)
        if len(self._buffer) in (1, self._settings.batch_size):
            self._wakeup.set()

    async def _write_forever(self) -> None:
        failures = 0
        while True:
            if failures:
                await self._clock.sleep(self._retry_delay(failures))
            else:
                await self._await_rows()
            if self._closing and not self._buffer:
                return
            try:
                if not self._migrated:
                    await self._migrate()
                if self._buffer:
                    await self._write_batch()
                if self._clock.now() >= self._next_retention:
                    await self.apply_retention()
                    self._next_retention = self._clock.now() + self._settings.retention_interval
            except _UNAVAILABLE as error:
                failures += 1
                self._failed(error)
            except errors.HistorySchemaError as error:
                # Found only now because the database was away at start-up. Not an outage:
                # only a newer fleet can write here. Rows wait (and overflow, counted).
                failures += 1
                self._failed(error, refused=True)
            except Exception as error:  # noqa: BLE001 -- see below
                # Whatever else goes wrong, the writer must not die and leave rows piling
                # up: log it (scrubbed, so no traceback), back off and try again. A batch
                # that can never be written is dropped by overflow in the end, with a count.
                failures += 1
                self._failed(error)
                logger.error("history writer failed unexpectedly: %s", self._scrub(error))
            else:
                failures = 0

    async def _await_rows(self) -> None:
        """Wait for a first row (or retention), then up to ``flush_interval`` for a full batch."""
        if not self._buffer:
            until_retention = self._next_retention - self._clock.now()
            await self._wait_for_wakeup(max(until_retention, 0.0))
        hurry = self._closing or self._flushing
        if self._buffer and len(self._buffer) < self._settings.batch_size and not hurry:
            await self._wait_for_wakeup(self._settings.flush_interval)

    async def _wait_for_wakeup(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with self._clock.timeout(seconds):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _write_batch(self) -> None:
        batch = self._buffer.take(self._settings.batch_size)
        started = self._clock.now()
        try:
            async with self._connection() as connection:
                await tables.insert(connection, batch)
        except _REJECTED as error:
            self._buffer.rejected()
            self._metrics.batches.labels(metering.BatchResult.REJECTED).inc()
            logger.error(
                "history: the database refused a batch of %d rows, which are dropped: %s",
                len(batch),
                self._scrub(error),
            )
        except BaseException:
            self._buffer.failed()
            self._metrics.batches.labels(metering.BatchResult.FAILED).inc()
            raise
        else:
            self._buffer.written()
            self._succeeded()
            self._metrics.batches.labels(metering.BatchResult.WRITTEN).inc()
            self._metrics.write_seconds.observe(self._clock.now() - started)
            for table, count in Counter(paging.table_of(row) for row in batch).items():
                self._metrics.rows_written.labels(table).inc(count)
        async with self._progress:
            self._progress.notify_all()

    async def _migrate(self) -> None:
        async with self._connection(work=migrating.TIMEOUT) as connection:
            await migrating.migrate(
                connection, schema=self._settings.schema, migrations=self._migrations
            )
        self._migrated = True
        self._succeeded()

    @contextlib.asynccontextmanager
    async def _connection(self, *, work: float | None = None) -> AsyncIterator[tables.Connection]:
        # One deadline for acquiring (which may mean connecting) and for the work itself,
        # which is one statement's time unless the caller needs more.
        if self._pool is None:
            raise errors.HistoryUnavailableError("the history store is not started")
        timeout = self._settings.connect_timeout + (work or self._settings.command_timeout)
        async with asyncio.timeout(timeout), self._pool.acquire() as connection:
            yield connection

    async def _page(
        self,
        table: paging.Table,
        query: querying.Query,
        decode: Callable[[asyncpg.Record], paging.R],
        limit: int,
    ) -> h.Page[paging.R]:
        rows = await self._fetch(query)
        return paging.page(table, [decode(row) for row in rows], limit)

    async def _fetch(
        self, query: querying.Query, *, too_long: str | None = None
    ) -> list[asyncpg.Record]:
        try:
            async with self._connection() as connection:
                rows: list[asyncpg.Record] = await connection.fetch(query.sql, *query.args)
        except TimeoutError as error:
            problem = too_long if too_long and self._connected else self._scrub(error)
        except _UNAVAILABLE as error:
            problem = self._scrub(error)
        else:
            return rows
        # Raised outside the handler so that the driver's exception, whose message may quote
        # the password, is neither the cause nor the context of this one.
        raise errors.HistoryUnavailableError(
            f"the history database at {self._location} cannot answer: {problem}"
        )

    async def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            async with asyncio.timeout(self._settings.close_timeout):
                await pool.close()
        except TimeoutError:
            pool.terminate()
        self._connected = False

    def _retry_delay(self, failures: int) -> float:
        delay: float = self._settings.retry_initial * 2 ** min(failures - 1, 32)
        return min(delay, self._settings.retry_max)

    def _failed(self, error: BaseException, *, refused: bool = False) -> None:
        """Log the start of a run of failures (and a refusal once), then keep the error."""
        message = self._scrub(error)
        if refused and message != self._last_error:
            logger.error(
                "history database at %s refuses this fleet, rows wait in the buffer: %s",
                self._location,
                message,
            )
        elif self._connected or self._last_error is None:
            logger.warning(
                "history database at %s is unavailable, rows wait in the buffer: %s",
                self._location,
                message,
            )
        if self._connected or self._last_error is None:
            self._last_error_since = self._clock.utcnow()
        self._connected = False
        self._last_error = message

    def _succeeded(self) -> None:
        if self._last_error is not None:
            logger.info("history database at %s is available again", self._location)
        self._connected = True
        self._last_error = None
        self._last_error_since = None

    def _scrub(self, error: BaseException) -> str:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _after(table: paging.Table, cursor: str | None, limit: int) -> paging.Position | None:
    paging.check_limit(limit)
    return None if cursor is None else paging.decode(table, cursor)


def _secrets_in(url: str) -> tuple[str, ...]:
    """Every spelling of a password in the URL (as written and decoded), longest first."""
    parts = urlsplit(url)
    found = {parts.password or ""}
    found.update(v for k, v in parse_qsl(parts.query) if k.lower() == "password")
    found |= {unquote(secret) for secret in found}
    found.discard("")
    return tuple(sorted(found, key=len, reverse=True))
