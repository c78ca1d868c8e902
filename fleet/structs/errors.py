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
