"""Pruning: deleting what a bundle no longer declares, last rank first.

What to delete was decided by the plan (`fleet.planning.plans.prunable`): objects of the
bundle's previous inventory that are no longer desired and still carry fleet's labels
for that bundle. Each delete carries the uid of the object fleet saw as a precondition,
so that an object deleted and recreated by someone else in the meantime is never
removed by mistake (the server answers 409 and the entry says so). Deletes go in the
reverse of apply order, rank by rank, so that a Namespace or a CRD goes after what
lived in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fleet.engine import changesets
from fleet.engine.changesets import ChangeSetEntry
from fleet.engine.expecting import LiveView
from fleet.planning import ordering
from fleet.planning.plans import Action
from fleet.structs import errors
from fleet.structs.kube import ClusterClient
from fleet.structs.objects import GroupVersionKind, ObjectKey


async def prune(
    client: ClusterClient, keys: Sequence[ObjectKey], *, live: LiveView, concurrency: int
) -> list[ChangeSetEntry]:
    """Delete ``keys`` (found in ``live``); one entry per key."""
    limit = asyncio.Semaphore(concurrency)

    async def delete_one(key: ObjectKey) -> ChangeSetEntry:
        current = live.get(key)
        if current is None:
            return ChangeSetEntry(key, Action.DELETED, "already gone")
        metadata = current.get("metadata") or {}
        gvk = GroupVersionKind.from_api_version(str(current["apiVersion"]), key.kind)
        async with limit:
            try:
                existed = await client.delete(gvk, key, uid=metadata.get("uid"))
            except errors.ApiError as error:
                return changesets.refused(key, error, verb="delete")
        live.deleted(key)
        return ChangeSetEntry(key, Action.DELETED, "" if existed else "already gone")

    entries: list[ChangeSetEntry] = []
    for rank in reversed(ordering.ranks(keys, key_of=lambda key: key)):
        entries.extend(await asyncio.gather(*(delete_one(key) for key in rank)))
    return entries
