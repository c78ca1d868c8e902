"""The fleet repositories the benchmarks roll out: N bundles of M objects, and a change.

Each bundle is a directory of manifests in its own namespace (the Namespace is one of
its objects), cycling through the kinds a real application has: ConfigMaps, a
Deployment (which the simulator rolls out, so "healthy" takes a rollout), Services, a
Secret and a ServiceAccount. Every bundle targets every cluster, and its Deployments'
image tag is a parameter, so a new `version` is one commit that changes one object
of every bundle on every cluster: what a release looks like.

`files` gives the repository's files as `fleet.sources.publishing` commits them, and
`manifests` the objects one cluster gets, for a push pipeline to apply by hand.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import yaml

KINDS = ("ConfigMap", "Deployment", "ConfigMap", "Service", "Secret", "ConfigMap",
         "ServiceAccount", "ConfigMap", "Service")  # fmt: skip
"""Kinds after each bundle's Namespace, in turn; one in nine objects is a Deployment."""


@dataclass(frozen=True, slots=True)
class Workload:
    """``bundles`` bundles of ``objects`` objects each (a Namespace included)."""

    bundles: int
    objects: int

    def __post_init__(self) -> None:
        if self.bundles < 1 or self.objects < 2:
            raise ValueError("a workload needs a bundle and two objects per bundle")

    @property
    def per_cluster(self) -> int:
        return self.bundles * self.objects

    def names(self) -> list[str]:
        width = len(str(self.bundles - 1))
        return [f"app-{i:0{width}d}" for i in range(self.bundles)]

    def files(self, version: str) -> dict[str, bytes]:
        """The repository at ``version``: fleet.yaml and every bundle's manifests."""
        spec = {
            "apiVersion": "fleet.dev/v1alpha1",
            "kind": "Fleet",
            "bundles": [
                {
                    "name": name,
                    "path": f"apps/{name}",
                    "namespace": name,
                    "params": {"version": version},
                    "targets": [{"name": "everywhere", "clusterSelector": {}}],
                }
                for name in self.names()
            ],
        }
        files = {"fleet.yaml": yaml.safe_dump(spec, sort_keys=False).encode()}
        for name in self.names():
            documents = self._bundle(name, "${version}")
            files[f"apps/{name}/manifests.yaml"] = yaml.safe_dump_all(documents).encode()
        return files

    def manifests(self, version: str) -> list[dict[str, Any]]:
        """Every object one cluster gets at ``version``, as fleet renders it (labels too)."""
        rendered = []
        for name in self.names():
            for document in self._bundle(name, version):
                labels = document["metadata"].setdefault("labels", {})
                labels.update({"app.kubernetes.io/managed-by": "fleet", "fleet.dev/bundle": name})
                rendered.append(document)
        return rendered

    def _bundle(self, namespace: str, version: str) -> list[dict[str, Any]]:
        made = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}]
        for index, kind in zip(range(self.objects - 1), itertools.cycle(KINDS), strict=False):
            made.append(manifest(kind, f"{kind.lower()}-{index}", namespace, version))
        return made


def manifest(kind: str, name: str, namespace: str, version: str) -> dict[str, Any]:
    """One object of ``kind`` as an application has it (a Deployment at image tag
    ``version``); for the simulator's benchmark too."""
    metadata = {"name": name, "namespace": namespace, "labels": {"app": name}}
    body: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": metadata}
    if kind == "Deployment":
        container = {"name": "main", "image": f"registry.example.com/{name}:{version}",
                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                   "limits": {"cpu": "500m", "memory": "256Mi"}}}  # fmt: skip
        body["apiVersion"] = "apps/v1"
        body["spec"] = {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}},
                                     "spec": {"containers": [container]}}}  # fmt: skip
    elif kind == "ConfigMap":
        body["data"] = {f"key{i}": f"value {i} of {name}" for i in range(5)}
    elif kind == "Service":
        body["spec"] = {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}
    elif kind == "Secret":
        body["stringData"] = {"password": f"not-a-secret-{name}"}
    return body
