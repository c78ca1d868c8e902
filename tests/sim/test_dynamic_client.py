"""Conformance: kubernetes-asyncio's DynamicClient against a running simulator.

The same flows as the kubectl tests. One trait of the client shows here and matters
to fleet.clients: kubernetes-asyncio 36's DynamicClient does not raise on an error
status (it reads responses with `_preload_content=False`, and only the preloading
path checks the status); the `Status` comes back as a ResourceInstance instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import config, watch
from kubernetes_asyncio.dynamic import DynamicClient

from fleet.sim import serving
from tests.sim.manifests import deployment, widget_crd
from tests.support.simulator import ApiSession


@pytest.fixture
async def client(tls_sim: serving.Simulator, tmp_path: Path) -> AsyncIterator[Any]:
    await tls_sim.write_files(tmp_path)
    api = await config.new_client_from_config(config_file=str(tmp_path / "sim-000.kubeconfig"))
    async with api:
        yield await DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))


def managers(obj: Any) -> set[tuple[str, str]]:
    return {(m["manager"], m["operation"]) for m in obj.to_dict()["metadata"]["managedFields"]}


async def test_apply_get_and_custom_resources(client: Any) -> None:
    namespaces = await client.resources.get(api_version="v1", kind="Namespace")
    created = await client.server_side_apply(
        namespaces, body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        field_manager="fleet",
    )  # fmt: skip
    assert created.status.phase == "Active"
    crds = await client.resources.get(api_version="apiextensions.k8s.io/v1",
                                      kind="CustomResourceDefinition")  # fmt: skip
    await client.server_side_apply(crds, body=widget_crd(), field_manager="fleet")
    widgets = await client.resources.get(api_version="example.com/v1", kind="Widget")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "gizmo", "namespace": "shop"}, "spec": {"size": 3}}  # fmt: skip
    await client.server_side_apply(widgets, body=widget, field_manager="fleet")
    got = await client.get(widgets, name="gizmo", namespace="shop")
    assert got.spec.size == 3
    listed = await client.get(widgets, namespace="shop")
    assert [item.metadata.name for item in listed.items] == ["gizmo"]


async def test_watch_sees_a_change_made_by_another_client(
    client: Any, tls_sim: serving.Simulator
) -> None:
    configmaps = await client.resources.get(api_version="v1", kind="ConfigMap")
    listed = await client.get(configmaps, namespace="default")

    async def change() -> None:
        async with ApiSession(tls_sim, "sim-000") as other:
            body = {"metadata": {"name": "from-elsewhere"}}
            await other.request("POST", "/api/v1/namespaces/default/configmaps", body=body)

    writer = asyncio.create_task(change())
    async with asyncio.timeout(30), watch.Watch() as watcher:
        events = client.watch(
            configmaps, namespace="default", resource_version=listed.metadata.resourceVersion,
            timeout=30, watcher=watcher,
        )  # fmt: skip
        event = await anext(events)
        await events.aclose()
    assert (event["type"], event["object"].metadata.name) == ("ADDED", "from-elsewhere")
    await writer


async def test_dry_run_conflicts_force_and_delete(client: Any) -> None:
    deployments = await client.resources.get(api_version="apps/v1", kind="Deployment")
    first = await client.server_side_apply(
        deployments,
        body=deployment(replicas=2, image="web:1", namespace="default"),
        field_manager="fleet",
    )
    preview = await client.server_side_apply(
        deployments,
        body=deployment(replicas=2, image="web:2", namespace="default"),
        field_manager="fleet",
        dry_run="All",
    )
    assert preview.spec.template.spec.containers[0].image == "web:2"
    live = await client.get(deployments, name="web", namespace="default")
    assert live.spec.template.spec.containers[0].image == "web:1"
    assert live.metadata.generation == first.metadata.generation == 1
    refused = await client.server_side_apply(
        deployments,
        body=deployment(replicas=5, image="web:1", namespace="default"),
        field_manager="other",
    )
    assert (refused.kind, refused.code, refused.reason) == ("Status", 409, "Conflict")
    assert 'conflict with "fleet": .spec.replicas' in refused.message
    forced = await client.server_side_apply(
        deployments,
        body=deployment(replicas=5, image="web:1", namespace="default"),
        field_manager="other",
        force_conflicts=True,
    )
    assert forced.spec.replicas == 5
    assert {("fleet", "Apply"), ("other", "Apply")} <= managers(forced)
    patched = await client.patch(
        deployments, name="web", namespace="default", body={"metadata": {"labels": {"a": "b"}}},
        content_type="application/merge-patch+json", field_manager="hand",
    )  # fmt: skip
    assert ("hand", "Update") in managers(patched)
    deleted = await client.delete(deployments, name="web", namespace="default")
    assert deleted.status == "Success"
    missing = await client.get(deployments, name="web", namespace="default")
    assert (missing.kind, missing.code, missing.reason) == ("Status", 404, "NotFound")
