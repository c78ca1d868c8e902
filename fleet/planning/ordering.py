"""The order in which objects are applied and pruned, as a data table.

Kubernetes accepts objects in any order, but not every order works on the first try: a
custom resource is refused until its CRD is established, a namespaced object until its
Namespace exists, and a Pod (behind a Deployment) is refused admission until its
ServiceAccount exists. So fleet applies in two stages, as Flux's server-side-apply
package does: first the *cluster definitions* (CRDs, Namespaces, cluster-wide RBAC),
waited for until the server says they are usable; then everything else. Within a stage,
objects go in ranks (the table below, after Flux's `ReconcileOrder` and Helm's install
order, grouped so that one rank is one round trip): a ServiceAccount before the
Deployment that runs as it, a ConfigMap before the Pods that mount it. Kinds not in the
table come last, in key order. Pruning uses the reverse order, so that a Namespace or
CRD goes only after what lived in it.

Order is data rather than code so that a new kind is a line here, and so that the same
table orders applies, prunes and the output of `fleet render`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TypeVar

from fleet.structs.objects import ObjectKey


class Stage(IntEnum):
    """Apply stages; each is applied, and waited for, before the next."""

    DEFINITIONS = 0
    """Objects that other objects need to exist first: CRDs, Namespaces, cluster RBAC."""
    RESOURCES = 1
    """Everything else."""


DEFINITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("", "Namespace"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    }
)
"""(group, kind) of the cluster definitions, applied in the first stage."""

RANKS: tuple[frozenset[tuple[str, str]], ...] = (
    frozenset({("apiextensions.k8s.io", "CustomResourceDefinition")}),
    frozenset({
        ("", "Namespace"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    }),
    frozenset({
        ("", "ResourceQuota"),
        ("", "LimitRange"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("networking.k8s.io", "IngressClass"),
        ("", "ServiceAccount"),
        ("rbac.authorization.k8s.io", "Role"),
        ("rbac.authorization.k8s.io", "RoleBinding"),
        ("", "Secret"),
        ("", "ConfigMap"),
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
        ("", "Service"),
    }),
    frozenset({
        ("apps", "DaemonSet"),
        ("apps", "Deployment"),
        ("apps", "StatefulSet"),
        ("batch", "Job"),
        ("batch", "CronJob"),
    }),
    frozenset({
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("policy", "PodDisruptionBudget"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("networking.k8s.io", "Ingress"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    }),
)  # fmt: skip
"""Apply ranks of well-known kinds, first to last; unknown kinds (custom resources among
them) rank after all of these. A rank is what must exist before the next rank's objects
work on the first try: quotas, accounts, configuration and Services before the workloads
that use them, workloads before what points at them (autoscalers, disruption budgets,
ingresses, webhooks). Objects of one rank are applied together, so a sync costs one
round trip per rank, not one per kind."""

_RANK = {kind: rank for rank, kinds in enumerate(RANKS) for kind in kinds}
UNKNOWN_RANK = len(RANKS)

T = TypeVar("T")


def stage_of(key: ObjectKey) -> Stage:
    """The apply stage of an object."""
    return Stage.DEFINITIONS if (key.group, key.kind) in DEFINITIONS else Stage.RESOURCES


def rank_of(key: ObjectKey) -> int:
    """The object's apply rank within its stage; lower goes first."""
    return _RANK.get((key.group, key.kind), UNKNOWN_RANK)


def apply_order(key: ObjectKey) -> tuple[int, int, ObjectKey]:
    """Sort key for applying: stage, then rank, then the key itself (stable output)."""
    return (stage_of(key), rank_of(key), key)


def ranks(items: Iterable[T], *, key_of: Callable[[T], ObjectKey]) -> list[list[T]]:
    """``items`` in apply order, grouped by rank: each group may go at once."""
    ordered = sorted(items, key=lambda item: apply_order(key_of(item)))
    groups: list[list[T]] = []
    last: tuple[int, int] | None = None
    for item in ordered:
        position = apply_order(key_of(item))[:2]
        if position != last:
            groups.append([])
            last = position
        groups[-1].append(item)
    return groups
