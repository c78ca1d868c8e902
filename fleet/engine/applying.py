"""Applying: executing the apply steps of plans, rank by rank, with server-side apply.

Objects are applied with field manager ``fleet`` and ``force``: fleet is the declared
owner of every field it sets, so a field that someone else changed (``kubectl edit``,
``kubectl scale``) is taken back rather than refused with a conflict -- that is what
reverting drift means. Within one rank of the apply order (`fleet.planning.ordering`)
objects go at once, up to ``apply_concurrency`` in flight; ranks go one after another.

Steps that need no request (unchanged, or skipped for an observe-only bundle) become
entries without touching the cluster. An object the server refuses is a failed entry
with the server's reason, and the others are still applied; a cluster that cannot be
reached at all (no answer, not a refusal) ends the whole apply with its `ClusterError`,
since every further request would only wait for the same timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fleet.engine import changesets
from fleet.engine.changesets import ChangeSetEntry
from fleet.engine.expecting import LiveView
from fleet.planning import ordering
from fleet.planning.plans import Action, Step
from fleet.structs import errors
from fleet.structs.kube import ClusterClient


async def apply_steps(
    client: ClusterClient,
    steps: Sequence[Step],
    *,
    live: LiveView,
    field_manager: str,
    concurrency: int,
) -> list[ChangeSetEntry]:
    """Apply ``steps`` in apply order; one entry per step, rank by rank."""
    limit = asyncio.Semaphore(concurrency)

    async def apply_one(step: Step) -> ChangeSetEntry:
        async with limit:
            try:
                stored = await client.apply(
                    step.object.manifest, field_manager=field_manager, force=True
                )
            except errors.ApiError as error:
                return changesets.refused(step.key, error, verb="apply")
        live.applied(step.key, stored)
        message = ", ".join(step.fields[:10]) if step.action is Action.CONFIGURED else ""
        return ChangeSetEntry(step.key, step.action, message)

    entries: list[ChangeSetEntry] = []
    for rank in ordering.ranks(steps, key_of=lambda step: step.key):
        # Most steps of a sync need no request: they get no task either (a task costs
        # more than the step's entry, and a commit leaves most objects as they were).
        entries.extend(ChangeSetEntry(s.key, s.action) for s in rank if not s.needs_apply)
        needed = [step for step in rank if step.needs_apply]
        if needed:
            entries.extend(await asyncio.gather(*(apply_one(step) for step in needed)))
    return entries
