"""What the emulated controllers write into `status` once a rollout has finished.

There are no pods here, so a rollout cannot really progress; what fleet's health
checks read is the status that the Deployment, StatefulSet, DaemonSet and Job
controllers write, and that is what this module computes: the status a controller
would report after the rollout of the current `generation` completed, with the
fields and conditions `kubectl rollout status` and fleet look at (observedGeneration,
replica counts, `Available`/`Progressing`, revisions, `Complete`). The cluster writes it
`rollout_delay` seconds after each spec change, as manager `kube-controller-manager`
on the `status` subresource, so the change is a watch event like any other.

A DaemonSet runs on one emulated node.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

CONTROLLER_MANAGER = "kube-controller-manager"
ROLLED_OUT = frozenset({"deployments.apps", "statefulsets.apps", "daemonsets.apps", "jobs.batch"})
"""Storage keys of the kinds whose status an emulated controller writes."""

NODES = 1


def _condition(
    previous: list[Any], kind: str, *, reason: str, message: str, now: str, update_time: bool
) -> dict[str, Any]:
    old = next((c for c in previous if isinstance(c, dict) and c.get("type") == kind), None)
    unchanged = old is not None and old.get("status") == "True"
    condition: dict[str, Any] = {"type": kind, "status": "True"}
    if update_time:
        condition["lastUpdateTime"] = now
    condition["lastTransitionTime"] = old["lastTransitionTime"] if unchanged and old else now
    condition["reason"] = reason
    condition["message"] = message
    return condition


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def _revision(obj: dict[str, Any]) -> str:
    template = _spec(obj).get("template")
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    return f"{obj['metadata']['name']}-{digest[:10]}"


def _replicas(obj: dict[str, Any]) -> int:
    replicas = _spec(obj).get("replicas", 1)
    return replicas if isinstance(replicas, int) and replicas >= 0 else 1


def _counts(names: tuple[str, ...], value: int) -> dict[str, int]:
    # Controllers omit zero counts (omitempty), so a scaled-down workload shows none.
    return {name: value for name in names} if value else {}


def completed_status(storage_key: str, obj: dict[str, Any], *, now: str) -> dict[str, Any] | None:
    """The status after a finished rollout of `obj`'s current generation; None for other kinds."""
    generation = obj["metadata"].get("generation", 1)
    status_now = obj.get("status")
    previous_status: dict[str, Any] = status_now if isinstance(status_now, dict) else {}
    conditions = previous_status.get("conditions") or []
    if storage_key == "deployments.apps":
        replicas = _replicas(obj)
        status: dict[str, Any] = {"observedGeneration": generation}
        status.update(
            _counts(("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"), replicas)
        )
        status["conditions"] = [
            _condition(conditions, "Available", reason="MinimumReplicasAvailable",
                       message="Deployment has minimum availability.", now=now, update_time=True),
            _condition(conditions, "Progressing", reason="NewReplicaSetAvailable",
                       message=f'ReplicaSet "{_revision(obj)}" has successfully progressed.',
                       now=now, update_time=True),
        ]  # fmt: skip
        return status
    if storage_key == "statefulsets.apps":
        replicas = _replicas(obj)
        revision = _revision(obj)
        status = {"observedGeneration": generation, "replicas": replicas}
        status.update(
            _counts(("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"),
                    replicas)
        )  # fmt: skip
        status.update(currentRevision=revision, updateRevision=revision, collisionCount=0)
        return status
    if storage_key == "daemonsets.apps":
        return {
            "currentNumberScheduled": NODES,
            "desiredNumberScheduled": NODES,
            "numberAvailable": NODES,
            "numberMisscheduled": 0,
            "numberReady": NODES,
            "observedGeneration": generation,
            "updatedNumberScheduled": NODES,
        }
    if storage_key == "jobs.batch":
        return _job_status(obj, previous_status, now=now)
    return None


def _job_status(
    obj: dict[str, Any], previous: dict[str, Any], *, now: str
) -> dict[str, Any] | None:
    spec = _spec(obj)
    if spec.get("suspend") is True:
        return None
    if any(c.get("type") == "Complete" for c in previous.get("conditions") or []):
        return None  # a Job completes once; later spec changes do not rerun it
    completions = spec.get("completions", 1)
    succeeded = completions if isinstance(completions, int) and completions > 0 else 1
    finished = {"status": "True", "lastProbeTime": now, "lastTransitionTime": now}
    return {
        "conditions": [
            {"type": "SuccessCriteriaMet", **finished, "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods"},
            {"type": "Complete", **finished, "reason": "CompletionsReached",
             "message": "Reached expected number of succeeded pods"},
        ],
        "startTime": previous.get("startTime") or now,
        "completionTime": now,
        "succeeded": succeeded,
        "terminating": 0,
        "ready": 0,
        "uncountedTerminatedPods": {},
    }  # fmt: skip
