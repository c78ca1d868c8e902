"""Errors fleet raises on purpose, in one shallow hierarchy.

`UserError` is the branch a person can act on: something in the fleet repository, the
inventory, the settings or a request is wrong, and the message says where (file and
line, cluster, object) and what is wrong. The command line prints these as one line and
exits 2; the controller records them against the cluster or bundle they concern and goes
on with the others. Anything else that escapes is a bug in fleet.
"""

from __future__ import annotations

from collections.abc import Sequence

from fleet.structs.problems import Problem


class FleetError(Exception):
    """Base of every error fleet raises on purpose."""


class UserError(FleetError):
    """Something a user wrote or configured is wrong.

    ``where`` names the place (``fleet.yaml:12``, ``cluster eu-1``, ``Deployment web/api``);
    it leads the message so that the first words of a log line say where to look.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class TerminalError(FleetError):
    """Retrying cannot help: raised by a reconcile, the key is not retried.

    The work queue forgets the key's failures and does not requeue it; the key runs
    again only when something outside adds it (a new commit, a changed object). Use it
    for failures that only a change of input can fix; anything else is retried with
    backoff. A user-caused one may inherit from `UserError` as well.
    """


class SpecError(UserError):
    """`fleet.yaml` is wrong. ``problems`` holds every problem found, each with its place.

    The message lists them all, one per line, so that one run of `fleet validate` (or one
    log record of the controller) shows everything there is to fix.
    """

    def __init__(self, problems: Sequence[Problem], *, path: str) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        lines = [f"{count} problem{'s' if count != 1 else ''}", *(str(p) for p in self.problems)]
        super().__init__("\n  ".join(lines), where=path)


class ClusterError(FleetError):
    """A cluster could not be reached, or refused a request.

    The message starts with the cluster's name; it never holds a credential. Retried with
    backoff by whoever called, unless `retryable` says that only a change can help.
    """

    def __init__(self, message: str, *, cluster: str) -> None:
        self.cluster = cluster
        self.message = message
        super().__init__(f"cluster {cluster}: {message}")

    @property
    def retryable(self) -> bool:
        """True when trying again later may succeed (the cluster was down or busy)."""
        return True


class ApiError(ClusterError):
    """The API server answered with a `Status` error (`code`, `reason`, its own message).

    ``causes`` are the server's per-field details (``".spec.replicas: Invalid value"``),
    which the engine shows with the object the server refused. ``retry_after`` is the
    number of seconds the server asked callers to wait (its ``Retry-After``), if it did.
    """

    def __init__(
        self,
        message: str,
        *,
        cluster: str,
        code: int,
        reason: str,
        causes: tuple[str, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.reason = reason
        self.causes = causes
        self.retry_after = retry_after
        super().__init__(message, cluster=cluster)

    @property
    def retryable(self) -> bool:
        # 409 covers resourceVersion races, 429 and 5xx a busy or failing server; the rest
        # (400 Bad Request, 403, 404, 422 Invalid, ...) repeat until the request changes.
        return self.code in {409, 429} or self.code >= 500


class UnsafePathError(UserError):
    """A path, tree entry or symlink would lead outside the repository or the bundle.

    Raised before anything is read through it: fleet never follows such a path.
    """


class UnsupportedEntryError(UserError):
    """A repository entry fleet deliberately does not read: a submodule, or a symlink to
    a directory."""


class PathNotFoundError(UserError):
    """A file or directory that a read names does not exist at that revision."""


class UnknownRevisionError(UserError):
    """A branch, tag or (short) commit SHA that the mirror does not have."""


class SourceLimitError(UserError):
    """A read would pass one of the limits in `GitSettings`.

    ``limit`` is the setting's name, so the message tells the operator which knob to turn
    (or the author which file to split).
    """

    def __init__(self, message: str, *, where: str, limit: str, value: int) -> None:
        self.limit = limit
        self.value = value
        super().__init__(f"{message} (limit {limit}={value})", where=where)


class HistoryQueryError(UserError):
    """A history query is malformed: a cursor, a page size or a time; the API answers 400."""


class HistorySchemaError(UserError):
    """The history database holds a schema this fleet cannot use (newer than it knows)."""


class HistoryUnavailableError(FleetError):
    """The history database cannot answer a query right now; the API answers 503."""


class InventoryError(UserError):
    """The cluster inventory as a whole cannot be used: unreadable, not YAML, no list of
    clusters. (A problem with one cluster is a `Problem` instead, and only that cluster is
    left out.) On a reload the clusters already managed stay as they were."""
