"""Settings, in small groups with documented defaults.

Each concern has its own frozen group (`settings.git.poll_interval`,
`settings.watching.reconnect_backoff`, ...), so a component receives only the group it
needs and a test builds that group alone. `Settings` collects the groups; the command
line and `FLEET_*` environment variables fill it in `fleet.runtime`.
"""

from __future__ import annotations

import dataclasses
import hmac
import math
import re
import urllib.parse
from pathlib import Path

from fleet.structs import errors, history


@dataclasses.dataclass(frozen=True, slots=True)
class QueueSettings:
    """The work queue, its rate limiters and the workers that drain it (`settings.queue`)."""

    workers: int = 16
    """Reconciles that may run at once. A reconcile mostly waits on a cluster's API, so
    many share two cores; each key still runs on one worker at a time."""

    base_delay: float = 0.005
    """Seconds before the first retry of a failed key; each further failure doubles it."""

    max_delay: float = 300.0
    """Seconds a failing key waits at most between retries (five minutes)."""

    jitter: float = 0.1
    """Fraction by which a retry delay is shortened at random, so that keys that failed
    together (one outage, many clusters) do not all retry in the same instant."""

    qps: float = 10.0
    """Retries per second over all keys, once the burst is spent."""

    burst: int = 100
    """Retries allowed at once before `qps` applies."""

    reconcile_timeout: float = 300.0
    """Seconds one reconcile may take; past that it is cancelled and counts as a failure."""

    shutdown_grace: float = 20.0
    """Seconds that running reconciles get to finish on shutdown before they are
    cancelled; under Kubernetes' default 30 s termination grace, so fleet exits first."""

    def __post_init__(self) -> None:
        _require(
            "queue",
            self,
            ("workers", self.workers >= 1, "at least 1"),
            ("base_delay", self.base_delay > 0, "above 0"),
            ("max_delay", self.max_delay >= self.base_delay, "at least base_delay"),
            ("jitter", 0 <= self.jitter < 1, "from 0 up to (not including) 1"),
            ("qps", self.qps > 0, "above 0"),
            ("burst", self.burst >= 1, "at least 1"),
            ("reconcile_timeout", self.reconcile_timeout > 0, "above 0"),
            ("shutdown_grace", self.shutdown_grace >= 0, "0 or more"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class EngineSettings:
    """How a cluster sync behaves: field manager, inventory, waits, resyncs (`settings.engine`)."""

    field_manager: str = "fleet"
    """The server-side apply field manager fleet writes as; drift is any change by another."""
    inventory_namespace: str = "fleet-system"
    """Namespace (created by fleet in every cluster) of the ConfigMaps that record which
    objects each bundle applied, so that pruning survives a restart of fleet."""
    apply_concurrency: int = 8
    """Requests one cluster's sync has in flight at once (the cluster's rate limit still
    applies); objects of one apply rank go together, ranks one after another."""
    establish_timeout: float = 30.0
    """Seconds a sync waits for the cluster definitions it applied (CRDs Established,
    Namespaces Active) before applying what uses them; past it the bundle fails."""
    health_interval: float = 2.0
    """Seconds between checks of a cluster whose rollout is still progressing (events on
    its objects also wake it at once)."""
    resync_interval: float = 600.0
    """Seconds between two syncs of a cluster when nothing happens; from the informer
    cache, so a resync of an in-sync cluster makes no request. 0 turns it off."""
    drift_shown: int = 20
    """Drift records of a cluster that the status API keeps in memory (newest)."""

    def __post_init__(self) -> None:
        if not _DNS_LABEL.fullmatch(self.inventory_namespace):
            raise errors.UserError(
                f"must be a DNS label (lower-case letters, digits, '-'), not"
                f" {self.inventory_namespace!r}",
                where="engine.inventory_namespace",
            )
        if not self.field_manager or len(self.field_manager) > 128:
            raise errors.UserError("must be 1 to 128 characters", where="engine.field_manager")
        _require(
            "engine",
            self,
            ("apply_concurrency", self.apply_concurrency >= 1, "at least 1"),
            ("establish_timeout", self.establish_timeout > 0, "above 0"),
            ("health_interval", self.health_interval > 0, "above 0"),
            ("resync_interval", self.resync_interval >= 0, "0 or more"),
            ("drift_shown", self.drift_shown >= 0, "0 or more"),
        )


_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def _require(group: str, settings: object, *rules: tuple[str, bool, str]) -> None:
    """Raise a `UserError` naming ``group.field`` for the first rule a value breaks
    (NaN and infinity break every rule)."""
    for name, ok, rule in rules:
        value = getattr(settings, name)
        if not ok or not math.isfinite(value):
            raise errors.UserError(f"must be {rule}, not {value!r}", where=f"{group}.{name}")


class Secret:
    """A password, token or signing key that no repr, str or log line can show.

    Settings print themselves in logs and in the status API; holding a credential in a
    plain ``str`` field would leak it the first time someone logs a settings group.
    Only `reveal()` gives the value, so every place that uses it is easy to find.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclasses.dataclass(frozen=True, slots=True)
class GitSettings:
    """How fleet follows Git: where mirrors live, how often they fetch, what a read may cost.

    Credentials here are sent to every HTTP(S) remote fleet mirrors; remote URLs come
    only from settings, never from the fleet repository, so they cannot be pointed at
    another host by a commit.
    """

    url: str = ""
    """The fleet repository (https://, ssh://, scp-like ``git@host:path``, file:// or a path)."""
    branch: str = "main"
    """The branch whose head the controller deploys."""
    state_dir: Path = Path("state/git")
    """Where the bare mirror repositories live, one directory per remote URL."""
    poll_interval: float = 60.0
    """Seconds between fetches of a healthy remote (a push webhook fetches at once)."""
    poll_jitter: float = 0.1
    """Each poll interval is stretched or shrunk by up to this fraction, so that mirrors
    started together do not fetch together forever."""
    fetch_timeout: float = 60.0
    """Seconds one fetch may take, from connecting to the verified new head."""
    backoff_base: float = 1.0
    """Seconds before the first retry of a failing remote; doubles with each failure."""
    backoff_cap: float = 300.0
    """The longest wait between two attempts on a failing remote."""
    backoff_jitter: float = 0.2
    """Each backoff delay is shortened by up to this fraction (never lengthened past the cap)."""
    max_fetch_bytes: int = 1 << 30
    """A fetch whose pack grows past this many bytes is abandoned (1 GiB)."""
    max_file_bytes: int = 4 << 20
    """The largest file fleet reads from a repository (4 MiB)."""
    max_files_per_read: int = 5_000
    """The most files one directory read (one bundle) may return."""
    max_read_bytes: int = 64 << 20
    """The most bytes one read (one bundle, or one file) may inflate (64 MiB)."""
    read_cache_bytes: int = 64 << 20
    """Bytes of file content kept by the per-mirror cache of directory reads (64 MiB)."""
    http_username: str = ""
    """User name for HTTP(S) basic authentication; with a token and no name,
    ``x-access-token`` is sent (GitHub's convention; GitLab and Gitea accept any name)."""
    http_password: Secret | None = None
    """Password or access token for HTTP(S) basic authentication. When unset, the
    environment variables ``FLEET_GIT_USERNAME`` and ``FLEET_GIT_PASSWORD`` (or
    ``FLEET_GIT_TOKEN``) are used, if set."""
    ssh_key_file: Path | None = None
    """Private key for SSH remotes; when unset, ``ssh`` uses its agent and ~/.ssh."""

    def __post_init__(self) -> None:
        _require(
            "git",
            self,
            ("poll_interval", self.poll_interval > 0, "above 0"),
            ("poll_jitter", 0 <= self.poll_jitter < 1, "from 0 up to (not including) 1"),
            ("fetch_timeout", self.fetch_timeout > 0, "above 0"),
            ("backoff_base", self.backoff_base > 0, "above 0"),
            ("backoff_cap", self.backoff_cap >= self.backoff_base, "at least backoff_base"),
            ("backoff_jitter", 0 <= self.backoff_jitter < 1, "from 0 up to (not including) 1"),
            ("max_fetch_bytes", self.max_fetch_bytes > 0, "above 0"),
            ("max_file_bytes", self.max_file_bytes > 0, "above 0"),
            ("max_files_per_read", self.max_files_per_read > 0, "above 0"),
            ("max_read_bytes", self.max_read_bytes > 0, "above 0"),
            ("read_cache_bytes", self.read_cache_bytes >= 0, "0 or more"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookSettings:
    """The push webhook at ``POST /hooks/git``.

    Without a secret the endpoint answers 404: an unauthenticated trigger would let
    anyone on the network make fleet fetch as often as they like.
    """

    secret: Secret | None = None
    """Shared secret: the HMAC key for GitHub and Gitea, the token for GitLab."""
    max_body_bytes: int = 1 << 20
    """Larger bodies are refused with 413 before they are read (1 MiB; GitHub caps
    push payloads at 25 MiB but sends far less for ordinary pushes)."""
    read_timeout: float = 10.0
    """Seconds the sender has to deliver the whole body."""

    def __post_init__(self) -> None:
        _require(
            "webhook",
            self,
            ("max_body_bytes", self.max_body_bytes > 0, "above 0"),
            ("read_timeout", self.read_timeout > 0, "above 0"),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class HistorySettings:
    """Where history goes and how writing it behaves (`settings.history`).

    Without a database URL, history is kept in memory (bounded by ``memory_rows``). The URL
    usually holds a password, so it is a `Secret`; the store shows it without credentials.
    """

    database_url: Secret | None = None
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
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise errors.UserError(
                f"must be lower-case letters, digits and '_' (at most 63, not starting with"
                f" a digit), not {self.schema!r}",
                where="history.schema",
            )
        if self.database_url is not None:
            _check_database_url(self.database_url)
        _require(
            "history",
            self,
            ("pool_size", self.pool_size >= 1, "at least 1"),
            ("connect_timeout", self.connect_timeout > 0, "above 0"),
            ("command_timeout", self.command_timeout > 0, "above 0"),
            ("batch_size", self.batch_size >= 1, "at least 1"),
            ("buffer_size", self.buffer_size >= self.batch_size, "at least batch_size"),
            ("flush_interval", self.flush_interval > 0, "above 0"),
            ("retry_initial", self.retry_initial > 0, "above 0"),
            ("retry_max", self.retry_max >= self.retry_initial, "at least retry_initial"),
            ("close_timeout", self.close_timeout > 0, "above 0"),
            ("retention_days", self.retention_days > 0, "above 0"),
            ("retention_interval", self.retention_interval > 0, "above 0"),
            ("retention_batch", self.retention_batch >= 1, "at least 1"),
            ("memory_rows", self.memory_rows >= 1, "at least 1"),
        )


_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _check_database_url(url: Secret) -> None:
    # The driver would only find out when it first connects, in the background. The
    # messages never repeat the URL: it holds the password.
    where = "history.database_url"
    try:
        parts = urllib.parse.urlsplit(url.reveal())
        parts.port  # noqa: B018 -- parsing the port is the check
    except ValueError:
        raise errors.UserError("is not a URL with a valid port", where=where) from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise errors.UserError("must look like postgresql://user@host:5432/database", where=where)


@dataclasses.dataclass(frozen=True, slots=True)
class ApiSettings:
    """The HTTP server of the status API, the webhook and `/metrics` (`settings.api`).

    It binds to loopback unless told otherwise, and state-changing endpoints are off until
    a token is set: a fresh install exposes nothing and lets nobody trigger a sync.
    """

    listen: str = "127.0.0.1:8080"
    """``host:port`` to serve on (``[::1]:8080`` for IPv6; ``0.0.0.0:8080`` for every
    interface, as in a pod; port 0 picks a free port)."""
    token: Secret | None = None
    """Bearer token for state-changing endpoints (``POST /api/v1/clusters/NAME/sync``);
    without one they answer 403. The webhook has its own secret instead."""
    default_page_size: int = 100
    """Items per page when a request gives no ``limit``."""
    max_page_size: int = 1000
    """The largest ``limit`` a request may ask for (at most 1000, the history stores' cap)."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins (``https://dash.example.com``) allowed to read the API; empty means
    no CORS headers at all, so other sites' pages cannot read it. Writes never allow CORS."""
    max_body_bytes: int = 64 << 10
    """Largest request body of an API endpoint (64 KiB); the webhook has its own limit."""
    max_header_bytes: int = 8190
    """Longest request line (URL with query) and longest header line; longer ones are
    refused (aiohttp's default)."""
    request_timeout: float = 30.0
    """Seconds one request may take to answer; past it, the answer is 503."""
    keepalive_timeout: float = 15.0
    """Seconds an idle keep-alive connection stays open."""
    shutdown_timeout: float = 5.0
    """Seconds open requests get to finish when the server stops."""

    def __post_init__(self) -> None:
        listen_address(self.listen)
        if self.token is not None and not _TOKEN.fullmatch(self.token.reveal()):
            # The message must not show the token.
            raise errors.UserError(
                "must be 16 to 4096 printable ASCII characters without spaces", where="api.token"
            )
        for origin in self.cors_origins:
            if not _ORIGIN.fullmatch(origin):
                raise errors.UserError(
                    f"must be origins such as https://dash.example.com, not {origin!r}",
                    where="api.cors_origins",
                )
        _require(
            "api",
            self,
            (
                "max_page_size",
                1 <= self.max_page_size <= history.MAX_PAGE_SIZE,
                f"1 to {history.MAX_PAGE_SIZE}",
            ),
            (
                "default_page_size",
                1 <= self.default_page_size <= self.max_page_size,
                "1 to max_page_size",
            ),
            ("max_body_bytes", self.max_body_bytes > 0, "above 0"),
            ("max_header_bytes", self.max_header_bytes >= 1024, "at least 1024"),
            ("request_timeout", self.request_timeout > 0, "above 0"),
            ("keepalive_timeout", self.keepalive_timeout > 0, "above 0"),
            ("shutdown_timeout", self.shutdown_timeout >= 0, "0 or more"),
        )


_TOKEN = re.compile(r"[\x21-\x7e]{16,4096}")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
_LISTEN = re.compile(
    r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>[0-9]{1,5})"
)


def listen_address(listen: str) -> tuple[str, int]:
    """``(host, port)`` of a ``host:port`` or ``[v6]:port`` address; UserError if malformed."""
    match = _LISTEN.fullmatch(listen)
    if match is None or int(match["port"]) > 65535:
        raise errors.UserError(
            f"must be host:port such as 127.0.0.1:8080 or [::1]:8080, not {listen!r}",
            where="api.listen",
        )
    return match["v6"] or match["host"], int(match["port"])


@dataclasses.dataclass(frozen=True, slots=True)
class ClientSettings:
    """How fleet finds clusters, talks to them and keeps their caches (`settings.clients`).

    The defaults hold for a thousand clusters in one process: every cluster has its own
    rate limit, so one busy cluster never slows another, and every watch has a random
    server-side timeout, so that reconnects spread out instead of arriving together.
    """

    inventory: Path = Path("inventory.yaml")
    """The inventory file (``clusters: [...]``), or one kubeconfig whose contexts are the
    clusters. Relative kubeconfig paths in it are relative to this file."""
    inventory_poll_interval: float = 10.0
    """Seconds between checks of the inventory's (and its kubeconfigs') modification
    times; a change reloads it, as SIGHUP does. 0 turns the check off."""
    qps: float = 50.0
    """Requests per second to one cluster once the burst is spent: Argo CD's and Flux's
    default. client-go's 5 suits one controller among many; fleet is the one writer of
    whole bundles, and its first sync of a cluster with 1,000 objects takes 20 s at 50
    (the server's own priority and fairness still protects it)."""
    burst: int = 100
    """Requests to one cluster allowed at once before `qps` applies (Argo CD: 100,
    client-go: 10)."""
    request_timeout: float = 30.0
    """Seconds one request may take, from connecting to the last byte (watches: the time to
    connect; their streams end by ``timeoutSeconds`` plus this)."""
    retries: int = 3
    """Further attempts of a request that is safe to repeat (get, list, apply, a delete
    with a uid precondition) after a connection failure, 5xx or 429."""
    retry_initial: float = 0.5
    """Seconds before the first retry of a request; doubles with each retry."""
    retry_max: float = 10.0
    """The longest wait before a retry, a server's ``Retry-After`` included."""
    list_page_size: int = 500
    """Items per page of an informer's list (``limit``; client-go's default)."""
    watch_timeout_min: float = 300.0
    """Shortest ``timeoutSeconds`` given to a watch; each watch draws its own from
    [min, max] (client-go: 5-10 min), so that reconnects do not come in waves."""
    watch_timeout_max: float = 600.0
    """Longest ``timeoutSeconds`` given to a watch."""
    reconnect_initial: float = 0.8
    """Seconds before an informer reconnects after a failed or dropped watch; doubles with
    each failure in a row, and starts again after a watch that delivered something."""
    reconnect_max: float = 30.0
    """The longest wait between two reconnects of one informer."""
    reconnect_jitter: float = 0.5
    """Each reconnect wait is shortened at random by up to this fraction, so that the
    watches of many clusters cut by one network fault do not all return at once."""
    managed_selector: str = "app.kubernetes.io/managed-by=fleet"
    """Label selector of the objects fleet caches: those it manages. It must select the
    label that rendering puts on every object fleet applies."""

    def __post_init__(self) -> None:
        if not self.managed_selector.strip():
            raise errors.UserError("must not be empty", where="clients.managed_selector")
        _require(
            "clients",
            self,
            ("inventory_poll_interval", self.inventory_poll_interval >= 0, "0 or more"),
            ("qps", self.qps > 0, "above 0"),
            ("burst", self.burst >= 1, "at least 1"),
            ("request_timeout", self.request_timeout > 0, "above 0"),
            ("retries", self.retries >= 0, "0 or more"),
            ("retry_initial", self.retry_initial > 0, "above 0"),
            ("retry_max", self.retry_max >= self.retry_initial, "at least retry_initial"),
            ("list_page_size", self.list_page_size >= 1, "at least 1"),
            ("watch_timeout_min", self.watch_timeout_min >= 1, "at least 1"),
            ("watch_timeout_max", self.watch_timeout_max >= self.watch_timeout_min,
             "at least watch_timeout_min"),
            ("reconnect_initial", self.reconnect_initial > 0, "above 0"),
            ("reconnect_max", self.reconnect_max >= self.reconnect_initial,
             "at least reconnect_initial"),
            ("reconnect_jitter", 0 <= self.reconnect_jitter < 1,
             "from 0 up to (not including) 1"),
        )  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class LeaderSettings:
    """Leader election on a Lease in the management cluster (`settings.leader`), so that
    two replicas can run with one of them active.

    The timings are client-go's, and so are their rules: a leader that cannot renew within
    ``renew_deadline`` stops leading, while the others wait the longer ``lease_duration``
    before they take over, so that the two never lead at once.
    """

    enabled: bool = False
    """Run only while this process holds the Lease; off, the process always runs."""
    lease_name: str = "fleet"
    """The Lease's name. The Role in deploy/kubernetes/10-rbac.yaml grants this name only."""
    namespace: str = "fleet-system"
    """The Lease's namespace (in a pod, its own namespace)."""
    identity: str = ""
    """This process's name in the Lease's ``holderIdentity`` (in a pod, the pod's name);
    empty means the host name and a random suffix, new at every start."""
    lease_duration: int = 15
    """Whole seconds the other replicas wait, after they last saw the Lease renewed,
    before they take it over (the Lease's ``leaseDurationSeconds``)."""
    renew_deadline: float = 10.0
    """Seconds from the last successful renewal within which the leader must renew
    again; past it, it stops leading."""
    retry_period: float = 2.0
    """Seconds between two renewals of the leader, and between two attempts to acquire
    of the others (these stretched by up to 120 % at random)."""
    kubeconfig: Path | None = None
    """A kubeconfig for the management cluster; unset, the in-cluster service account."""
    context: str | None = None
    """The kubeconfig's context to use; unset, its current-context."""

    def __post_init__(self) -> None:
        if not _DNS_SUBDOMAIN.fullmatch(self.lease_name) or len(self.lease_name) > 253:
            raise errors.UserError(
                f"must be a DNS subdomain (lower-case letters, digits, '-' and '.'), not"
                f" {self.lease_name!r}",
                where="leader.lease_name",
            )
        if not _DNS_LABEL.fullmatch(self.namespace) or len(self.namespace) > 63:
            raise errors.UserError(
                f"must be a namespace name (at most 63 lower-case letters, digits and '-'),"
                f" not {self.namespace!r}",
                where="leader.namespace",
            )
        if self.context is not None and self.kubeconfig is None:
            raise errors.UserError(
                "needs leader.kubeconfig: the in-cluster service account has no contexts",
                where="leader.context",
            )
        _require(
            "leader",
            self,
            ("lease_duration", self.lease_duration >= 1, "at least 1"),
            ("renew_deadline", 0 < self.renew_deadline < self.lease_duration,
             "above 0 and below lease_duration"),
            ("retry_period", 0 < self.retry_period * RETRY_JITTER < self.renew_deadline,
             f"above 0 and below renew_deadline / {RETRY_JITTER:g}"),
        )  # fmt: skip


RETRY_JITTER = 1.2
"""client-go's jitter factor for attempts to acquire: each waits the retry period and up
to this much of it again, so a renewal deadline must leave room for one such wait."""

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """Everything fleet can be told, one group per concern (`settings.git.poll_interval`).

    `fleet.runtime.configuring` fills every field of every group from flags and ``FLEET_*``
    variables by walking these fields, so a new group is one line here and nothing else.
    """

    queue: QueueSettings = dataclasses.field(default_factory=QueueSettings)
    engine: EngineSettings = dataclasses.field(default_factory=EngineSettings)
    git: GitSettings = dataclasses.field(default_factory=GitSettings)
    webhook: WebhookSettings = dataclasses.field(default_factory=WebhookSettings)
    history: HistorySettings = dataclasses.field(default_factory=HistorySettings)
    api: ApiSettings = dataclasses.field(default_factory=ApiSettings)
    clients: ClientSettings = dataclasses.field(default_factory=ClientSettings)
    leader: LeaderSettings = dataclasses.field(default_factory=LeaderSettings)
