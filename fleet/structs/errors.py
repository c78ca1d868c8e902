"""Errors fleet raises on purpose, in one shallow hierarchy.

`UserError` is the branch a person can act on: something in the fleet repository, the
inventory, the settings or a request is wrong, and the message says where (file and
line, cluster, object) and what is wrong. The command line prints these as one line and
exits 2; the controller records them against the cluster or bundle they concern and goes
on with the others. Anything else that escapes is a bug in fleet.
"""

from __future__ import annotations


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
