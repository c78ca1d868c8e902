"""Change sets: what a sync did, object by object, as values.

Applying and pruning report results rather than raising: one object refused by the
server fails its bundle, not the sync, and the report must say which object and why.
Entries use the actions of a plan (Flux's names: created, configured, unchanged,
deleted, skipped, failed), so that the counts in history, the spans' attributes and
the status API all come from one place.

An entry's message is fit for people and history: for a Secret it holds the server's
reason only, never its message, which may quote a value the server refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fleet.planning.plans import Action
from fleet.structs import errors
from fleet.structs.history import ObjectCounts
from fleet.structs.objects import ObjectKey

SECRET_KINDS = frozenset({("", "Secret")})
"""Kinds whose server messages are never repeated: they may quote the refused data."""


@dataclass(frozen=True, slots=True)
class ChangeSetEntry:
    """One object and what the sync did with it; ``message`` says why it failed, or
    which fields a configured object had different."""

    key: ObjectKey
    action: Action
    message: str = ""


def counts(actions: Iterable[Action]) -> ObjectCounts:
    """How many objects took each action."""
    tally = dict.fromkeys(Action, 0)
    for action in actions:
        tally[action] += 1
    return ObjectCounts(
        created=tally[Action.CREATED],
        configured=tally[Action.CONFIGURED],
        unchanged=tally[Action.UNCHANGED],
        deleted=tally[Action.DELETED],
        skipped=tally[Action.SKIPPED],
        failed=tally[Action.FAILED],
    )


def refused(key: ObjectKey, error: errors.ApiError, *, verb: str) -> ChangeSetEntry:
    """The entry of an object the server refused to ``verb``."""
    if (key.group, key.kind) in SECRET_KINDS:
        text = f"{verb} refused: {error.reason} (HTTP {error.code})"
    else:
        causes = "; ".join(error.causes)
        text = f"{verb} refused: {error.message}" + (f" ({causes})" if causes else "")
    return ChangeSetEntry(key, Action.FAILED, f"{key}: {text}")
