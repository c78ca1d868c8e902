"""Nothing a client sends crashes the simulator or touches another cluster."""

import json
import random
from typing import Any

import pytest

from fleet.sim import serving
from tests.sim.manifests import deployment
from tests.support.simulator import ApiSession

CMS = "/api/v1/namespaces/default/configmaps"
PATHS = [
    CMS, f"{CMS}/a", f"{CMS}/a/status", "/api/v1/namespaces/default", "/api/v1/namespaces",
    "/apis/apps/v1/namespaces/default/deployments/web", "/apis/apps/v1/namespaces/default/"
    "deployments/web/scale", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y.z",
    "/api/v1/namespaces/default/services/web", "/api", "/apis/batch/v1/jobs",
]  # fmt: skip
CONTENT_TYPES = [
    "application/json", "application/yaml", "application/merge-patch+json",
    "application/json-patch+json", "application/strategic-merge-patch+json",
    "application/apply-patch+yaml", "application/vnd.kubernetes.protobuf", "text/plain",
]  # fmt: skip


def random_value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 4 else 5)
    scalars: list[Any] = [None, True, 1, -3.5, "x", "", "a" * 300, "ünï", [], {}]
    if choice < 5:
        return rng.choice(scalars)
    if choice < 7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = [
        "apiVersion",
        "kind",
        "metadata",
        "name",
        "namespace",
        "labels",
        "spec",
        "data",
        "status",
        "replicas",
        "op",
        "path",
        "value",
        "managedFields",
        "finalizers",
        "$patch",
    ]
    return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


def mutated(rng: random.Random, obj: Any, depth: int = 0) -> Any:
    """A copy of `obj` with a few values replaced by random ones, at any depth."""
    if isinstance(obj, dict) and obj and depth < 8:
        copy = dict(obj)
        key = rng.choice(list(copy))
        copy[key] = random_value(rng) if rng.random() < 0.3 else mutated(rng, copy[key], depth + 1)
        return copy
    if isinstance(obj, list) and obj and depth < 8:
        return [mutated(rng, item, depth + 1) if rng.random() < 0.5 else item for item in obj]
    return random_value(rng) if rng.random() < 0.5 else obj


VALID = {
    f"{CMS}/a": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
                 "data": {"k": "v"}},
    "/apis/apps/v1/namespaces/default/deployments/web": deployment(),
    "/apis/apps/v1/namespaces/default/deployments/web/scale": {"spec": {"replicas": 3}},
    "/apis/apps/v1/namespaces/default/deployments/web/status": {**deployment(),
                                                                "status": {"replicas": 1}},
    "/api/v1/namespaces/default/services/web": {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}},
}  # fmt: skip


def random_request(rng: random.Random) -> tuple[str, str, bytes]:
    """A method, a path and a body: mostly a damaged version of a valid write."""
    method = rng.choice(["GET", "POST", "PUT", "PATCH", "PATCH", "PUT", "DELETE", "OPTIONS"])
    if rng.random() < 0.7:
        path, valid = rng.choice(list(VALID.items()))
        return method, path, json.dumps(mutated(rng, valid)).encode()
    return method, rng.choice(PATHS), random_body(rng)


def random_body(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
    if kind == 1:
        return json.dumps(random_value(rng)).encode()[: rng.randrange(1, 400)]
    if kind == 2:
        operations = [
            {"op": rng.choice(["add", "remove", "replace", "move", "copy", "test", "x"]),
             "path": rng.choice(["/spec/replicas", "/metadata/labels", "/data/k", "", "/-",
                                 "/spec/template/spec/containers/0", "/status"]),
             "from": "/metadata/name", "value": random_value(rng)}
            for _ in range(rng.randrange(1, 4))
        ]  # fmt: skip
        return json.dumps(operations).encode()
    return json.dumps(mutated(rng, rng.choice(list(VALID.values())))).encode()


def content_type(rng: random.Random, method: str) -> str:
    """Mostly a type that suits the method, sometimes any."""
    if rng.random() < 0.2:
        return rng.choice(CONTENT_TYPES)
    return rng.choice(CONTENT_TYPES[2:6] if method == "PATCH" else CONTENT_TYPES[:2])


async def seed(api: ApiSession) -> None:
    """Objects for the random requests to hit: their subresources and patches get exercised."""
    await api.request("POST", CMS, body={"metadata": {"name": "a"}, "data": {"k": "v"}})
    await api.request(
        "PATCH", "/apis/apps/v1/namespaces/default/deployments/web",
        data=json.dumps(deployment()).encode(), content_type="application/apply-patch+yaml",
        params={"fieldManager": "seed"},
    )  # fmt: skip
    await api.request(
        "POST", "/api/v1/namespaces/default/services", body={"metadata": {"name": "web"}}
    )


async def test_random_requests_get_status_answers_and_spare_the_other_cluster(
    sim: serving.Simulator, api: ApiSession
) -> None:
    rng = random.Random(20261122)
    async with ApiSession(sim, "sim-001") as other:
        await other.request("POST", CMS, body={"metadata": {"name": "safe"}})
        before = sim.cluster("sim-001").store.resource_version
        for round_ in range(1200):
            if round_ % 25 == 0:
                await seed(api)
            method, path, body = random_request(rng)
            response = await api.request(
                method,
                path,
                data=body,
                content_type=content_type(rng, method),
                params={"fieldManager": "fuzz"} if rng.random() < 0.7 else {},
            )
            assert response.status < 500, response
            if response.status >= 400:
                assert response.json()["kind"] == "Status", response
        assert sim.cluster("sim-001").store.resource_version == before
        assert (await other.request("GET", f"{CMS}/safe")).status == 200


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"{" * 5000, 400),
        (b"[" * 150 + b"]" * 150, 400),
        (b'{"metadata": {"name": "a"}, "data": {"x": NaN}}', 400),
        (b"\xff\xfe", 400),
        (b"", 400),
    ],
)
async def test_hostile_json_bodies_are_400(api: ApiSession, data: bytes, code: int) -> None:
    response = await api.request("POST", CMS, data=data)
    assert response.status == code, response


async def test_bodies_over_three_mebibytes_are_413(api: ApiSession) -> None:
    big = {"metadata": {"name": "big"}, "data": {"blob": "x" * (3 * 1024 * 1024)}}
    response = await api.request("POST", CMS, body=big)
    assert response.status == 413
    assert response.json()["reason"] == "RequestEntityTooLarge"
    assert (await api.request("GET", f"{CMS}/big")).status == 404


async def test_unreadable_protobuf_and_cbor_bodies_are_415(api: ApiSession) -> None:
    for data, content_type in (
        (b"k8s\x00\n", "application/vnd.kubernetes.protobuf"),
        (b"\xd9\xd9\xf7", "application/cbor"),
    ):
        response = await api.request("POST", CMS, data=data, content_type=content_type)
        assert response.status == 415
        assert response.json()["reason"] == "UnsupportedMediaType"


async def test_hostile_yaml_is_400(api: ApiSession) -> None:
    for data in (b"a: !!python/object:os.system x", b"a: [1\n", b"? [a]\n: b\n", b"a: !!set {x}"):
        response = await api.request(
            "PATCH", f"{CMS}/a", data=data, content_type="application/apply-patch+yaml",
            params={"fieldManager": "m"},
        )  # fmt: skip
        assert response.status == 400, (data, response)
