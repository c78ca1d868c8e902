"""Get and list over HTTP: selectors, pagination with consistent continue tokens, versions."""

from typing import Any

import pytest

from fleet.sim import serving
from tests.support.simulator import ApiSession

CMS = "/api/v1/namespaces/default/configmaps"


async def create(api: ApiSession, name: str, labels: dict[str, str] | None = None) -> Any:
    body = {"metadata": {"name": name, "labels": labels or {}}, "data": {"k": name}}
    response = await api.request("POST", CMS, body=body)
    assert response.status == 201, response
    return response.json()


async def names(api: ApiSession, path: str = CMS, **params: str) -> list[str]:
    response = await api.request("GET", path, params=params)
    assert response.status == 200, response
    return [item["metadata"]["name"] for item in response.json()["items"]]


async def test_get_returns_the_object_with_kind_and_version(api: ApiSession) -> None:
    created = await create(api, "web")
    response = await api.request("GET", f"{CMS}/web")
    assert response.status == 200
    assert response.json() == created
    assert list(response.json())[:3] == ["kind", "apiVersion", "metadata"]


async def test_list_items_of_built_in_kinds_carry_no_kind(api: ApiSession) -> None:
    await create(api, "web")
    listed = (await api.request("GET", CMS)).json()
    assert listed["kind"] == "ConfigMapList"
    assert listed["apiVersion"] == "v1"
    assert all("kind" not in item and "apiVersion" not in item for item in listed["items"])
    assert int(listed["metadata"]["resourceVersion"]) >= 1


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=front", ["a", "b"]),
        ("tier=front,app!=b", ["a"]),
        ("tier in (back)", ["c"]),
        ("!tier", ["kube-root-ca.crt"]),
        ("tier", ["a", "b", "c"]),
    ],
)
async def test_label_selectors(api: ApiSession, selector: str, expected: list[str]) -> None:
    await create(api, "a", {"tier": "front", "app": "a"})
    await create(api, "b", {"tier": "front", "app": "b"})
    await create(api, "c", {"tier": "back"})
    assert await names(api, labelSelector=selector) == expected


async def test_field_selector_and_all_namespaces(api: ApiSession) -> None:
    await create(api, "web")
    assert await names(api, "/api/v1/configmaps", fieldSelector="metadata.name=web") == ["web"]
    everywhere = await names(api, "/api/v1/configmaps", fieldSelector="metadata.name!=web")
    assert everywhere.count("kube-root-ca.crt") == 4  # one per system namespace
    response = await api.request("GET", CMS, params={"fieldSelector": "data.k=web"})
    assert response.status == 400


async def test_pages_are_one_consistent_snapshot(api: ApiSession) -> None:
    for index in range(5):
        await create(api, f"cm{index}")
    first = (await api.request("GET", CMS, params={"limit": "2"})).json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["cm0", "cm1"]
    assert first["metadata"]["remainingItemCount"] == 4
    # Writes between pages do not show up in the rest of the list.
    await create(api, "cm2a")
    await api.request("DELETE", f"{CMS}/cm3")
    token = first["metadata"]["continue"]
    second = (await api.request("GET", CMS, params={"limit": "10", "continue": token})).json()
    assert [i["metadata"]["name"] for i in second["items"]] == [
        "cm2",
        "cm3",
        "cm4",
        "kube-root-ca.crt",
    ]
    assert "continue" not in second["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_a_continue_token_older_than_the_window_is_410(sim: serving.Simulator) -> None:
    async with ApiSession(sim, "sim-000") as api:
        for index in range(3):
            await create(api, f"cm{index}")
        page = (await api.request("GET", CMS, params={"limit": "1"})).json()
        await create(api, "later")
        sim.cluster("sim-000").compact()
        response = await api.request(
            "GET", CMS, params={"limit": "1", "continue": page["metadata"]["continue"]}
        )
    assert response.status == 410
    assert response.json()["reason"] == "Expired"
    assert "continue parameter is too old" in response.json()["message"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"continue": "not-a-token"}, 400),
        ({"continue": "eyJydiI6IDF9", "resourceVersion": "5"}, 400),
        ({"resourceVersion": "999999"}, 504),
        ({"resourceVersion": "abc"}, 400),
        ({"resourceVersionMatch": "Exact"}, 400),
        ({"resourceVersion": "1", "resourceVersionMatch": "Sometimes"}, 400),
        ({"limit": "many"}, 400),
    ],
)
async def test_bad_list_parameters(api: ApiSession, params: dict[str, str], code: int) -> None:
    response = await api.request("GET", CMS, params=params)
    assert response.status == code, response
    assert response.json()["kind"] == "Status"


async def test_exact_resource_version_lists_the_past(api: ApiSession) -> None:
    created = await create(api, "early")
    version = created["metadata"]["resourceVersion"]
    await create(api, "late")
    past = await names(api, resourceVersion=version, resourceVersionMatch="Exact")
    assert past == ["early", "kube-root-ca.crt"]
    assert await names(api, resourceVersion=version) == ["early", "kube-root-ca.crt", "late"]


async def test_missing_object_is_404_with_a_status(api: ApiSession) -> None:
    response = await api.request("GET", "/apis/apps/v1/namespaces/default/deployments/nope")
    assert response.status == 404
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "apps", "kind": "deployments"},
        "code": 404,
    }
