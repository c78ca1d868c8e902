"""Health: is an applied object doing its job, judged per kind from its status.

Applied is not done: a Deployment is healthy when its rollout has completed, not when
the API server accepted it. The rules are those of `kubectl rollout status` for
workloads, of the Job and CRD controllers' conditions, and of kstatus (the library
behind Flux's health checks) for everything else: a status that has not yet observed
the object's latest generation is still progressing; `Stalled` means failed,
`Reconciling` means progressing, and `Ready` decides the rest. An object with no status
to judge by is healthy once it exists.

Rules are functions of one object, kept in a table by kind, so adding a kind is one
function and one line. Pure: no I/O, no clock. Messages name fields and counts, never
values from the object's data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet.structs.objects import Manifest


class Health(StrEnum):
    """How an object is doing; ordered from best to worst by `worst`."""

    HEALTHY = "healthy"
    PROGRESSING = "progressing"
    DEGRADED = "degraded"
    MISSING = "missing"


_RANK = {Health.HEALTHY: 0, Health.PROGRESSING: 1, Health.MISSING: 2, Health.DEGRADED: 3}


@dataclass(frozen=True, slots=True)
class Assessment:
    health: Health
    message: str = ""


HEALTHY = Assessment(Health.HEALTHY)


def worst(healths: Iterable[Health]) -> Health:
    """The worst of ``healths`` (healthy when there are none)."""
    return max(healths, key=_RANK.__getitem__, default=Health.HEALTHY)


def assess(obj: Manifest | None) -> Assessment:
    """The health of a live object (None: it does not exist)."""
    if obj is None:
        return Assessment(Health.MISSING, "not found in the cluster")
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    rule = RULES.get((group, str(obj.get("kind", ""))), _generic)
    return rule(obj)


# -- per kind -------------------------------------------------------------------------------


def _deployment(obj: Manifest) -> Assessment:
    spec, status = _part(obj, "spec"), _part(obj, "status")
    if (pending := _unobserved(obj, reported=True)) is not None:
        return pending
    progressing = _condition(status, "Progressing")
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return Assessment(Health.DEGRADED, "rollout exceeded its progress deadline")
    wanted = _int(spec.get("replicas"), 1)
    updated, total = _int(status.get("updatedReplicas")), _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    if updated < wanted:
        return Assessment(Health.PROGRESSING, f"{updated} of {wanted} replicas updated")
    if total > updated:
        return Assessment(Health.PROGRESSING, f"{total - updated} old replicas pending termination")
    if available < updated:
        return Assessment(
            Health.PROGRESSING, f"{available} of {updated} updated replicas available"
        )
    return HEALTHY


def _stateful_set(obj: Manifest) -> Assessment:
    spec, status = _part(obj, "spec"), _part(obj, "status")
    if (pending := _unobserved(obj, reported=True)) is not None:
        return pending
    strategy = _mapping(spec.get("updateStrategy"))
    if strategy.get("type") == "OnDelete":
        return HEALTHY
    wanted = _int(spec.get("replicas"), 1)
    ready = _int(status.get("readyReplicas"))
    if ready < wanted:
        return Assessment(Health.PROGRESSING, f"{ready} of {wanted} replicas ready")
    partition = _int(_mapping(strategy.get("rollingUpdate")).get("partition"))
    updated = _int(status.get("updatedReplicas"))
    if partition and updated < wanted - partition:
        return Assessment(
            Health.PROGRESSING, f"{updated} of {wanted - partition} partitioned replicas updated"
        )
    if not partition and status.get("updateRevision") != status.get("currentRevision"):
        return Assessment(Health.PROGRESSING, "rolling out a new revision")
    return HEALTHY


def _daemon_set(obj: Manifest) -> Assessment:
    spec, status = _part(obj, "spec"), _part(obj, "status")
    if (pending := _unobserved(obj, reported=True)) is not None:
        return pending
    if _mapping(spec.get("updateStrategy")).get("type") == "OnDelete":
        return HEALTHY  # as for a StatefulSet: pods change only when someone deletes them
    wanted = _int(status.get("desiredNumberScheduled"))
    updated = _int(status.get("updatedNumberScheduled"))
    available = _int(status.get("numberAvailable"))
    if updated < wanted:
        return Assessment(Health.PROGRESSING, f"{updated} of {wanted} nodes updated")
    if available < wanted:
        return Assessment(Health.PROGRESSING, f"{available} of {wanted} nodes available")
    return HEALTHY


def _job(obj: Manifest) -> Assessment:
    status = _part(obj, "status")
    if _condition(status, "Failed").get("status") == "True":
        return Assessment(Health.DEGRADED, f"failed: {_reason(_condition(status, 'Failed'))}")
    if _condition(status, "Complete").get("status") == "True":
        return HEALTHY
    return Assessment(Health.PROGRESSING, "not complete")


def _crd(obj: Manifest) -> Assessment:
    status = _part(obj, "status")
    if _condition(status, "NamesAccepted").get("status") == "False":
        return Assessment(
            Health.DEGRADED, f"names not accepted: {_reason(_condition(status, 'NamesAccepted'))}"
        )
    if _condition(status, "Established").get("status") == "True":
        return HEALTHY
    return Assessment(Health.PROGRESSING, "not established yet")


def _namespace(obj: Manifest) -> Assessment:
    phase = _part(obj, "status").get("phase")
    if phase == "Terminating":
        return Assessment(Health.PROGRESSING, "terminating")
    return (
        HEALTHY if phase in ("Active", None) else Assessment(Health.PROGRESSING, f"phase {phase}")
    )


def _claim(obj: Manifest) -> Assessment:
    phase = _part(obj, "status").get("phase")
    if phase == "Bound":
        return HEALTHY
    if phase == "Lost":
        return Assessment(Health.DEGRADED, "lost its volume")
    return Assessment(Health.PROGRESSING, "not bound yet")


def _generic(obj: Manifest) -> Assessment:
    """kstatus' rules for kinds fleet knows nothing about."""
    if (pending := _unobserved(obj)) is not None:
        return pending
    status = _part(obj, "status")
    if _condition(status, "Stalled").get("status") == "True":
        return Assessment(Health.DEGRADED, f"stalled: {_reason(_condition(status, 'Stalled'))}")
    if _condition(status, "Reconciling").get("status") == "True":
        return Assessment(Health.PROGRESSING, "reconciling")
    ready = _condition(status, "Ready")
    if ready.get("status") in ("False", "Unknown"):
        return Assessment(Health.PROGRESSING, f"not ready: {_reason(ready)}")
    return HEALTHY


RULES: Mapping[tuple[str, str], Callable[[Manifest], Assessment]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _crd,
    ("", "Namespace"): _namespace,
    ("", "PersistentVolumeClaim"): _claim,
}
"""The health rule of each (group, kind); any other kind gets kstatus' generic rule."""


# -- reading status -------------------------------------------------------------------------


def _part(obj: Manifest, name: str) -> dict[str, Any]:
    return _mapping(obj.get(name))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _unobserved(obj: Manifest, *, reported: bool = False) -> Assessment | None:
    """Progressing while the status is of an older generation. A ``reported`` status
    always has its generation (workload controllers write it): until it has one, no
    controller has looked, as `kubectl rollout status` also takes it."""
    generation = _int(_part(obj, "metadata").get("generation"))
    observed = _part(obj, "status").get("observedGeneration")
    if reported and not isinstance(observed, int):
        observed = 0
    if isinstance(observed, int) and observed < generation:
        return Assessment(Health.PROGRESSING, f"generation {generation} not observed yet")
    return None


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return {}
    for condition in conditions:
        if isinstance(condition, dict) and condition.get("type") == kind:
            return condition
    return {}


def _reason(condition: Mapping[str, Any]) -> str:
    # The reason is a CamelCase word by convention; the message may quote anything, but
    # it is written by a controller about the object, and people need it to act.
    reason, message = condition.get("reason"), condition.get("message")
    text = ": ".join(str(part) for part in (reason, message) if part)
    return text[:300] or "no reason given"
