"""`GitMirror`: one bare mirror of one remote, fetched single-flight, read off the loop.

Every cluster reads the same mirror, so the cost of following Git does not grow with
the fleet. The mirror holds the remote's branches and tags; the branches fleet follows
are *tracked*, and for each the mirror keeps the last good commit and tells subscribers
when it moves (`TrackedBranch` is the `GitSource` the engine sees).

Single-flight: `fetch()` joins the fetch that is about to start; a call made while a
fetch is already talking to the remote gets the one fetch that follows it (shared by
every such call), because the remote may have changed after the first one listed its
refs. So a burst of any size costs one or two fetches, and no caller is handed a
result older than its call. The blocking transfer runs in a worker thread; if it times
out, asyncio cannot stop the thread: the mirror tells it to stop at its next chunk,
keeps its future, and starts no other transfer until it has ended (a later fetch waits
for it, up to the fetch timeout, then fails) -- single-flight covers the thread, not
only the coroutine.

Failure never loses the last good state: refs move only after `fetching.transfer`
verified the new commits, a failed fetch leaves them where they were, and the poll loop
backs off exponentially (bounded, jittered). A push webhook wakes the poll loop at
once, backoff or not: a push is news that the remote works.

Reads run on one thread per mirror (`reading.RepositoryReader` is not thread-safe, and
the GIL would gain little from more); they never touch the refs, so a fetch and any
number of reads proceed together.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import math
import random
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from opentelemetry import trace
from opentelemetry.trace import SpanContext, StatusCode

from fleet.sources import fetching, reading, remotes
from fleet.sources.metrics import SourceMetrics
from fleet.structs import errors
from fleet.structs.clock import Clock
from fleet.structs.objects import Revision
from fleet.structs.settings import GitSettings
from fleet.structs.sources import CommitInfo, HeadChange, SourceFile, SourceState, SourceStatus

_log = logging.getLogger(__name__)
_tracer = trace.get_tracer("fleet")
_T = TypeVar("_T")


class FetchOutcome(enum.StrEnum):
    UPDATED = "updated"
    """The mirror's branches or tags moved."""
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetch of one mirror: the heads of its tracked branches before and after."""

    url: str
    outcome: FetchOutcome
    heads_before: Mapping[str, Revision | None]
    heads_after: Mapping[str, Revision | None]
    error: str | None
    pack_bytes: int
    span: SpanContext


def delay(*, failures: int, settings: GitSettings, rng: random.Random) -> float:
    """Seconds until the next poll: the interval (jittered both ways) when healthy, else
    exponential backoff from ``backoff_base`` up to ``backoff_cap``, shortened by up to
    ``backoff_jitter`` so that it never passes the cap."""
    if failures == 0:
        spread = settings.poll_jitter
        return settings.poll_interval * (1 + rng.uniform(-spread, spread))
    backoff = min(settings.backoff_cap, settings.backoff_base * (1 << min(failures - 1, 62)))
    return backoff * (1 - rng.uniform(0, settings.backoff_jitter))


@dataclass(frozen=True, slots=True)
class MirrorSetup:
    """What every mirror of a process shares."""

    settings: GitSettings
    credentials: remotes.Credentials | None
    metrics: SourceMetrics
    clock: Clock
    rng: random.Random


class GitMirror:
    """The bare mirror of one remote. Create with `await GitMirror.open(...)`."""

    def __init__(
        self,
        remote: remotes.Remote,
        setup: MirrorSetup,
        *,
        refs: dict[bytes, bytes],
        reader: reading.RepositoryReader,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.remote = remote
        self._settings = setup.settings
        self._credentials = setup.credentials
        self._metrics = setup.metrics
        self._clock = setup.clock
        self._rng = setup.rng
        self._path = setup.settings.state_dir / remote.directory_name
        self._refs = refs
        self._remote_refs: Mapping[bytes, bytes] | None = None
        self._reader = reader
        self._executor = executor
        self._tracked: dict[str, bytes] = {}
        self._changes: dict[str, HeadChange] = {}
        self._changed = asyncio.Condition()
        self._wake = asyncio.Event()
        self._upcoming: asyncio.Future[FetchResult] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._straggler: asyncio.Future[fetching.Transfer] | None = None
        self._verified_trees: set[bytes] = set()
        self._fetching = False
        self._closed = False
        self._last_attempt: datetime | None = None
        self._last_success: datetime | None = None
        self._last_success_at: float | None = None
        self._last_error: str | None = None
        self._failures = 0
        self._metrics.watch(self.url, since_success=self._seconds_since_success)

    @classmethod
    async def open(cls, remote: remotes.Remote, setup: MirrorSetup) -> GitMirror:
        """Open (creating if needed) the mirror's directory; what it already holds from
        an earlier run serves until the first fetch."""
        path = setup.settings.state_dir / remote.directory_name
        refs = await asyncio.to_thread(fetching.init, path)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fleet-git-read")
        count = setup.metrics.read_bytes.labels(url=remote.url).inc
        make_reader = functools.partial(
            reading.RepositoryReader, path, settings=setup.settings, count_bytes=count
        )
        try:
            reader = await asyncio.get_running_loop().run_in_executor(executor, make_reader)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(remote, setup, refs=refs, reader=reader, executor=executor)

    @property
    def url(self) -> str:
        return self.remote.url

    def __repr__(self) -> str:
        heads = ", ".join(
            f"{branch}@{(self.head(branch) or 'none')[:7]}" for branch in self._tracked
        )
        return (
            f"<GitMirror {self.url} [{heads}] failures={self._failures} "
            f"fetching={self._fetching}{' closed' if self._closed else ''}>"
        )

    def track(self, branch: str) -> TrackedBranch:
        """Follow ``branch``: its head is announced now (if the mirror has it) and on
        every change."""
        try:
            ref = fetching.branch_ref(branch)
        except ValueError as error:
            raise errors.UserError(str(error), where=f"git branch of {self.url}") from None
        if branch not in self._tracked:
            self._tracked[branch] = ref
            head = self.head(branch)
            if head is not None:
                self._changes[branch] = HeadChange(self.url, branch, None, head, None)
        return TrackedBranch(self, branch)

    def head(self, branch: str) -> Revision | None:
        sha = self._refs.get(fetching.branch_ref(branch))
        return Revision(sha.decode()) if sha else None

    def state(self, branch: str) -> SourceState:
        status, error = SourceStatus.READY, self._last_error
        if self._last_error is not None:
            status = SourceStatus.FAILING
        elif self._remote_refs is None:
            status = SourceStatus.PENDING
        elif self._tracked.get(branch, b"") not in self._remote_refs:
            status = SourceStatus.BRANCH_MISSING
            error = f"the remote has no branch {branch!r}; serving the last good commit"
        return SourceState(
            url=self.url,
            branch=branch,
            status=status,
            head=self.head(branch),
            last_attempt=self._last_attempt,
            last_success=self._last_success,
            last_error=error,
            consecutive_failures=self._failures,
        )

    def wake(self) -> None:
        """Make the poll loop fetch now, whatever its interval or backoff."""
        self._wake.set()

    def next_delay(self) -> float:
        return delay(failures=self._failures, settings=self._settings, rng=self._rng)

    async def poll(self) -> None:
        """Fetch now, then again after each interval or backoff, or at once when woken;
        runs until cancelled (its owner, the `MirrorSet`, does that)."""
        while True:
            self._wake.clear()
            try:
                await self.fetch()
            except Exception:  # noqa: BLE001 -- a bug in one fetch must not end the polling
                _log.exception("fetch of %s failed unexpectedly", self.url)
            await self._sleep_or_wake(self.next_delay())

    async def fetch(self) -> FetchResult:
        """Fetch, single-flight (see the module docstring); never raises for a remote's
        failure -- the result and `state` say what went wrong."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        if self._upcoming is None:
            self._upcoming = asyncio.get_running_loop().create_future()
        upcoming = self._upcoming
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run_fetches(), name=f"fetch {self.url}")
        return await asyncio.shield(upcoming)

    async def resolve(self, name: str) -> Revision:
        return await self._read(functools.partial(self._reader.resolve, name))

    async def commit_info(self, revision: Revision) -> CommitInfo:
        return await self._read(functools.partial(self._reader.commit_info, revision))

    async def read_file(self, revision: Revision, path: str) -> SourceFile:
        return await self._read(functools.partial(self._reader.read_file, revision, path))

    async def read_directory(self, revision: Revision, path: str) -> tuple[SourceFile, ...]:
        return await self._read(functools.partial(self._reader.read_directory, revision, path))

    async def close(self) -> None:
        """Stop fetching, end every `changes` iteration, wait for a straggling transfer
        thread (bounded by the fetch timeout), and release the reader. Idempotent."""
        if self._closed:
            return
        self._closed = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._upcoming is not None:
            self._upcoming.cancel()
        if self._straggler is not None:
            await asyncio.wait({self._straggler}, timeout=self._settings.fetch_timeout)
        await self._read(self._reader.close)
        self._executor.shutdown(wait=False)
        self._metrics.forget(self.url)

    async def changes(self, branch: str) -> AsyncIterator[HeadChange]:
        """The branch's head now (if any), then each new one; ends at close."""
        seen: HeadChange | None = None
        while True:
            async with self._changed:
                await self._changed.wait_for(functools.partial(self._moved, branch, seen))
                if self._closed:
                    return
                seen = self._changes[branch]
            yield seen

    def _moved(self, branch: str, seen: HeadChange | None) -> bool:
        return self._closed or self._changes.get(branch) is not seen

    async def _sleep_or_wake(self, seconds: float) -> None:
        sleeping = asyncio.ensure_future(self._clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            woken.cancel()
            await asyncio.gather(sleeping, woken, return_exceptions=True)

    async def _run_fetches(self) -> None:
        while self._upcoming is not None:
            upcoming, self._upcoming = self._upcoming, None
            try:
                upcoming.set_result(await self._fetch_once())
            except asyncio.CancelledError:
                upcoming.cancel()
                raise
            except Exception as error:  # noqa: BLE001 -- handed to every caller as is
                upcoming.set_exception(error)

    async def _fetch_once(self) -> FetchResult:
        self._fetching = True
        started = self._clock.now()
        self._last_attempt = self._clock.utcnow()
        tracked = dict(self._tracked)
        before = {branch: self.head(branch) for branch in tracked}
        attributes = {
            "fleet.git.url": self.url,
            "fleet.git.refs": list(tracked),
            "fleet.git.revision.before": [before[branch] or "" for branch in tracked],
        }
        pack_bytes, error, vanished = 0, None, []
        with _tracer.start_as_current_span("fleet.fetch", attributes=attributes) as span:
            try:
                transferred = await self._transfer(set(tracked.values()))
                refs = await asyncio.to_thread(
                    fetching.update_refs,
                    path=self._path,
                    refs=transferred.refs,
                    keep=set(tracked.values()),
                )
            except Exception as failure:  # noqa: BLE001 -- whatever the remote did, keep serving
                error = self._describe(failure)
                outcome = FetchOutcome.FAILED
                self._failures += 1
                self._last_error = error
                span.set_status(StatusCode.ERROR, error)
            else:
                outcome = FetchOutcome.UPDATED if refs != self._refs else FetchOutcome.UNCHANGED
                pack_bytes = transferred.pack_bytes
                vanished = [
                    branch
                    for branch, ref in tracked.items()
                    if ref not in transferred.refs
                    and (self._remote_refs is None or ref in self._remote_refs)
                ]
                self._refs, self._remote_refs = refs, transferred.refs
                self._failures, self._last_error = 0, None
                self._last_success, self._last_success_at = self._clock.utcnow(), self._clock.now()
            after = {branch: self.head(branch) for branch in tracked}
            span.set_attribute("fleet.git.revision.after", [after[b] or "" for b in tracked])
            span.set_attribute("fleet.git.result", outcome.value)
            context = span.get_span_context()
        self._fetching = False
        self._record(outcome, started=started, error=error, vanished=vanished)
        await self._announce(before, after, context)
        return FetchResult(self.url, outcome, before, after, error, pack_bytes, context)

    async def _transfer(self, tracked: set[bytes]) -> fetching.Transfer:
        if self._straggler is not None and not self._straggler.done():
            await asyncio.wait({self._straggler}, timeout=self._settings.fetch_timeout)
            if not self._straggler.done():
                raise fetching.FetchError(
                    "the transfer of an earlier fetch that timed out is still running"
                )
        cancelled = threading.Event()
        connect = functools.partial(
            remotes.connect,
            self.remote,
            credentials=self._credentials,
            timeout=self._settings.fetch_timeout,
            ssh_key_file=self._settings.ssh_key_file,
        )
        work = asyncio.ensure_future(
            asyncio.to_thread(
                fetching.transfer,
                path=self._path,
                connect=connect,
                tracked=tracked,
                max_bytes=self._settings.max_fetch_bytes,
                cancelled=cancelled,
                verified=self._verified_trees,
            )
        )
        try:
            async with asyncio.timeout(self._settings.fetch_timeout):
                return await asyncio.shield(work)
        except TimeoutError:
            raise fetching.FetchError(
                f"timed out after {self._settings.fetch_timeout:g} s"
            ) from None
        finally:
            if not work.done():
                cancelled.set()
                self._straggler = work
                work.add_done_callback(_consume)

    def _describe(self, failure: BaseException) -> str:
        secrets = [self._credentials.password.reveal()] if self._credentials else []
        return remotes.redact(fetching.describe(failure), secrets)

    def _record(
        self, outcome: FetchOutcome, *, started: float, error: str | None, vanished: list[str]
    ) -> None:
        self._metrics.fetches.labels(url=self.url, result=outcome.value).inc()
        self._metrics.fetch_duration.labels(url=self.url).observe(self._clock.now() - started)
        self._metrics.consecutive_failures.labels(url=self.url).set(self._failures)
        if error is not None:
            _log.warning("fetch of %s failed (%d in a row): %s", self.url, self._failures, error)
        for branch in vanished:
            _log.warning("%s: %s", self.url, self.state(branch).last_error)

    async def _announce(
        self,
        before: Mapping[str, Revision | None],
        after: Mapping[str, Revision | None],
        context: SpanContext,
    ) -> None:
        moved = False
        for branch, head in after.items():
            if head is not None and head != before[branch]:
                _log.info("%s %s: %s -> %s", self.url, branch, before[branch], head)
                self._changes[branch] = HeadChange(self.url, branch, before[branch], head, context)
                moved = True
        if moved:
            async with self._changed:
                self._changed.notify_all()

    async def _read(self, call: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _seconds_since_success(self) -> float:
        if self._last_success_at is None:
            return math.nan
        return self._clock.now() - self._last_success_at


class TrackedBranch:
    """One branch of a `GitMirror`: the `GitSource` the engine follows."""

    def __init__(self, mirror: GitMirror, branch: str) -> None:
        self._mirror = mirror
        self._branch = branch

    def __repr__(self) -> str:
        head = self.head
        return f"<TrackedBranch {self.url} {self._branch}@{head[:7] if head else 'none'}>"

    @property
    def url(self) -> str:
        return self._mirror.url

    @property
    def branch(self) -> str:
        return self._branch

    @property
    def head(self) -> Revision | None:
        return self._mirror.head(self._branch)

    def state(self) -> SourceState:
        return self._mirror.state(self._branch)

    async def fetch(self) -> SourceState:
        await self._mirror.fetch()
        return self.state()

    async def resolve(self, name: str) -> Revision:
        return await self._mirror.resolve(name)

    async def commit_info(self, revision: Revision) -> CommitInfo:
        return await self._mirror.commit_info(revision)

    async def read_file(self, revision: Revision, path: str) -> SourceFile:
        return await self._mirror.read_file(revision, path)

    async def read_directory(self, revision: Revision, path: str) -> tuple[SourceFile, ...]:
        return await self._mirror.read_directory(revision, path)

    def head_changes(self) -> AsyncIterator[HeadChange]:
        return self._mirror.changes(self._branch)


def _consume(future: asyncio.Future[fetching.Transfer]) -> None:
    # The straggler's outcome is of no use any more; retrieving it keeps asyncio from
    # reporting an exception nobody awaited.
    if not future.cancelled():
        future.exception()
