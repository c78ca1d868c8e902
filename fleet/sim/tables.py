"""Server-side printing: `Table` answers for clients that ask for them, as kubectl does.

`kubectl get` asks for `application/json;as=Table;v=v1;g=meta.k8s.io` and prints the
columns the server chose, so without tables it can only show NAME and AGE. The
columns here are those of the apiserver's printers for the kinds the simulator serves
(READY, UP-TO-DATE and AVAILABLE for a Deployment, TYPE and CLUSTER-IP for a Service,
...), as a data table: one list of `Column`s per kind. Custom resources get NAME, their
CRD's `additionalPrinterColumns` with simple JSON paths, and AGE. Ages are printed the
way kubectl prints durations. In a watch, only the first event's table carries the
column definitions, as the apiserver sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.sim import resources

Obj = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    cell: Callable[[Obj, datetime], Any]
    type: str = "string"
    priority: int = 0
    format: str = ""

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": "", "priority": self.priority}  # fmt: skip


def wants_table(accept: str) -> bool:
    """Whether an Accept header asks for a Table (kubectl's lists v1 first, then JSON)."""
    return any("as=Table" in part and "g=meta.k8s.io" in part for part in accept.split(","))


def _pair(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


def human_duration(seconds: float) -> str:
    """A duration as kubectl prints ages (`5s`, `3m10s`, `4h`, `2d3h`, `1y20d`)."""
    if seconds < -1:
        return "<invalid>"
    total = max(int(seconds), 0)
    minutes, hours, days = total // 60, total // 3600, total // 86400
    rules = [
        (total < 120, f"{total}s"),
        (minutes < 10, _pair(minutes, "m", total % 60, "s")),
        (minutes < 180, f"{minutes}m"),
        (hours < 8, _pair(hours, "h", minutes % 60, "m")),
        (hours < 48, f"{hours}h"),
        (hours < 24 * 8, _pair(days, "d", hours % 24, "h")),
        (days < 365 * 2, f"{days}d"),
        (days < 365 * 8, _pair(days // 365, "y", days % 365, "d")),
    ]
    return next((text for applies, text in rules if applies), f"{days // 365}y")


def _get(obj: Any, *path: str) -> Any:
    for part in path:
        obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj


def _age(obj: Obj, now: datetime) -> str:
    created = _get(obj, "metadata", "creationTimestamp")
    try:
        moment = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


def _count(*path: str) -> Callable[[Obj, datetime], int]:
    def cell(obj: Obj, now: datetime) -> int:
        value = _get(obj, *path)
        return value if isinstance(value, int) else 0

    return cell


def _text(*path: str, default: str = "<none>") -> Callable[[Obj, datetime], str]:
    def cell(obj: Obj, now: datetime) -> str:
        value = _get(obj, *path)
        return str(value) if value not in (None, "") else default

    return cell


def _ready(replicas: str, ready: str) -> Callable[[Obj, datetime], str]:
    def cell(obj: Obj, now: datetime) -> str:
        return f"{_count('status', ready)(obj, now)}/{_count(*replicas.split('.'))(obj, now)}"

    return cell


def _entries(obj: Obj, now: datetime) -> int:
    return sum(len(_get(obj, key) or {}) for key in ("data", "binaryData"))


def _ports(obj: Obj, now: datetime) -> str:
    ports = _get(obj, "spec", "ports") or []
    shown = [f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports if isinstance(p, dict)]
    return ",".join(shown) or "<none>"


def _job_status(obj: Obj, now: datetime) -> str:
    conditions = _get(obj, "status", "conditions") or []
    done = {c.get("type") for c in conditions if isinstance(c, dict) and c.get("status") == "True"}
    if "Complete" in done:
        return "Complete"
    if "Failed" in done:
        return "Failed"
    return "Suspended" if _get(obj, "spec", "suspend") is True else "Running"


NAME = Column("Name", lambda obj, now: _get(obj, "metadata", "name"), format="name")
AGE = Column("Age", _age)
CREATED_AT = Column("Created At", lambda obj, now: _get(obj, "metadata", "creationTimestamp"),
                    type="date")  # fmt: skip

COLUMNS: dict[str, list[Column]] = {
    "namespaces": [NAME, Column("Status", _text("status", "phase")), AGE],
    "configmaps": [NAME, Column("Data", _entries, type="integer"), AGE],
    "secrets": [NAME, Column("Type", _text("type")), Column("Data", _entries, type="integer"),
                AGE],
    "services": [NAME, Column("Type", _text("spec", "type")),
                 Column("Cluster-IP", _text("spec", "clusterIP")),
                 Column("External-IP", lambda obj, now: "<none>"), Column("Port(s)", _ports),
                 AGE],
    "deployments.apps": [NAME, Column("Ready", _ready("spec.replicas", "readyReplicas")),
                         Column("Up-to-date", _count("status", "updatedReplicas"), "integer"),
                         Column("Available", _count("status", "availableReplicas"), "integer"),
                         AGE],
    "statefulsets.apps": [NAME, Column("Ready", _ready("spec.replicas", "readyReplicas")), AGE],
    "daemonsets.apps": [NAME,
                        Column("Desired", _count("status", "desiredNumberScheduled"), "integer"),
                        Column("Current", _count("status", "currentNumberScheduled"), "integer"),
                        Column("Ready", _count("status", "numberReady"), "integer"),
                        Column("Up-to-date", _count("status", "updatedNumberScheduled"),
                               "integer"),
                        Column("Available", _count("status", "numberAvailable"), "integer"),
                        AGE],
    "jobs.batch": [NAME, Column("Status", _job_status),
                   Column("Completions", _ready("spec.completions", "succeeded")), AGE],
    f"roles.{resources.RBAC}": [NAME, CREATED_AT],
    f"clusterroles.{resources.RBAC}": [NAME, CREATED_AT],
    f"rolebindings.{resources.RBAC}": [NAME, Column("Role", lambda obj, now: "/".join(
        str(_get(obj, "roleRef", part)) for part in ("kind", "name"))), AGE],
    f"clusterrolebindings.{resources.RBAC}": [NAME, Column("Role", lambda obj, now: "/".join(
        str(_get(obj, "roleRef", part)) for part in ("kind", "name"))), AGE],
    "leases.coordination.k8s.io": [
        NAME, Column("Holder", _text("spec", "holderIdentity", default="")), AGE,
    ],
    resources.CRDS.storage_key: [NAME, CREATED_AT],
}  # fmt: skip


def _printer_column(spec: Mapping[str, Any]) -> Column | None:
    path = spec.get("jsonPath")
    if not isinstance(path, str) or not path.startswith(".") or "[" in path:
        return None
    parts = tuple(p for p in path.split(".") if p)
    priority = spec.get("priority", 0)
    return Column(
        str(spec.get("name", "")),
        _text(*parts, default=""),
        type=str(spec.get("type", "string")),
        priority=priority if isinstance(priority, int) else 0,
    )


def columns_for(rtype: resources.ResourceType, crd: Obj | None) -> list[Column]:
    """The columns of a kind; for a custom resource, from its CRD's printer columns."""
    if not rtype.custom:
        return COLUMNS.get(rtype.storage_key, [NAME, AGE])
    extra: list[Column] = []
    for version in _get(crd, "spec", "versions") or []:
        if isinstance(version, dict) and version.get("name") == rtype.version:
            for spec in version.get("additionalPrinterColumns") or []:
                column = _printer_column(spec) if isinstance(spec, dict) else None
                if column is not None:
                    extra.append(column)
    return [NAME, *extra, AGE]


def table(
    columns: Sequence[Column],
    objects: Sequence[Obj],
    *,
    now: datetime,
    metadata: Mapping[str, Any],
    headers: bool = True,
) -> dict[str, Any]:
    """A `meta.k8s.io/v1` Table of `objects`, each row with its PartialObjectMetadata."""
    rows = [
        {
            "cells": [column.cell(obj, now) for column in columns],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata", {}),
            },
        }
        for obj in objects
    ]
    result: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                              "metadata": dict(metadata)}  # fmt: skip
    if headers:
        result["columnDefinitions"] = [column.definition() for column in columns]
    result["rows"] = rows
    return result
