"""Small fleets for the engine's tests: a namespace bundle and an app bundle whose
objects a test can change per environment."""

from __future__ import annotations

from typing import Any

from tests.engine import harness

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata: {name: web}
"""

CONFIGMAP = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: "${greeting}"}
"""

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "nginx:${tag}"
          ports: [{containerPort: 8080}]
          resources:
            limits: {cpu: 0.5, memory: 134217728}
            requests: {cpu: 0.1, memory: 64Mi}
"""

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def web(
    *,
    prod_greeting: str = "hello",
    extra: dict[str, str] | None = None,
    drift: str = "correct",
    targets: list[dict[str, Any]] | None = None,
    without: tuple[str, ...] = (),
) -> dict[str, str]:
    """A fleet of two bundles: ``namespaces`` everywhere and ``web`` (in it), whose prod
    target sets its own greeting."""
    web_targets = targets or [
        {"name": "prod", "clusterSelector": {"matchLabels": {"env": "prod"}},
         "params": {"greeting": prod_greeting}},
        {"name": "others", "clusterSelector": {}},
    ]  # fmt: skip
    files = {
        "fleet.yaml": harness.fleet_yaml(
            [
                {
                    "name": "namespaces",
                    "path": "ns",
                    "targets": [{"name": "all", "clusterSelector": {}}],
                },
                {
                    "name": "web",
                    "path": "web",
                    "namespace": "web",
                    "drift": drift,
                    "dependsOn": ["namespaces"],
                    "params": {"greeting": "hi", "tag": "1.27"},
                    "targets": web_targets,
                },
            ]
        ),
        "ns/namespace.yaml": NAMESPACE,
        "web/configmap.yaml": CONFIGMAP,
        "web/deployment.yaml": DEPLOYMENT,
        "web/service.yaml": SERVICE,
        **(extra or {}),
    }
    for path in without:
        del files[path]
    return files
