"""The engine-backed endpoints over a fake `FleetView`: the overview, clusters (selector,
state, pages), one cluster, bundles, and a sync request."""

from __future__ import annotations

import pytest

from fleet.structs.objects import ClusterName
from tests.api import fakes
from tests.api.conftest import TOKEN, Serve


async def test_fleet_overview(serve: Serve) -> None:
    served = await serve()
    answer = await served.client.get("/api/v1/fleet")
    assert answer.status == 200
    body = answer.json()
    assert body["source"] == {
        "repository": "https://git.example.com/platform/fleet.git",
        "branch": "main",
        "revision": fakes.SHA,
        "loaded_at": "2030-01-01T12:00:00Z",
        "failed_revision": None,
        "error": None,
        "problems": [],
    }
    assert body["clusters"] == {
        "total": 3,
        "by_state": {
            "pending": 1,
            "ready": 1,
            "progressing": 0,
            "degraded": 1,
            "blocked": 0,
            "failed": 0,
        },
    }
    assert body["bundles"] == 2
    assert body["history"]["backend"] == "memory"


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({}, ["dev-1", "eu-1", "us-1"]),
        ({"selector": "env=prod"}, ["eu-1", "us-1"]),
        ({"selector": "env==prod,region!=us"}, ["eu-1"]),
        ({"selector": "region in (eu, us),env notin (dev)"}, ["eu-1", "us-1"]),
        ({"selector": "canary"}, ["us-1"]),
        ({"selector": "!canary"}, ["dev-1", "eu-1"]),
        ({"selector": "example.com/tier=web"}, []),
        ({"state": "degraded"}, ["us-1"]),
        ({"state": "pending", "selector": "env=dev"}, ["dev-1"]),
    ],
)
async def test_clusters_filtered_by_selector_and_state(
    serve: Serve, params: dict[str, str], names: list[str]
) -> None:
    answer = await (await serve()).client.get("/api/v1/clusters", **params)
    assert answer.status == 200, answer
    assert [item["name"] for item in answer.json()["items"]] == names


async def test_a_cluster_in_the_list(serve: Serve) -> None:
    answer = await (await serve()).client.get("/api/v1/clusters", selector="canary")
    assert answer.json()["items"] == [
        {
            "name": "us-1",
            "labels": {"env": "prod", "region": "us", "canary": "true"},
            "state": "degraded",
            "revision": fakes.OLD_SHA,
            "result": "failed",
            "trigger": "retry",
            "synced_at": "2030-01-01T11:00:00Z",
            "trace_id": None,
            "error": "cluster us-1: connection refused",
            "failures": 3,
            "connection": {
                "phase": "unreachable",
                "since": "2030-01-01T10:00:00Z",
                "last_error": "connection refused",
                "failures": 3,
            },
            "bundles": 1,
            "drift": 0,
        }
    ]


async def test_clusters_are_paged_by_name(serve: Serve) -> None:
    client = (await serve(fleet=fakes.FakeFleet(fakes.many(25)))).client
    names: list[str] = []
    answer = await client.get("/api/v1/clusters", limit="10", selector="env=prod")
    while True:
        body = answer.json()
        names += [item["name"] for item in body["items"]]
        if body["next"] is None:
            break
        assert "selector=env%3Dprod" in body["next"]
        answer = await client.request("GET", body["next"])
    assert names == [f"c-{n:03d}" for n in range(0, 25, 2)]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"selector": "env=(prod"}, "selector: "),
        ({"selector": "env in prod"}, "selector: 'env in prod' is not a label key"),
        ({"selector": "env=pr od"}, "selector: 'pr od' is not a label value"),
        ({"selector": ",,"}, "selector: '' is not a label key"),
        ({"state": "happy"}, "state: must be one of pending, ready"),
        ({"cursor": "%%%"}, "cursor: this cursor cannot continue /clusters"),
        ({"limit": "-1"}, "limit: must be an integer"),
        ({"name": "eu-1"}, "'name': unknown parameter"),
    ],
)
async def test_bad_cluster_queries_are_400(
    serve: Serve, params: dict[str, str], message: str
) -> None:
    answer = await (await serve()).client.get("/api/v1/clusters", **params)
    assert answer.status == 400
    assert answer.json()["message"].startswith(message), answer.json()["message"]


async def test_one_cluster_with_bundles_objects_and_drift(serve: Serve) -> None:
    answer = await (await serve()).client.get("/api/v1/clusters/eu-1")
    assert answer.status == 200
    body = answer.json()
    assert (body["name"], body["state"], body["trace_id"]) == ("eu-1", "ready", fakes.TRACE_ID)
    assert [bundle["name"] for bundle in body["bundles"]] == ["base", "web"]
    assert body["bundles"][1]["objects"][0] == {
        "object": {"group": "apps", "kind": "Deployment", "namespace": "shop", "name": "web"},
        "action": "configured",
        "health": "healthy",
        "message": "",
    }
    assert body["drift"][0]["fields"] == ["spec.replicas"]
    assert body["connection"]["phase"] == "ready"


async def test_a_cluster_without_a_client_has_no_connection(serve: Serve) -> None:
    body = (await (await serve()).client.get("/api/v1/clusters/dev-1")).json()
    assert (body["state"], body["connection"], body["bundles"]) == ("pending", None, [])


@pytest.mark.parametrize("path", ["/api/v1/clusters/nowhere", "/api/v1/bundles/nothing"])
async def test_unknown_names_are_404(serve: Serve, path: str) -> None:
    answer = await (await serve()).client.get(path)
    assert answer.status == 404
    assert answer.json()["error"] == "not_found"
    assert repr(path.rsplit("/", 1)[1]) in answer.json()["message"]


async def test_bundles_gathered_from_the_clusters(serve: Serve) -> None:
    client = (await serve()).client
    answer = await client.get("/api/v1/bundles")
    assert answer.json() == {
        "items": [
            {"name": "base", "clusters": 1, "states": {"ready": 1}, "revisions": {fakes.SHA: 1}},
            {
                "name": "web",
                "clusters": 2,
                "states": {"ready": 1, "degraded": 1},
                "revisions": {fakes.SHA: 2},
            },
        ]
    }
    web = (await client.get("/api/v1/bundles/web")).json()
    assert web["states"] == {"ready": 1, "degraded": 1}
    assert [(row["cluster"], row["state"]) for row in web["clusters"]] == [
        ("eu-1", "ready"),
        ("us-1", "degraded"),
    ]


async def test_sync_request_queues_the_cluster(serve: Serve) -> None:
    fleet = fakes.FakeFleet()
    client = (await serve(fleet=fleet, token=TOKEN)).client
    answer = await client.post("/api/v1/clusters/us-1/sync", token=TOKEN)
    assert (answer.status, answer.json()) == (202, {"cluster": "us-1", "queued": True})
    assert fleet.requested == [ClusterName("us-1")]
    answer = await client.post("/api/v1/clusters/nowhere/sync", token=TOKEN)
    assert answer.status == 404
    assert fleet.requested == [ClusterName("us-1")]


async def test_fake_fleet_repr() -> None:
    fleet = fakes.FakeFleet()
    fleet.request_sync(ClusterName("eu-1"))
    assert repr(fleet) == "FakeFleet(3 clusters, 1 syncs requested)"
