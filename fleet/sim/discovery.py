"""Discovery documents: `/version`, `/api`, `/apis`, `/apis/<group>` and the resource lists.

Only the legacy (unaggregated) form is served. kubectl 1.32 asks for aggregated
discovery (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,
..., application/json`) and falls back to the legacy documents when the answer is plain
`application/json`, which is what it gets here; kubernetes-asyncio only knows the
legacy form. The documents are derived from a cluster's `Catalog`, so a new CRD shows
up in discovery as soon as it is created.
"""

from __future__ import annotations

from typing import Any

from fleet.sim import resources

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-fleet-sim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}
"""What `/version` reports. kubectl's version dispatcher picks its binary from it."""

_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
_SUBRESOURCE_VERBS = ["get", "patch", "update"]


def core_versions() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ],
    }


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def group_list(catalog: resources.Catalog) -> dict[str, Any]:
    groups = [_group(name, versions) for name, versions in catalog.groups().items() if name]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(catalog: resources.Catalog, name: str) -> dict[str, Any] | None:
    versions = catalog.groups().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def resource_list(catalog: resources.Catalog, group: str, version: str) -> dict[str, Any] | None:
    rows = catalog.in_group_version(group, version)
    if not rows:
        return None
    entries: list[dict[str, Any]] = []
    for row in rows:
        entry: dict[str, Any] = {
            "name": row.plural,
            "singularName": row.singular,
            "namespaced": row.namespaced,
            "kind": row.kind,
            "verbs": _VERBS,
        }
        if row.short_names:
            entry["shortNames"] = list(row.short_names)
        if row.categories:
            entry["categories"] = list(row.categories)
        entries.append(entry)
        if resources.STATUS in row.subresources:
            entries.append(_subresource(row, resources.STATUS, kind=row.kind))
        if resources.SCALE in row.subresources:
            scale = _subresource(row, resources.SCALE, kind="Scale")
            scale.update(group="autoscaling", version="v1")
            entries.append(scale)
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def _subresource(row: resources.ResourceType, name: str, *, kind: str) -> dict[str, Any]:
    return {
        "name": f"{row.plural}/{name}",
        "singularName": "",
        "namespaced": row.namespaced,
        "kind": kind,
        "verbs": _SUBRESOURCE_VERBS,
    }
