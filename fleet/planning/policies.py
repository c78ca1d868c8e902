"""Policies: rules every rendered object must follow before anything is applied.

Checked after rendering, per cluster, so that they see exactly what would be applied
(parameters substituted, patches applied). A violation blocks that bundle on that
cluster, and its message names the object, the policy and the rule; other bundles and
clusters go on.

A policy applies to the clusters its `clusterSelector` selects and the bundles its
`bundleSelector` selects (both default to all). Bundles are selected by their own
`labels` plus ``fleet.dev/bundle: <name>``, so a rule can be lifted for one bundle that
truly needs it (a node agent needs `hostNetwork`) with ``NotIn``, without listing all the
others.

Container rules look at the Pod template of the built-in workload kinds; custom
resources that embed Pods are not inspected (their shape is unknown to fleet).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from fleet.planning import selectors
from fleet.planning.specs import Policy
from fleet.structs.objects import ObjectKey

_POD_SPEC_PATHS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec",),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}
_HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
_CONTAINER_GROUPS = {
    "initContainers": "init container",
    "containers": "container",
    "ephemeralContainers": "ephemeral container",
}


def applies(
    policy: Policy, *, cluster_labels: Mapping[str, str], bundle_labels: Mapping[str, str]
) -> bool:
    """Whether ``policy`` governs a bundle (labelled ``bundle_labels``) on a cluster."""
    return selectors.matches(policy.cluster_selector, cluster_labels) and selectors.matches(
        policy.bundle_selector, bundle_labels
    )


def violations(policy: Policy, key: ObjectKey, manifest: Mapping[str, Any]) -> list[str]:
    """What in one object breaks ``policy``: one message per broken rule and container."""
    found: list[str] = []

    def broken(rule: str, what: str) -> None:
        found.append(f"{key}: {what} (policy {policy.name!r}, rule {rule})")

    qualified = f"{key.kind}.{key.group}" if key.group else key.kind
    if key.kind in policy.deny_kinds or qualified in policy.deny_kinds:
        broken("denyKinds", f"kind {qualified} is denied")
    labels = _mapping(_dig(manifest, "metadata", "labels"))
    for label in policy.require_labels:
        if label not in labels:
            broken("requireLabels", f"label {label!r} is required")
    pod = _dig(manifest, *_POD_SPEC_PATHS.get((key.group, key.kind), ("-",)))
    if not isinstance(pod, dict):
        return found
    if policy.forbid_host_namespaces:
        for field in _HOST_NAMESPACES:
            if pod.get(field) is True:
                broken("forbidHostNamespaces", f"the Pod template sets {field}: true")
    for group, container in _containers(pod):
        name = f"{_CONTAINER_GROUPS[group]} {container.get('name')!r}"
        if policy.forbid_privileged and _dig(container, "securityContext", "privileged") is True:
            broken("forbidPrivileged", f"{name} is privileged")
        if policy.require_limits and group != "ephemeralContainers":
            limits = _mapping(_dig(container, "resources", "limits"))
            missing = [resource for resource in ("cpu", "memory") if resource not in limits]
            if missing:
                broken("requireLimits", f"{name} has no {' or '.join(missing)} limit")
    return found


def _containers(pod: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for group in _CONTAINER_GROUPS:
        items = pod.get(group)
        for container in items if isinstance(items, list) else []:
            if isinstance(container, dict):
                yield group, container


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
