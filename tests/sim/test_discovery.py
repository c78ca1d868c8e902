"""Discovery, OpenAPI v3 and authentication: what clients read before anything else."""

import base64
import stat
from pathlib import Path

import pytest
import yaml

from fleet.sim import config, credentials, routing, serving
from tests.support.simulator import ApiSession


async def test_version_and_discovery_documents(api: ApiSession) -> None:
    version = (await api.request("GET", "/version")).json()
    assert (version["major"], version["minor"]) == ("1", "32")
    assert (await api.request("GET", "/api")).json()["versions"] == ["v1"]
    groups = (await api.request("GET", "/apis")).json()
    names = [g["name"] for g in groups["groups"]]
    assert names == ["apps", "batch", "rbac.authorization.k8s.io", "coordination.k8s.io",
                     "apiextensions.k8s.io"]  # fmt: skip
    core = (await api.request("GET", "/api/v1")).json()
    entries = {r["name"]: r for r in core["resources"]}
    assert entries["configmaps"]["shortNames"] == ["cm"]
    assert entries["namespaces/status"]["verbs"] == ["get", "patch", "update"]
    apps = {r["name"]: r for r in (await api.request("GET", "/apis/apps/v1")).json()["resources"]}
    assert apps["deployments/scale"]["group"] == "autoscaling"
    assert (await api.request("GET", "/apis/nope/v1")).status == 404
    assert (await api.request("GET", "/apis/nope")).status == 404
    assert (await api.request("POST", "/api/v1", body={})).status == 405


async def test_aggregated_discovery_requests_get_legacy_json(api: ApiSession) -> None:
    accept = (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
        "application/json"
    )
    response = await api.request("GET", "/apis", headers={"Accept": accept})
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["kind"] == "APIGroupList"


async def test_openapi_v3_declares_field_validation_on_patch(api: ApiSession) -> None:
    root = (await api.request("GET", "/openapi/v3")).json()
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/apps/v1?hash=")
    document = (await api.request("GET", url.split("?")[0])).json()
    operation = document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"][
        "patch"
    ]
    assert operation["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert {"name": "fieldValidation", "in": "query"}.items() <= operation["parameters"][2].items()
    assert (await api.request("GET", "/openapi/v3/apis/nope/v1")).status == 404
    assert (await api.request("GET", "/openapi/v2")).status == 404


async def test_tokens_are_per_cluster(sim: serving.Simulator) -> None:
    path = "/api/v1/namespaces"
    async with ApiSession(sim, "sim-000", token=sim.token("sim-001")) as wrong:
        response = await wrong.request("GET", path)
        assert response.status == 401
        assert response.json()["reason"] == "Unauthorized"
        assert (await wrong.request("GET", "/version")).status == 200
    async with ApiSession(sim, "sim-000", token="") as anonymous:
        assert (await anonymous.request("GET", path)).status == 401
        assert (await anonymous.request("GET", "/healthz")).status == 200
    async with ApiSession(sim, "sim-001") as right:
        assert (await right.request("GET", path)).status == 200
    assert sim.token("sim-000") != sim.token("sim-001")
    with pytest.raises(KeyError):
        sim.token("sim-999")


async def test_unknown_clusters_and_paths_are_404(api: ApiSession, sim: serving.Simulator) -> None:
    assert repr(api) == f"ApiSession({sim.url('sim-000')}, open)"
    assert (await api.request("GET", "/nothing/here")).status == 404
    assert (await api.request("GET", "/api/v1/widgets")).status == 404
    assert (await api.request("GET", "/api/v1/namespaces/default/namespaces/x")).status == 404
    assert (await api.request("GET", "/api/v1/configmaps/x")).status == 404
    assert (await api.request("GET", "/api/v1/namespaces/a/b/c/d/e")).status == 404
    assert not sim.knows("sim-002")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/namespaces/shop", routing.Target(
            routing.Addressed.OBJECTS, version="v1", plural="namespaces", name="shop")),
        ("/api/v1/namespaces/shop/status", routing.Target(
            routing.Addressed.OBJECTS, version="v1", plural="namespaces", name="shop",
            subresource="status")),
        ("/api/v1/namespaces/shop/configmaps", routing.Target(
            routing.Addressed.OBJECTS, version="v1", plural="configmaps", namespace="shop")),
        ("/apis/apps/v1/namespaces/a/deployments/web/scale", routing.Target(
            routing.Addressed.OBJECTS, group="apps", version="v1", plural="deployments",
            namespace="a", name="web", subresource="scale")),
        ("/openapi/v3/apis/apps/v1", routing.Target(
            routing.Addressed.OPENAPI_DOCUMENT, document="apis/apps/v1")),
        ("/livez", routing.Target(routing.Addressed.HEALTH)),
        ("", routing.UNKNOWN),
    ],
)  # fmt: skip
def test_paths(path: str, expected: routing.Target) -> None:
    assert routing.parse(path) == expected


async def test_files_for_clients(tmp_path: Path) -> None:
    settings = config.SimConfig(clusters=3, labels=config.LabelSpread.parse("env=dev,prod"))
    async with serving.run(settings) as sim:
        inventory = await sim.write_files(tmp_path)
        assert inventory.read_text() == (
            "clusters:\n"
            "  - name: sim-000\n    kubeconfig: sim-000.kubeconfig\n    labels: {env: dev}\n"
            "  - name: sim-001\n    kubeconfig: sim-001.kubeconfig\n    labels: {env: prod}\n"
            "  - name: sim-002\n    kubeconfig: sim-002.kubeconfig\n    labels: {env: dev}\n"
        )
        kubeconfig = yaml.safe_load((tmp_path / "sim-001.kubeconfig").read_text())
        cluster = kubeconfig["clusters"][0]["cluster"]
        assert cluster["server"] == sim.url("sim-001")
        assert base64.b64decode(cluster["certificate-authority-data"]) == sim.ca_pem
        assert kubeconfig["users"][0]["user"]["token"] == sim.token("sim-001")
        assert kubeconfig["current-context"] == "sim-001"
        assert (tmp_path / credentials.ADMIN_FILE).read_text().strip() == sim.tokens.admin
        for secret in (tmp_path / "sim-000.kubeconfig", tmp_path / credentials.ADMIN_FILE):
            assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert sim.token("sim-000") not in repr(sim) + repr(sim.tokens)
        assert repr(sim) == f"Simulator({sim.base_url}, 3 clusters, 0 started)"


@pytest.mark.parametrize(
    ("spec", "message"),
    [("env", "expected key=value"), ("env=a;env=b", "given twice"), ("=a", "expected")],
)
def test_label_spread_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config.LabelSpread.parse(spec)


@pytest.mark.parametrize(
    "changes",
    [{"clusters": 0}, {"port": 70000}, {"rollout_delay": -1}, {"history_window": 0},
     {"bookmark_interval": 0}, {"name_prefix": "Bad_Prefix"}],
)  # fmt: skip
def test_settings_are_checked(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(changes))):
        config.SimConfig(**changes)  # type: ignore[arg-type]


def test_names_are_wide_enough() -> None:
    assert config.SimConfig(clusters=1001).names()[-1] == "sim-1000"
    assert config.SimConfig(clusters=2).names() == ("sim-000", "sim-001")
