"""Files of the fleet repository as planning receives them, and the Git source the engine
follows.

Planning is pure, so it never reads a repository itself: the Git adapter reads the files
a bundle needs at one revision (inside the repository, within the size limits) and hands
them over as `SourceFile` values. The path is what every error message names.

The engine reaches the adapter through `GitSource`, defined here rather than in
`fleet.sources`, so that the engine never imports dulwich's layer and tests can give it
a fake. Everything a source hands out is a value: a revision (always a full commit SHA),
files, commit facts, or a snapshot of its state -- never a live object of the adapter.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from opentelemetry.trace import SpanContext

from fleet.structs.objects import Revision


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file of the repository at one revision.

    ``path`` is relative to the repository root, with ``/`` separators, never ``..``.
    """

    path: str
    data: bytes

    def __repr__(self) -> str:
        return f"SourceFile({self.path!r}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """What history and delivery metrics need to know about one commit."""

    revision: Revision
    author: str
    """``Name <email>`` as the commit records it."""
    authored_at: datetime
    committer: str
    committed_at: datetime
    """When the commit was made (aware, UTC); lead time is measured from here."""
    message: str

    @property
    def summary(self) -> str:
        """The first line of the message."""
        return self.message.split("\n", 1)[0]


class SourceStatus(enum.StrEnum):
    """How a followed branch stands; every status but PENDING may still serve a head."""

    PENDING = "pending"
    """No fetch has succeeded yet in this process (a head from an earlier run may serve)."""
    READY = "ready"
    """The last fetch succeeded and the branch exists on the remote."""
    FAILING = "failing"
    """The last fetch failed; the last good head keeps serving while fetches back off."""
    BRANCH_MISSING = "branch-missing"
    """The remote no longer has the branch; the last good head keeps serving."""


@dataclass(frozen=True, slots=True)
class SourceState:
    """A snapshot of one followed branch, for the status API and for the engine's logs.

    ``url`` never carries credentials; ``last_error`` never contains them.
    """

    url: str
    branch: str
    status: SourceStatus
    head: Revision | None
    """The last good commit of the branch: what the engine deploys."""
    last_attempt: datetime | None
    last_success: datetime | None
    last_error: str | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class HeadChange:
    """The followed branch now points at ``after``.

    ``fetch_span`` is the span of the fetch that brought the commit, so that each sync
    of this revision can link back to it; ``None`` for a head found on disk at start.
    """

    url: str
    branch: str
    before: Revision | None
    after: Revision
    fetch_span: SpanContext | None


class GitSource(Protocol):
    """One branch of one repository, as the engine follows it.

    Reads take an explicit revision, so a sync renders one immutable commit however
    the branch moves meanwhile. Paths are relative to the repository root. Every read
    enforces the limits of `GitSettings` and refuses paths that leave the repository
    (see docs/git.md); those errors are `UserError` subclasses naming the path.
    """

    @property
    def url(self) -> str:
        """The remote URL, without credentials."""

    @property
    def branch(self) -> str: ...

    @property
    def head(self) -> Revision | None:
        """The last good commit of the branch, or None before the first good fetch."""

    def state(self) -> SourceState: ...

    async def fetch(self) -> SourceState:
        """Fetch now, joining a fetch already under way; returns the state afterwards."""

    async def resolve(self, name: str) -> Revision:
        """A branch, tag, full or short commit SHA, as a full commit SHA."""

    async def commit_info(self, revision: Revision) -> CommitInfo: ...

    async def read_file(self, revision: Revision, path: str) -> SourceFile: ...

    async def read_directory(self, revision: Revision, path: str) -> tuple[SourceFile, ...]:
        """Every file under ``path`` (recursively), sorted by path; ``""`` is the root."""

    def head_changes(self) -> AsyncIterator[HeadChange]:
        """The current head first (if any), then each new one.

        A slow reader is not sent a backlog: it gets the newest head when it asks next.
        The iteration ends when the source is closed.
        """


class MirrorTrigger(Protocol):
    """What the push webhook needs from the mirrors: fetch the ones for a repository."""

    def trigger(self, urls: Iterable[str]) -> tuple[str, ...]:
        """Start a fetch of every mirror whose remote matches one of ``urls`` (any of a
        repository's clone, SSH or web URLs); returns the matched mirrors' URLs."""
