"""Drift: a change to a managed object that fleet did not make, and who made it.

Every event of a cluster's cache passes through `detect` (after the expectations have
set aside fleet's own writes). It is drift when the change moved one of fleet's fields
away from the desired value (`diffing.drifted`), or when a desired object was deleted.
A status update, another manager's own field, or a change towards the desired state is
not. The record says which object, which fields (paths, never values), which field
manager and operation did it (the `managedFields` entry the change touched), and what
fleet does about it: revert it (``drift: correct``, the default) or only report it
(``drift: observe``).

Reverting is a sync of the cluster, not a patch of the one field: the sync applies the
whole desired object, with the same plan and the same report as any other. Two
controllers that both own a field (fleet and an autoscaler on ``spec.replicas``) would
otherwise fight in a tight loop; `Damper` spaces out the reverts of an object that keeps
drifting, doubling the wait each time up to a cap, and says so once in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from fleet.planning import diffing
from fleet.planning.desired import DesiredBundle, DesiredObject
from fleet.planning.specs import Drift
from fleet.structs.clock import Clock
from fleet.structs.history import DriftAction, DriftOperation, DriftRecord
from fleet.structs.kube import EventType, ObjectEvent
from fleet.structs.objects import ClusterName, ObjectKey, Revision

logger = logging.getLogger(__name__)

_OPERATIONS = {"Apply": DriftOperation.APPLY, "Update": DriftOperation.UPDATE}


def detect(
    event: ObjectEvent,
    *,
    bundle: DesiredBundle,
    desired: DesiredObject,
    revision: Revision,
    field_manager: str,
    now: datetime,
) -> DriftRecord | None:
    """The drift ``event`` is, if it is drift of ``desired`` (an object of ``bundle``)."""
    action = DriftAction.OBSERVED if bundle.drift is Drift.OBSERVE else DriftAction.REVERTED
    if event.type is EventType.DELETED:
        return DriftRecord(
            cluster=event.cluster,
            bundle=bundle.name,
            key=event.key,
            fields=(),
            field_manager=None,
            operation=DriftOperation.DELETE,
            action=action,
            revision=revision,
            observed_at=now,
        )
    if event.type is not EventType.MODIFIED or event.old is None or event.new is None:
        return None  # an object appearing (a list, or fleet creating it) is not drift
    fields = diffing.drifted(desired.manifest, event.old, event.new, field_manager=field_manager)
    if not fields:
        return None
    writer = diffing.writer(event.old, event.new, field_manager=field_manager)
    return DriftRecord(
        cluster=event.cluster,
        bundle=bundle.name,
        key=event.key,
        fields=fields,
        field_manager=writer.manager if writer is not None else None,
        operation=_OPERATIONS.get(writer.operation, DriftOperation.UPDATE)
        if writer is not None
        else DriftOperation.UPDATE,
        action=action,
        revision=revision,
        observed_at=now,
    )


@dataclass(slots=True)
class _Streak:
    count: int
    last: float


class Damper:
    """Spaces out the reverts of objects that drift again and again.

    An object that drifts again within ``window`` seconds of its last drift waits
    ``base * 2**n`` seconds (at most ``cap``) before it is reverted; one left alone for
    ``window`` starts over.
    """

    def __init__(
        self, *, clock: Clock, base: float = 1.0, cap: float = 300.0, window: float = 60.0
    ) -> None:
        self._clock = clock
        self._base = base
        self._cap = cap
        self._window = window
        self._streaks: dict[tuple[ClusterName, ObjectKey], _Streak] = {}

    def delay(self, cluster: ClusterName, key: ObjectKey) -> float:
        """Seconds to wait before reverting this drift (0: at once)."""
        now = self._clock.now()
        streak = self._streaks.get((cluster, key))
        # Measured from the last revert, so that a long wait does not reset the streak.
        if streak is None or now - streak.last > self._window:
            self._streaks[(cluster, key)] = _Streak(0, now)
            self._forget_old(now)
            return 0.0
        streak.count += 1
        delay = float(min(self._base * 2 ** (streak.count - 1), self._cap))
        streak.last = now + delay
        if streak.count == 1:
            logger.warning(
                "cluster %s: %s drifted again within %g s of its revert; spacing out reverts",
                cluster, key, self._window, extra={"cluster": cluster},
            )  # fmt: skip
        return delay

    def _forget_old(self, now: float) -> None:
        if len(self._streaks) > 10_000:
            for streak_key in [k for k, s in self._streaks.items() if now - s.last > self._window]:
                del self._streaks[streak_key]

    def __len__(self) -> int:
        return len(self._streaks)

    def __repr__(self) -> str:
        spaced = sum(streak.count > 0 for streak in self._streaks.values())
        return f"Damper({len(self._streaks)} objects seen drifting, {spaced} spaced out)"
