"""Whether a kind is namespaced, without asking a cluster.

Rendering is pure, so it cannot use discovery. Built-in cluster-scoped kinds come from a
table (Kubernetes 1.32, as `kubectl api-resources --namespaced=false` lists them); a
custom kind is cluster-scoped if a CustomResourceDefinition in the same cluster's render
says so (`spec.scope: Cluster`). Any other kind is taken as namespaced, which is what
almost every custom resource is. The engine, which has discovery, is the final judge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fleet.structs.objects import GroupVersionKind

CLUSTER_SCOPED: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "ComponentStatus"),
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authentication.k8s.io", "TokenReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
    }
)


@dataclass(frozen=True, slots=True)
class Scopes:
    """Scopes of custom kinds that CRDs in one cluster's render declare."""

    custom: Mapping[tuple[str, str], bool]
    """(group, kind) -> namespaced."""

    @classmethod
    def declared_by(cls, manifests: Iterable[Mapping[str, Any]]) -> Scopes:
        custom: dict[tuple[str, str], bool] = {}
        for manifest in manifests:
            if manifest.get("kind") != "CustomResourceDefinition":
                continue
            if not str(manifest.get("apiVersion", "")).startswith("apiextensions.k8s.io/"):
                continue
            spec = manifest.get("spec")
            names = spec.get("names") if isinstance(spec, dict) else None
            if isinstance(spec, dict) and isinstance(names, dict):
                key = (str(spec.get("group", "")), str(names.get("kind", "")))
                custom[key] = spec.get("scope") != "Cluster"
        return cls(custom)

    def namespaced(self, gvk: GroupVersionKind) -> bool:
        key = (gvk.group, gvk.kind)
        if key in CLUSTER_SCOPED:
            return False
        return self.custom.get(key, True)
