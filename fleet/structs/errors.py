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


class HistoryQueryError(UserError):
    """A history query is malformed: a cursor, a page size or a time; the API answers 400."""


class HistorySchemaError(UserError):
    """The history database holds a schema this fleet cannot use (newer than it knows)."""


class HistoryUnavailableError(FleetError):
    """The history database cannot answer a query right now; the API answers 503."""
