"""Conformance: the real kubectl (v1.32, /usr/bin/kubectl) against a running simulator.

Each test gives kubectl its own HOME and --cache-dir in a temporary directory, so that
discovery and OpenAPI caches never leak from one test into another.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fleet.sim import serving
from tests.support.kubectl import TIMEOUT, Kubectl, Result
from tests.support.simulator import ApiSession

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: shop}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{containerPort: 80}]
          resources: {requests: {cpu: 0.5}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: gizmo, namespace: shop}
spec: {size: 3}
"""

SCALED_BY_OTHERS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.28}]
"""


@pytest.fixture
async def kubectl(tls_sim: serving.Simulator, tmp_path: Path) -> Kubectl:
    await tls_sim.write_files(tmp_path / "out")
    return Kubectl(tmp_path / "out" / "sim-000.kubeconfig", tmp_path)


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(MANIFESTS)
    return path


def managers(obj: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (m["manager"], m["operation"], m.get("subresource", ""))
        for m in obj["metadata"]["managedFields"]
    }


async def live(kubectl: Kubectl, kind: str, name: str) -> Any:
    """The object as `kubectl get -o json` shows it, managedFields included."""
    shown = await kubectl("get", kind, name, "-n", "shop", "-o", "json", "--show-managed-fields")
    assert shown.code == 0, shown
    return shown.json()


async def apply_all(kubectl: Kubectl, manifests: Path) -> Result:
    """Apply the file twice, as with a real server: the custom resource needs its CRD first."""
    first = await kubectl("apply", "--server-side", "-f", str(manifests))
    assert first.code == 1, first
    assert "deployment.apps/web serverside-applied" in first.out
    return await kubectl("apply", "--server-side", "-f", str(manifests))


async def test_api_resources(kubectl: Kubectl, manifests: Path) -> None:
    listed = await kubectl("api-resources", "--no-headers")
    assert listed.code == 0, listed
    rows = {line.split()[0]: line.split() for line in listed.out.splitlines()}
    assert rows["deployments"] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    assert rows["namespaces"][-3:] == ["v1", "false", "Namespace"]
    await apply_all(kubectl, manifests)
    again = await kubectl("api-resources", "--api-group", "example.com", "--no-headers")
    assert again.out.split() == ["widgets", "wd", "example.com/v1", "true", "Widget"]


async def test_apply_a_multi_document_file_and_get_it_back(
    kubectl: Kubectl, manifests: Path
) -> None:
    second = await apply_all(kubectl, manifests)
    assert second.code == 0, second
    assert second.out.splitlines() == [
        "namespace/shop serverside-applied",
        "configmap/web-config serverside-applied",
        "deployment.apps/web serverside-applied",
        "service/web serverside-applied",
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied",
        "widget.example.com/gizmo serverside-applied",
    ]
    deployment = await live(kubectl, "deployment", "web")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == "500m"
    widget = (await kubectl("get", "wd", "gizmo", "-n", "shop", "-o", "json")).json()
    assert widget["spec"] == {"size": 3}
    names = await kubectl("get", "configmaps", "-n", "shop", "-o", "name")
    assert names.out.split() == ["configmap/kube-root-ca.crt", "configmap/web-config"]
    rolled = await kubectl("rollout", "status", "deployment/web", "-n", "shop", "--timeout=20s")
    assert rolled.out.strip() == 'deployment "web" successfully rolled out'
    printed = await kubectl("get", "deployments", "-n", "shop")
    header, row = printed.out.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:4] == ["web", "2/2", "2", "2"]


async def test_get_watch_sees_a_change_made_by_another_client(
    kubectl: Kubectl, tls_sim: serving.Simulator
) -> None:
    process = await asyncio.create_subprocess_exec(
        *kubectl.argv(("get", "configmaps", "-n", "default", "--watch", "-o", "name")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=kubectl.env,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(TIMEOUT):
            first = await process.stdout.readline()
            assert first.decode().strip() == "configmap/kube-root-ca.crt"
            async with ApiSession(tls_sim, "sim-000") as other:
                body = {"metadata": {"name": "from-elsewhere"}}
                await other.request("POST", "/api/v1/namespaces/default/configmaps", body=body)
            seen = await process.stdout.readline()
        assert seen.decode().strip() == "configmap/from-elsewhere"
    finally:
        process.terminate()
        await process.wait()


async def test_diff_server_side(kubectl: Kubectl, manifests: Path, tmp_path: Path) -> None:
    await apply_all(kubectl, manifests)
    same = await kubectl("diff", "--server-side", "-f", str(manifests))
    assert (same.code, same.out) == (0, ""), same
    changed = tmp_path / "changed.yaml"
    changed.write_text(MANIFESTS.replace("nginx:1.27", "nginx:1.29"))
    different = await kubectl("diff", "--server-side", "-f", str(changed))
    assert different.code == 1, different
    assert "-      - image: nginx:1.27" in different.out
    assert "+      - image: nginx:1.29" in different.out
    unchanged = await live(kubectl, "deployment", "web")
    assert unchanged["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


async def test_a_second_manager_conflicts_then_forces(
    kubectl: Kubectl, manifests: Path, tmp_path: Path
) -> None:
    await apply_all(kubectl, manifests)
    other = tmp_path / "other.yaml"
    other.write_text(SCALED_BY_OTHERS)
    refused = await kubectl("apply", "--server-side", "--field-manager", "other", "-f", str(other))
    assert refused.code != 0
    assert 'Apply failed with 2 conflicts: conflicts with "kubectl":' in refused.err
    assert ".spec.replicas" in refused.err
    assert '.spec.template.spec.containers[name="web"].image' in refused.err
    forced = await kubectl(
        "apply", "--server-side", "--field-manager", "other", "--force-conflicts", "-f", str(other)
    )
    assert forced.code == 0, forced
    deployment = await live(kubectl, "deployment", "web")
    assert deployment["spec"]["replicas"] == 5
    assert {("kubectl", "Apply", ""), ("other", "Apply", "")} <= managers(deployment)


async def test_scale_edit_and_label_record_kubectl_managers(
    kubectl: Kubectl, manifests: Path, tmp_path: Path
) -> None:
    await apply_all(kubectl, manifests)
    scaled = await kubectl("scale", "deployment/web", "-n", "shop", "--replicas=4")
    assert scaled.code == 0, scaled
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/greeting: hello/greeting: bye/' \"$1\"\n")
    editor.chmod(0o755)
    edited = await kubectl(
        "edit", "configmap", "web-config", "-n", "shop", env={"KUBE_EDITOR": str(editor)}
    )
    assert edited.code == 0, edited
    labelled = await kubectl("label", "deployment", "web", "-n", "shop", "team=shop")
    assert labelled.code == 0, labelled
    deployment = await live(kubectl, "deployment", "web")
    assert deployment["spec"]["replicas"] == 4
    assert {("kubectl", "Update", "scale"), ("kubectl-label", "Update", "")} <= managers(deployment)
    configmap = await live(kubectl, "configmap", "web-config")
    assert configmap["data"] == {"greeting": "bye"}
    assert ("kubectl-edit", "Update", "") in managers(configmap)


async def test_typed_create_commands(kubectl: Kubectl) -> None:
    """kubectl's create generators send protobuf; the four simplest kinds are understood."""
    for command in (
        ("create", "namespace", "shop"),
        ("create", "configmap", "settings", "-n", "shop", "--from-literal=mode=fast"),
        ("create", "secret", "generic", "token", "-n", "shop", "--from-literal=key=s3cr3t"),
        ("create", "serviceaccount", "robot", "-n", "shop"),
    ):
        created = await kubectl(*command)
        assert created.code == 0, created
    settings = await live(kubectl, "configmap", "settings")
    assert settings["data"] == {"mode": "fast"}
    assert ("kubectl-create", "Update", "") in managers(settings)
    token = await live(kubectl, "secret", "token")
    assert (token["type"], token["data"]) == ("Opaque", {"key": "czNjcjN0"})
    refused = await kubectl("create", "deployment", "web", "-n", "shop", "--image=nginx")
    assert refused.code == 1
    assert "apps/v1 Deployment is only accepted as JSON or YAML" in refused.err


async def test_delete(kubectl: Kubectl, manifests: Path) -> None:
    await apply_all(kubectl, manifests)
    deleted = await kubectl("delete", "configmap", "web-config", "-n", "shop")
    assert (deleted.code, deleted.out.strip()) == (0, 'configmap "web-config" deleted')
    gone = await kubectl("get", "configmap", "web-config", "-n", "shop")
    assert gone.code == 1
    assert 'configmaps "web-config" not found' in gone.err
    namespace = await kubectl("delete", "namespace", "shop")
    assert namespace.code == 0, namespace
    assert (await kubectl("get", "namespace", "shop")).code == 1
