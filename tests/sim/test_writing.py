"""Create, update, patch, apply and delete over HTTP, with the apiserver's rules and errors."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from fleet.sim import serving
from tests.sim.manifests import deployment
from tests.support.simulator import ApiSession, running

CMS = "/api/v1/namespaces/default/configmaps"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
APPLY = "application/apply-patch+yaml"


async def apply(
    api: ApiSession, path: str, obj: dict[str, Any], manager: str = "fleet", **params: str
) -> Any:
    return await api.request(
        "PATCH",
        path,
        data=json.dumps(obj).encode(),
        content_type=APPLY,
        params={"fieldManager": manager, **params},
    )


@pytest.fixture
async def sim() -> AsyncIterator[serving.Simulator]:
    """No rollouts during these tests: they compare resourceVersions of Deployments."""
    async with running(rollout_delay=3600) as simulator:
        yield simulator


def managers(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (m["manager"], m["operation"], m.get("subresource", ""))
        for m in obj["metadata"].get("managedFields", [])
    ]


async def test_create_sets_what_only_the_server_sets(api: ApiSession) -> None:
    response = await api.request(
        "POST", CMS, body={"metadata": {"name": "web"}}, headers={"User-Agent": "deployer/1.0"}
    )
    assert response.status == 201
    created = response.json()
    metadata = created["metadata"]
    assert metadata["uid"]
    assert metadata["creationTimestamp"].endswith("Z")
    assert metadata["namespace"] == "default"
    assert "generation" not in metadata  # ConfigMaps have none
    assert managers(created) == []  # nothing but metadata the server keeps
    labelled = await api.request(
        "POST",
        CMS,
        body={"metadata": {"name": "labelled", "labels": {"a": "b"}}},
        headers={"User-Agent": "deployer/1.0 (linux)"},
    )
    assert managers(labelled.json()) == [("deployer", "Update", "")]


async def test_generate_name(api: ApiSession) -> None:
    response = await api.request("POST", CMS, body={"metadata": {"generateName": "job-"}})
    name = response.json()["metadata"]["name"]
    assert response.status == 201
    assert name.startswith("job-")
    assert len(name) == 9


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (CMS, {"metadata": {}}, (422, "Invalid", "name or generateName is required")),
        (CMS, {"metadata": {"name": "Bad_Name"}}, (422, "Invalid", "RFC 1123 subdomain")),
        (CMS, {"metadata": {"name": "a", "labels": {"k": 1}}}, (422, "Invalid",
         "must be a string")),
        (CMS, {"metadata": {"name": "a", "labels": {"-k": "v"}}}, (422, "Invalid", "name part")),
        ("/api/v1/namespaces", {"metadata": {"name": "a.b"}}, (422, "Invalid", "RFC 1123 label")),
        ("/api/v1/namespaces/default/services", {"metadata": {"name": "1abc"}}, (422, "Invalid",
         "DNS-1035")),
        (CMS, {"kind": "Secret", "metadata": {"name": "a"}}, (400, "BadRequest",
         "kind in the data (Secret) does not match the expected kind (ConfigMap)")),
        (CMS, {"apiVersion": "v2", "metadata": {"name": "a"}}, (400, "BadRequest", "apiVersion")),
        (CMS, {"metadata": {"name": "a", "namespace": "other"}}, (400, "BadRequest",
         "namespace of the provided object does not match")),
        (CMS, {"metadata": {"name": "a", "resourceVersion": "3"}}, (400, "BadRequest",
         "resourceVersion should not be set")),
        (CMS, ["not", "an", "object"], (400, "BadRequest", "must be a JSON or YAML object")),
        (CMS, {"metadata": "nope"}, (400, "BadRequest", "metadata must be an object")),
        (CMS, {"metadata": {"name": "a"}, "data": {"k": 1}}, (400, "BadRequest",
         'ConfigMap in version "v1" cannot be handled as a ConfigMap: data must be a map of '
         "strings")),
        (DEPLOYS, {"metadata": {"name": "a"}, "spec": 5}, (400, "BadRequest",
         "spec must be an object")),
        ("/api/v1/namespaces/missing/configmaps", {"metadata": {"name": "a"}}, (404, "NotFound",
         'namespaces "missing" not found')),
        ("/api/v1/configmaps", {"metadata": {"name": "a"}}, (405, "MethodNotAllowed", "POST")),
    ],
)  # fmt: skip
async def test_create_errors(
    api: ApiSession, path: str, body: Any, expected: tuple[int, str, str]
) -> None:
    code, reason, message = expected
    response = await api.request("POST", path, body=body)
    assert response.status == code, response
    status = response.json()
    assert (status["kind"], status["status"], status["reason"], status["code"]) == (
        "Status",
        "Failure",
        reason,
        code,
    )
    assert message in status["message"]


async def test_invalid_names_the_field(api: ApiSession) -> None:
    response = await api.request("POST", CMS, body={"metadata": {"name": "Bad"}})
    details = response.json()["details"]
    assert details["kind"] == "ConfigMap"
    assert details["name"] == "Bad"
    assert details["causes"][0]["field"] == "metadata.name"


async def test_already_exists(api: ApiSession) -> None:
    await api.request("POST", CMS, body={"metadata": {"name": "web"}})
    response = await api.request("POST", CMS, body={"metadata": {"name": "web"}})
    assert response.status == 409
    assert response.json()["reason"] == "AlreadyExists"
    assert response.json()["message"] == 'configmaps "web" already exists'


async def test_update_with_a_stale_resource_version_is_a_conflict(api: ApiSession) -> None:
    created = (await api.request("POST", CMS, body={"metadata": {"name": "web"}})).json()
    changed = {**created, "data": {"a": "1"}}
    first = await api.request("PUT", f"{CMS}/web", body=changed)
    assert first.status == 200
    assert first.json()["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    stale = await api.request("PUT", f"{CMS}/web", body={**changed, "data": {"a": "2"}})
    assert stale.status == 409
    assert stale.json()["reason"] == "Conflict"
    assert "the object has been modified" in stale.json()["message"]
    unconditional = {"metadata": {"name": "web"}, "data": {"a": "3"}}
    assert (await api.request("PUT", f"{CMS}/web", body=unconditional)).status == 200
    renamed = await api.request("PUT", f"{CMS}/web", body={"metadata": {"name": "other"}})
    assert renamed.status == 400
    assert (await api.request("PUT", f"{CMS}/missing", body={})).status == 404


async def test_an_update_that_changes_nothing_is_not_a_write(api: ApiSession) -> None:
    created = (await api.request("POST", CMS, body={"metadata": {"name": "web"}})).json()
    again = await api.request("PUT", f"{CMS}/web", body=created)
    assert again.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_generation_counts_spec_changes_only(api: ApiSession) -> None:
    await apply(api, f"{DEPLOYS}/web", deployment())
    labelled = await api.request(
        "PATCH",
        f"{DEPLOYS}/web",
        body={"metadata": {"labels": {"extra": "yes"}}},
        content_type="application/merge-patch+json",
    )
    assert labelled.json()["metadata"]["generation"] == 1
    scaled = await api.request(
        "PATCH",
        f"{DEPLOYS}/web",
        body={"spec": {"replicas": 3}},
        content_type="application/merge-patch+json",
    )
    assert scaled.json()["metadata"]["generation"] == 2
    status = await api.request(
        "PATCH",
        f"{DEPLOYS}/web/status",
        body={"status": {"replicas": 7}, "spec": {"replicas": 9}},
        content_type="application/merge-patch+json",
        params={"fieldManager": "tester"},
    )
    assert status.json()["metadata"]["generation"] == 2
    assert status.json()["spec"]["replicas"] == 3
    assert status.json()["status"]["replicas"] == 7
    assert ("tester", "Update", "status") in managers(status.json())


@pytest.mark.parametrize(
    ("content_type", "patch", "expected"),
    [
        ("application/merge-patch+json", {"data": {"a": None, "b": "2"}}, {"b": "2"}),
        ("application/json-patch+json", [{"op": "add", "path": "/data/c", "value": "3"}],
         {"a": "1", "c": "3"}),
        ("application/strategic-merge-patch+json", {"data": {"a": "9"}}, {"a": "9"}),
    ],
)  # fmt: skip
async def test_patches(api: ApiSession, content_type: str, patch: Any, expected: Any) -> None:
    await api.request("POST", CMS, body={"metadata": {"name": "web"}, "data": {"a": "1"}})
    response = await api.request(
        "PATCH", f"{CMS}/web", body=patch, content_type=content_type, params={"fieldManager": "p"}
    )
    assert response.status == 200, response
    assert response.json()["data"] == expected
    assert ("p", "Update", "") in managers(response.json())


@pytest.mark.parametrize(
    ("path", "content_type", "patch", "code"),
    [
        (f"{CMS}/web", "application/json-patch+json", [{"op": "test", "path": "/data/a",
                                                         "value": "x"}], 422),
        (f"{CMS}/web", "application/json-patch+json", {"op": "add"}, 422),
        (f"{CMS}/web", "text/plain", {"data": {}}, 415),
        (f"{CMS}/web", "application/merge-patch+json", {"metadata": {"resourceVersion": "1"}}, 409),
        (f"{CMS}/web", "application/merge-patch+json", {"metadata": {"name": "other"}}, 400),
        (f"{CMS}/missing", "application/merge-patch+json", {}, 404),
    ],
)  # fmt: skip
async def test_patch_errors(
    api: ApiSession, path: str, content_type: str, patch: Any, code: int
) -> None:
    await api.request("POST", CMS, body={"metadata": {"name": "web"}, "data": {"a": "1"}})
    response = await api.request("PATCH", path, body=patch, content_type=content_type)
    assert response.status == code, response


async def test_malformed_patch_body_is_400(api: ApiSession) -> None:
    await api.request("POST", CMS, body={"metadata": {"name": "web"}})
    response = await api.request(
        "PATCH", f"{CMS}/web", data=b"{nope", content_type="application/merge-patch+json"
    )
    assert response.status == 400


async def test_apply_creates_then_reapplying_is_a_no_op(api: ApiSession) -> None:
    created = await apply(api, f"{DEPLOYS}/web", deployment())
    assert created.status == 201
    again = await apply(api, f"{DEPLOYS}/web", deployment())
    assert again.status == 200
    assert again.json() == created.json()


async def test_apply_needs_a_field_manager(api: ApiSession) -> None:
    response = await api.request(
        "PATCH", f"{DEPLOYS}/web", data=json.dumps(deployment()).encode(), content_type=APPLY
    )
    assert response.status == 400
    assert "fieldManager is required" in response.json()["message"]


async def test_apply_conflicts_name_the_manager_and_field_then_force_wins(
    api: ApiSession,
) -> None:
    await apply(api, f"{DEPLOYS}/web", deployment(replicas=1), manager="fleet")
    refused = await apply(api, f"{DEPLOYS}/web", deployment(replicas=5), manager="intruder")
    assert refused.status == 409
    status = refused.json()
    assert status["reason"] == "Conflict"
    assert (
        status["message"] == 'Apply failed with 1 conflict: conflict with "fleet": .spec.replicas'
    )
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "fleet"',
         "field": ".spec.replicas"}
    ]  # fmt: skip
    forced = await apply(
        api, f"{DEPLOYS}/web", deployment(replicas=5), manager="intruder", force="true"
    )
    assert forced.status == 200
    assert forced.json()["spec"]["replicas"] == 5
    assert [m[0] for m in managers(forced.json())] == ["fleet", "intruder"]


async def test_apply_body_must_name_its_kind(api: ApiSession) -> None:
    body = deployment()
    del body["kind"]
    assert (await apply(api, f"{DEPLOYS}/web", body)).status == 400
    wrong = {**deployment(), "kind": "StatefulSet"}
    assert (await apply(api, f"{DEPLOYS}/web", wrong)).status == 400


async def test_apply_accepts_yaml_and_rejects_aliases(api: ApiSession) -> None:
    yaml_body = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: {when: 2024-01-01}\n"
    response = await api.request(
        "PATCH", f"{CMS}/y", data=yaml_body, content_type=APPLY, params={"fieldManager": "m"}
    )
    assert response.status == 201
    assert response.json()["data"] == {"when": "2024-01-01"}
    bomb = b"a: &a [1, 2]\nb: [*a, *a]\n"
    response = await api.request(
        "PATCH", f"{CMS}/y", data=bomb, content_type=APPLY, params={"fieldManager": "m"}
    )
    assert response.status == 400


async def test_dry_run_stores_nothing(sim: serving.Simulator, api: ApiSession) -> None:
    cluster = sim.cluster("sim-000")
    before = cluster.store.resource_version
    dry = {"dryRun": "All", "fieldManager": "fleet"}
    created = await api.request("POST", CMS, body={"metadata": {"name": "web"}}, params=dry)
    assert created.status == 201
    assert created.json()["metadata"]["uid"]
    applied = await apply(api, f"{DEPLOYS}/web", deployment(), dryRun="All")
    assert applied.status == 201
    assert cluster.store.resource_version == before
    assert (await api.request("GET", f"{CMS}/web")).status == 404
    assert sim.counters("sim-000")["dry_run"] == 2
    assert sim.counters("sim-000").writes == 0
    bad = await api.request("POST", CMS, body={"metadata": {"name": "x"}}, params={"dryRun": "x"})
    assert bad.status == 400


async def test_delete_answers_with_a_status_or_the_object(api: ApiSession) -> None:
    await api.request("POST", CMS, body={"metadata": {"name": "web"}})
    deleted = await api.request("DELETE", f"{CMS}/web")
    assert deleted.status == 200
    assert deleted.json()["status"] == "Success"
    assert deleted.json()["details"]["name"] == "web"
    assert (await api.request("GET", f"{CMS}/web")).status == 404
    assert (await api.request("DELETE", f"{CMS}/web")).status == 404
    services = "/api/v1/namespaces/default/services"
    await api.request("POST", services, body={"metadata": {"name": "web"}, "spec": {}})
    removed = await api.request("DELETE", f"{services}/web")
    assert removed.json()["kind"] == "Service"


async def test_delete_preconditions_and_dry_run(api: ApiSession) -> None:
    await api.request("POST", CMS, body={"metadata": {"name": "web"}})
    wrong_uid = {"kind": "DeleteOptions", "preconditions": {"uid": "not-it"}}
    refused = await api.request("DELETE", f"{CMS}/web", body=wrong_uid)
    assert refused.status == 409
    assert "Precondition failed: UID" in refused.json()["message"]
    dry = await api.request("DELETE", f"{CMS}/web", body={"dryRun": ["All"]})
    assert dry.status == 200
    assert (await api.request("GET", f"{CMS}/web")).status == 200


async def test_finalizers_hold_a_delete_until_they_are_removed(api: ApiSession) -> None:
    body = {"metadata": {"name": "held", "finalizers": ["example.com/keep"]}}
    await api.request("POST", CMS, body=body)
    marked = await api.request("DELETE", f"{CMS}/held")
    assert marked.json()["metadata"]["deletionTimestamp"]
    assert (await api.request("GET", f"{CMS}/held")).status == 200
    released = await api.request(
        "PATCH",
        f"{CMS}/held",
        body={"metadata": {"finalizers": None}},
        content_type="application/merge-patch+json",
    )
    assert released.status == 200
    assert (await api.request("GET", f"{CMS}/held")).status == 404


async def test_field_validation(api: ApiSession) -> None:
    body = {"metadata": {"name": "web", "colour": "red"}, "data": {}, "extra": 1}
    strict = await api.request("POST", CMS, body=body, params={"fieldValidation": "Strict"})
    assert strict.status == 400
    assert strict.json()["message"] == (
        'strict decoding error: unknown field "extra", unknown field "metadata.colour"'
    )
    warned = await api.request("POST", CMS, body=body, params={"fieldValidation": "Warn"})
    assert warned.status == 201
    assert "extra" not in warned.json()
    assert '299 - "unknown field \\"extra\\""' in warned.headers["Warning"]
    duplicate = b'{"metadata": {"name": "dup"}, "data": {}, "data": {}}'
    refused = await api.request("POST", CMS, data=duplicate, params={"fieldValidation": "Strict"})
    assert 'duplicate field "data"' in refused.json()["message"]
    unknown = await api.request("POST", CMS, body={}, params={"fieldValidation": "Sometimes"})
    assert unknown.status == 400


async def test_server_defaults_and_normalisation(api: ApiSession) -> None:
    body = deployment()
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"cpu": 0.5, "memory": "1.5Gi"}}
    created = (await apply(api, f"{DEPLOYS}/web", body)).json()
    spec = created["spec"]
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["revisionHistoryLimit"] == 10
    stored = spec["template"]["spec"]["containers"][0]
    assert stored["resources"]["requests"] == {"cpu": "500m", "memory": "1536Mi"}
    assert stored["imagePullPolicy"] == "IfNotPresent"
    again = await apply(api, f"{DEPLOYS}/web", body)
    assert again.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    services = "/api/v1/namespaces/default/services"
    service = {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
    made = (await api.request("POST", services, body=service)).json()
    assert made["spec"]["clusterIP"].startswith("10.96.")
    assert made["status"] == {"loadBalancer": {}}
    assert made["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    replaced = (await api.request("PUT", f"{services}/web", body=service)).json()
    assert replaced["spec"]["clusterIP"] == made["spec"]["clusterIP"]
    secret = {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    stored_secret = await api.request("POST", "/api/v1/namespaces/default/secrets", body=secret)
    assert stored_secret.json()["data"] == {"password": "aHVudGVyMg=="}
    assert stored_secret.json()["type"] == "Opaque"


async def test_immutable_fields(api: ApiSession) -> None:
    await apply(api, f"{DEPLOYS}/web", deployment())
    moved = deployment()
    moved["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    moved["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    response = await apply(api, f"{DEPLOYS}/web", moved, force="true")
    assert response.status == 422
    assert "spec.selector" in response.json()["message"]
    assert "field is immutable" in response.json()["message"]


async def test_scale_subresource_records_its_writer(api: ApiSession) -> None:
    await apply(api, f"{DEPLOYS}/web", deployment(replicas=2))
    scale = (await api.request("GET", f"{DEPLOYS}/web/scale")).json()
    assert (scale["kind"], scale["spec"]["replicas"], scale["status"]["selector"]) == (
        "Scale",
        2,
        "app=web",
    )
    scaled = await api.request(
        "PATCH",
        f"{DEPLOYS}/web/scale",
        body={"spec": {"replicas": 4}},
        content_type="application/merge-patch+json",
        headers={"User-Agent": "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07"},
    )
    assert scaled.json()["spec"]["replicas"] == 4
    deployment_now = (await api.request("GET", f"{DEPLOYS}/web")).json()
    assert ("kubectl", "Update", "scale") in managers(deployment_now)
    negative = await api.request("PUT", f"{DEPLOYS}/web/scale", body={"spec": {"replicas": -1}})
    assert negative.status == 422
    assert (await api.request("GET", f"{CMS}/x/scale")).status == 404
