"""A first commit converges on every cluster."""

from __future__ import annotations

from pathlib import Path

from tests.engine import harness

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
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          resources: {limits: {cpu: 0.5, memory: 128Mi}}
"""

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata: {name: web}
"""


def files() -> dict[str, str]:
    return {
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
                    "dependsOn": ["namespaces"],
                    "params": {"greeting": "hello"},
                    "targets": [{"name": "all", "clusterSelector": {}}],
                },
            ]
        ),
        "ns/ns.yaml": NAMESPACE,
        "web/cm.yaml": CONFIGMAP,
        "web/deploy.yaml": DEPLOYMENT,
    }


async def test_a_commit_converges(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=files(), clusters=3) as run:
        await run.converged()
        for name in run.names:
            view = run.view(name)
            assert [b.state for b in view.bundles] == ["ready", "ready"], view
        for name in run.names:
            print("converge", name, run.sim.counters(name))
        run.sim.reset_counters()
        import asyncio

        await asyncio.sleep(2)
        for name in run.names:
            print(name, run.sim.counters(name))
