"""The emulated control plane: rollouts, Jobs, namespaces and CRDs, awaited through watches."""

import json
from typing import Any

from fleet.sim import (
    clusters,
    controllers,
    resources,
    serving,
    workloads,
    writing,
)
from tests.sim.manifests import widget_crd, workload
from tests.support.simulator import ApiSession

APPLY = "application/apply-patch+yaml"


async def apply(api: ApiSession, path: str, obj: dict[str, Any]) -> Any:
    response = await api.request(
        "PATCH", path, data=json.dumps(obj).encode(), content_type=APPLY,
        params={"fieldManager": "fleet"},
    )  # fmt: skip
    assert response.status in (200, 201), response
    return response.json()


async def until(api: ApiSession, path: str, name: str, version: str, done: Any) -> Any:
    """The first watched state of `name` after `version` for which `done(obj)` holds."""
    params = {"resourceVersion": version, "fieldSelector": f"metadata.name={name}"}
    async for event in api.watch(path, params=params):
        if done(event["object"]):
            return event["object"]
    raise AssertionError("the watch ended first")


async def test_a_deployment_reports_a_finished_rollout_after_each_change(api: ApiSession) -> None:
    path = "/apis/apps/v1/namespaces/default/deployments"
    created = await apply(api, f"{path}/web", workload("Deployment", "web", replicas=2))
    assert "status" not in created

    def rolled_out(generation: int) -> Any:
        return lambda obj: obj.get("status", {}).get("observedGeneration") == generation

    ready = await until(api, path, "web", created["metadata"]["resourceVersion"], rolled_out(1))
    status = ready["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (2, 2, 2)
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Available": "True",
        "Progressing": "True",
    }
    owners = {(m["manager"], m.get("subresource")) for m in ready["metadata"]["managedFields"]}
    assert (workloads.CONTROLLER_MANAGER, "status") in owners
    changed = await apply(api, f"{path}/web", workload("Deployment", "web", replicas=3))
    again = await until(api, path, "web", changed["metadata"]["resourceVersion"], rolled_out(2))
    assert again["status"]["updatedReplicas"] == 3


async def test_statefulsets_and_daemonsets_roll_out(api: ApiSession) -> None:
    for kind, plural in (("StatefulSet", "statefulsets"), ("DaemonSet", "daemonsets")):
        path = f"/apis/apps/v1/namespaces/default/{plural}"
        created = await apply(api, f"{path}/app", workload(kind, "app"))
        done = await until(
            api, path, "app", created["metadata"]["resourceVersion"],
            lambda obj: obj.get("status", {}).get("observedGeneration") == 1,
        )  # fmt: skip
        ready = done["status"].get("readyReplicas", done["status"].get("numberReady"))
        assert ready == 1


async def test_a_job_completes(api: ApiSession) -> None:
    path = "/apis/batch/v1/namespaces/default/jobs"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "c", "image": "busybox"}]}}},
    }  # fmt: skip
    created = await apply(api, f"{path}/once", job)
    uid = created["metadata"]["uid"]
    assert created["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": uid}
    }

    def complete(obj: Any) -> bool:
        return any(c["type"] == "Complete" for c in obj.get("status", {}).get("conditions", []))

    done = await until(api, path, "once", created["metadata"]["resourceVersion"], complete)
    assert done["status"]["succeeded"] == 1


async def test_a_crd_is_established_and_its_kind_is_served(api: ApiSession) -> None:
    crd = widget_crd(
        {"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}},
        {"name": "v1beta1", "served": True, "storage": False},
    )
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"
    await apply(api, path, crd)
    stored = (await api.request("GET", path)).json()
    conditions = {c["type"]: c["status"] for c in stored["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert stored["status"]["acceptedNames"]["listKind"] == "WidgetList"
    group = (await api.request("GET", "/apis/example.com")).json()
    assert group["preferredVersion"]["version"] == "v1"
    listed = (await api.request("GET", "/apis/example.com/v1")).json()["resources"]
    assert [r["name"] for r in listed] == ["widgets", "widgets/status"]
    widgets = "/apis/example.com/v1/namespaces/default/widgets"
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"size": 1}}  # fmt: skip
    assert (await api.request("POST", widgets, body=widget)).status == 201
    items = (await api.request("GET", widgets)).json()["items"]
    assert items[0]["kind"] == "Widget"  # custom resources' list items keep their kind
    older = await api.request("GET", "/apis/example.com/v1beta1/namespaces/default/widgets/w")
    assert older.json()["apiVersion"] == "example.com/v1beta1"
    smp = await api.request(
        "PATCH", f"{widgets}/w", body={"spec": {}},
        content_type="application/strategic-merge-patch+json",
    )  # fmt: skip
    assert smp.status == 415
    await api.request("DELETE", path)
    assert (await api.request("GET", widgets)).status == 404
    assert (await api.request("GET", "/apis/example.com/v1")).status == 404


async def test_a_crd_with_a_wrong_name_is_invalid(api: ApiSession) -> None:
    crd = {"metadata": {"name": "gadgets.example.com"},
           "spec": {"group": "example.com", "scope": "Everywhere",
                    "names": {"plural": "widgets", "kind": "Widget"}, "versions": []}}  # fmt: skip
    response = await api.request(
        "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd
    )
    assert response.status == 422
    fields = {cause["field"] for cause in response.json()["details"]["causes"]}
    assert fields == {"metadata.name", "spec.scope", "spec.versions"}


async def test_a_deleted_namespace_terminates_then_takes_its_content(
    sim: serving.Simulator, api: ApiSession
) -> None:
    created = await api.request("POST", "/api/v1/namespaces", body={"metadata": {"name": "shop"}})
    shop = created.json()
    assert shop["status"] == {"phase": "Active"}
    assert shop["metadata"]["labels"] == {"kubernetes.io/metadata.name": "shop"}
    content = "/api/v1/namespaces/shop/configmaps"
    assert (await api.request("POST", content, body={"metadata": {"name": "cm"}})).status == 201
    names = [i["metadata"]["name"] for i in (await api.request("GET", content)).json()["items"]]
    assert names == ["cm", controllers.ROOT_CA]
    deleted = await api.request("DELETE", "/api/v1/namespaces/shop")
    assert deleted.json()["status"]["phase"] == "Terminating"
    refused = await api.request("POST", content, body={"metadata": {"name": "late"}})
    assert refused.status == 403
    assert "because it is being terminated" in refused.json()["message"]
    await until(
        api, "/api/v1/namespaces", "shop", deleted.json()["metadata"]["resourceVersion"],
        lambda obj: obj["status"]["phase"] == "Terminating" and not obj["spec"]["finalizers"],
    )  # fmt: skip
    assert sim.cluster("sim-000").store.in_namespace("shop") == []
    assert (await api.request("GET", "/api/v1/namespaces/shop")).status == 404


def test_timers_of_a_closed_cluster_are_cancelled(cluster: clusters.VirtualCluster) -> None:
    assert repr(cluster.timers) == "Timers(sim-000, 0 pending)"
    cluster.close()
    assert cluster.closed
    assert len(cluster.timers) == 0


async def test_verbs_work_without_http(cluster: clusters.VirtualCluster) -> None:
    options = writing.WriteOptions(manager="fleet")
    outcome = writing.create(
        cluster, resources.CONFIGMAPS, namespace="default",
        body={"metadata": {"name": "direct"}, "data": {"a": "b"}}, options=options,
    )  # fmt: skip
    assert outcome.code == 201
    assert outcome.json()["data"] == {"a": "b"}
    assert repr(outcome).startswith("Outcome(201, ")
    assert repr(cluster) == "VirtualCluster(sim-000, rv=13, 0 timers, faults=off)"
