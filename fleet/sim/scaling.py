"""The `scale` subresource: a Deployment or StatefulSet seen as an `autoscaling/v1` Scale.

`kubectl scale` and autoscalers do not touch the workload itself; they read and write
its Scale (`spec.replicas` in, `status.replicas` and a selector string out). The
simulator converts in both directions so that such writes are recorded the way a
real cluster records them: as an Update of `.spec.replicas` with subresource `scale`.
"""

from __future__ import annotations

from typing import Any

from fleet.sim import statuses


def _selector_string(selector: Any) -> str:
    if not isinstance(selector, dict):
        return ""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        if not isinstance(expression, dict):
            continue
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(sorted(str(v) for v in expression.get("values") or []))
        if operator == "In":
            terms.append(f"{key} in ({values})")
        elif operator == "NotIn":
            terms.append(f"{key} notin ({values})")
        elif operator == "Exists":
            terms.append(str(key))
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)


def document(obj: dict[str, Any]) -> dict[str, Any]:
    """The Scale of a workload object."""
    metadata = obj["metadata"]
    spec, status = (
        part if isinstance(part, dict) else {} for part in (obj.get("spec"), obj.get("status"))
    )
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: metadata[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in metadata
        },
        "spec": {"replicas": spec.get("replicas", 1)},
        "status": {
            "replicas": status.get("replicas", 0),
            "selector": _selector_string(spec.get("selector")),
        },
    }


def resource_version(scale: Any) -> Any:
    """The resourceVersion a Scale written by a client carries as a precondition, if any."""
    metadata = scale.get("metadata") if isinstance(scale, dict) else None
    return metadata.get("resourceVersion") if isinstance(metadata, dict) else None


def replicas(scale: Any, *, name: str) -> int:
    """The replica count a Scale written by a client asks for (422 if it is not one)."""
    spec = scale.get("spec") if isinstance(scale, dict) else None
    value = spec.get("replicas", 0) if isinstance(spec, dict) else 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise statuses.invalid(
            kind="Scale",
            group="autoscaling",
            name=name,
            causes=[
                statuses.Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {value!r}: must be greater than or equal to 0",
                    "spec.replicas",
                )
            ],
        )
    return value
