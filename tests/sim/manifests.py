"""Objects the simulator's tests create, built in one place."""

from __future__ import annotations

from typing import Any


def workload(
    kind: str, name: str, *, image: str = "app:1", namespace: str | None = None, **spec: Any
) -> dict[str, Any]:
    """A Deployment, StatefulSet or DaemonSet with one container, selected by `app: <name>`."""
    metadata: dict[str, Any] = {"name": name, "labels": {"app": name}}
    if namespace is not None:
        metadata["namespace"] = namespace
    template = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": name, "image": image}]},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata,
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": template, **spec},
    }


def deployment(
    name: str = "web", *, replicas: int = 1, image: str = "web:1", namespace: str | None = None
) -> dict[str, Any]:
    return workload("Deployment", name, image=image, namespace=namespace, replicas=replicas)


def widget_crd(*versions: dict[str, Any]) -> dict[str, Any]:
    """The CRD of `widgets.example.com` (kind Widget), served at `versions` (default v1)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "shortNames": ["wd"]},
            "versions": list(versions) or [{"name": "v1", "served": True, "storage": True}],
        },
    }  # fmt: skip
