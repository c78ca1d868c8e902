"""History: what fleet did (syncs), what others did (drift), and what it deployed (revisions).

The engine fills these records without knowing anything about SQL, hands them to a
`HistoryStore` and moves on: recording never waits for a database, so the store's side of
the protocol is synchronous (`record_*`) while reading is asynchronous (`list_*`).

Sync and drift records carry an id that fleet generates itself, not the database, so that a
batch written again after a lost connection lands exactly once: the store inserts with "on
conflict do nothing". Revisions need no such id, their repository and SHA already are one.

Drift records hold the *paths* of the changed fields and never their values: a Secret's
data must not reach history through the back door of a drift report. Repository URLs lose
their credentials on the way in for the same reason.

The API's filters and pages are values here too, so that `/api/v1/syncs` is a thin wrapper
around `list_syncs` and both backends (PostgreSQL and memory) answer the same question the
same way. A page's cursor is an opaque string; only the store knows what is inside.

Delivery metrics (DORA) are measured from the same records, not from Git, so what counts
is what reached a cluster, not what was merged. A deployment is the first succeeded sync
that changed a cluster to a revision other than the one last deployed there; which
records can deploy (`DELIVERY_TRIGGERS`, `ObjectCounts.changes`) and which fail one
(`DELIVERY_FAILURES`) are constants here, read by both backends. `DeliveryQuery` says over
which range and for what, and `DeliveryReport` answers with plain numbers that both
backends compute alike.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Generic, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fleet.structs import errors
from fleet.structs.objects import BundleName, ClusterName, ObjectKey, Revision

DEFAULT_PAGE_SIZE = 100
"""Records per page when the caller does not say."""

MAX_PAGE_SIZE = 1000
"""The largest page a query may ask for, so that one request cannot pull the whole table."""


class SyncTrigger(StrEnum):
    """Why a cluster was synced."""

    COMMIT = "commit"  # a new revision of the fleet repository
    DRIFT = "drift"  # someone changed a managed object behind fleet's back
    MANUAL = "manual"  # a person asked for it (API or command line)
    RETRY = "retry"  # an earlier sync of the cluster failed
    RESYNC = "resync"  # the periodic full resync


class SyncResult(StrEnum):
    """How a sync (or one bundle of it) ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the cluster refused or could not be reached
    BLOCKED = "blocked"  # fleet would not apply: a policy or render problem in the repository
    PARTIAL = "partial"  # some bundles succeeded, others did not


class DriftAction(StrEnum):
    """What fleet did about a drift."""

    REVERTED = "reverted"
    OBSERVED = "observed"  # the bundle is observe-only


class DriftOperation(StrEnum):
    """How the other party changed the object (the `managedFields` operation, or a delete)."""

    APPLY = "apply"
    UPDATE = "update"
    DELETE = "delete"


class HistoryBackend(StrEnum):
    """Where history is kept; the API shows it so nobody mistakes memory for a database."""

    POSTGRESQL = "postgresql"
    MEMORY = "memory"


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectCounts:
    """How many objects each apply action touched, as Flux's ChangeSet names the actions."""

    created: int = 0
    configured: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def changes(self) -> int:
        """Objects this changed in the cluster: created, configured or deleted."""
        return self.created + self.configured + self.deleted

    def __add__(self, other: ObjectCounts) -> ObjectCounts:
        return ObjectCounts(
            created=self.created + other.created,
            configured=self.configured + other.configured,
            unchanged=self.unchanged + other.unchanged,
            deleted=self.deleted + other.deleted,
            skipped=self.skipped + other.skipped,
            failed=self.failed + other.failed,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleOutcome:
    """One bundle's part of a sync; a pinned bundle may be at another revision than the sync."""

    name: BundleName
    revision: Revision
    result: SyncResult
    counts: ObjectCounts = ObjectCounts()
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRecord:
    """One sync of one cluster, written when it has finished."""

    cluster: ClusterName
    revision: Revision
    trigger: SyncTrigger
    result: SyncResult
    started_at: datetime
    finished_at: datetime
    bundles: tuple[BundleOutcome, ...] = ()
    error: str | None = None
    trace_id: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        _require_aware(started_at=self.started_at, finished_at=self.finished_at)
        object.__setattr__(self, "bundles", tuple(self.bundles))

    @property
    def duration(self) -> timedelta:
        return self.finished_at - self.started_at

    @property
    def totals(self) -> ObjectCounts:
        """The counts of all bundles together."""
        return sum((bundle.counts for bundle in self.bundles), ObjectCounts())


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftRecord:
    """A change to a managed object that fleet did not make.

    ``fields`` are paths such as ``spec.replicas`` or ``data.password``: never values.
    """

    cluster: ClusterName
    bundle: BundleName
    key: ObjectKey
    fields: tuple[str, ...]
    field_manager: str | None
    operation: DriftOperation
    action: DriftAction
    revision: Revision
    observed_at: datetime
    trace_id: str | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        _require_aware(observed_at=self.observed_at)
        object.__setattr__(self, "fields", tuple(self.fields))


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionRecord:
    """A commit of the fleet repository that fleet has seen; the repository and SHA identify it."""

    sha: Revision
    repository: str
    ref: str
    author_name: str
    author_email: str
    committed_at: datetime
    message: str
    first_seen_at: datetime

    def __post_init__(self) -> None:
        _require_aware(committed_at=self.committed_at, first_seen_at=self.first_seen_at)
        object.__setattr__(self, "repository", without_credentials(self.repository))


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncFilter:
    """What `/api/v1/syncs` may filter on; every field left as None matches everything.

    The time range is half-open, ``since <= finished_at < until``.
    """

    cluster: ClusterName | None = None
    bundle: BundleName | None = None
    revision: Revision | None = None
    result: SyncResult | None = None
    trigger: SyncTrigger | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware_range(self.since, self.until)


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftFilter:
    """What `/api/v1/drift` may filter on; ``since <= observed_at < until``."""

    cluster: ClusterName | None = None
    bundle: BundleName | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    field_manager: str | None = None
    action: DriftAction | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware_range(self.since, self.until)


@dataclass(frozen=True, slots=True, kw_only=True)
class RevisionFilter:
    """What `/api/v1/revisions` may filter on; ``since <= committed_at < until``."""

    repository: str | None = None
    ref: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware_range(self.since, self.until)
        if self.repository is not None:
            object.__setattr__(self, "repository", without_credentials(self.repository))


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Newest records first; ``next_cursor`` fetches the page after this one, None at the end."""

    items: tuple[T, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryStatus:
    """What the API shows about the history store."""

    backend: HistoryBackend
    location: str | None  # the database URL without credentials; None in memory
    connected: bool
    buffered: int  # rows recorded but not yet written
    dropped: int  # rows lost since start-up (buffer overflow, rejected by the database)
    last_error: str | None
    last_error_since: datetime | None  # when the current run of errors began


class DeliveryGroup(StrEnum):
    """What delivery metrics are broken down by, besides the total."""

    CLUSTER = "cluster"
    BUNDLE = "bundle"


class DeliveryUnit(StrEnum):
    """What one deployment is: a sync of a cluster, or one bundle's part of a sync."""

    CLUSTER = "cluster"
    BUNDLE = "bundle"


DELIVERY_TRIGGERS = frozenset({SyncTrigger.COMMIT, SyncTrigger.RETRY, SyncTrigger.MANUAL})
"""Triggers of a sync that may deploy. A drift revert or a periodic resync only brings a
cluster back to what is deployed, even when it is the first sync at a revision: the
engine moves a cluster that a commit did not concern to the new revision at its next
resync, without applying anything."""

DELIVERY_FAILURES = frozenset({SyncResult.FAILED, SyncResult.PARTIAL})
"""Results that make a deployment failed, unless the sync failed as a whole (its
``error`` is set: the cluster could not be reached), which says nothing about the
change. Blocked is not one either: fleet applied nothing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryQuery:
    """What `/api/v1/delivery` measures: the deployments with ``since <= finished_at < until``.

    Each deployment is judged by everything recorded after it, even past ``until``. The
    unit is a bundle on a cluster when the query names a bundle (``bundle`` or
    ``by=bundle``), else a cluster; docs/history.md defines every figure.
    """

    since: datetime
    until: datetime
    cluster: ClusterName | None = None
    bundle: BundleName | None = None
    by: DeliveryGroup | None = None

    def __post_init__(self) -> None:
        _require_aware_range(self.since, self.until)
        if self.since >= self.until:
            raise errors.HistoryQueryError(
                "must be before until (the range is since <= t < until)", where="since"
            )

    @property
    def unit(self) -> DeliveryUnit:
        named = self.bundle is not None or self.by is DeliveryGroup.BUNDLE
        return DeliveryUnit.BUNDLE if named else DeliveryUnit.CLUSTER

    @property
    def days(self) -> float:
        return (self.until - self.since) / timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryMetrics:
    """The four DORA figures of one group of deployments, or of all of them.

    ``cluster`` or ``bundle`` names the group (both None for the total). Medians are None
    when nothing was there to measure.
    """

    cluster: ClusterName | None = None
    bundle: BundleName | None = None
    deployments: int
    deployments_per_day: float
    lead_times: int  # deployments whose commit time is recorded: the lead time's sample
    lead_time: timedelta | None  # median, commit to deployed
    failed_deployments: int
    change_failure_rate: float | None  # failed / deployments; None without deployments
    restored: int  # failed deployments that a later success restored
    time_to_restore: timedelta | None  # median, first failure to the next success


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """Delivery metrics over a range: the total, and one entry per group if asked for."""

    query: DeliveryQuery
    total: DeliveryMetrics
    groups: tuple[DeliveryMetrics, ...]  # by name; only groups with a deployment in range

    @property
    def unit(self) -> DeliveryUnit:
        return self.query.unit


class HistoryStore(Protocol):
    """Where the engine records history and the API reads it.

    ``record_*`` never wait and never raise for a database problem: the row is buffered
    and written later, or dropped and counted if the buffer overflows. ``list_*`` raise
    `errors.HistoryQueryError` for a bad cursor or page size and
    `errors.HistoryUnavailableError` when the store cannot answer.
    """

    async def start(self) -> None:
        """Connect, bring the schema up to date, and start writing in the background."""

    async def close(self) -> None:
        """Write what is buffered (within a time limit), then stop and disconnect."""

    async def flush(self) -> None:
        """Wait until every row recorded so far is written or dropped."""

    def record_sync(self, record: SyncRecord) -> None: ...

    def record_drift(self, record: DriftRecord) -> None: ...

    def record_revision(self, record: RevisionRecord) -> None: ...

    def status(self) -> HistoryStatus: ...

    async def list_syncs(
        self, where: SyncFilter, *, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[SyncRecord]: ...

    async def list_drift(
        self, where: DriftFilter, *, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[DriftRecord]: ...

    async def list_revisions(
        self, where: RevisionFilter, *, cursor: str | None = None, limit: int = DEFAULT_PAGE_SIZE
    ) -> Page[RevisionRecord]: ...

    async def delivery_metrics(self, query: DeliveryQuery) -> DeliveryReport:
        """Deployment frequency, lead time, change failure rate and time to restore."""
        ...


def without_credentials(url: str) -> str:
    """The URL with any user, password or token removed, for history, status and logs.

    A token is as often the user part (``https://TOKEN@host/``) as the password, so the
    whole user part goes. An scp-like Git address (``git@host:org/repo``) keeps its user,
    which is no secret, unless it has a password.
    """
    parts = urlsplit(url)
    if parts.netloc:
        query = parse_qsl(parts.query, keep_blank_values=True)
        return urlunsplit(
            parts._replace(
                netloc=parts.netloc.rpartition("@")[2],
                query=urlencode([(k, v) for k, v in query if k.lower() != "password"]),
            )
        )
    userinfo, at, rest = url.rpartition("@")
    return rest if at and ":" in userinfo else url


def _require_aware(**moments: datetime) -> None:
    # PostgreSQL stores instants; a naive time would silently become the server's local time.
    for name, moment in moments.items():
        if moment.tzinfo is None:
            raise ValueError(f"{name} must have a time zone, got {moment.isoformat()}")


def _require_aware_range(since: datetime | None, until: datetime | None) -> None:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise errors.HistoryQueryError(
                f"time {moment.isoformat()} has no time zone; add one, e.g. 'Z' for UTC",
                where=name,
            )
