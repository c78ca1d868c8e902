"""Server-side printing: Tables for clients that ask for them, as kubectl get does."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleet.sim import tables
from tests.sim.manifests import widget_crd
from tests.support.simulator import ApiSession

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.mark.parametrize(
    ("seconds", "printed"),
    [(0, "0s"), (-1, "0s"), (-5, "<invalid>"), (119, "119s"), (125, "2m5s"), (180, "3m"),
     (700, "11m"), (3 * 3600 + 60, "3h1m"), (5 * 3600, "5h"), (20 * 3600, "20h"),
     (50 * 3600, "2d2h"), (72 * 3600, "3d"), (30 * 86400, "30d"), (800 * 86400, "2y70d"),
     (3000 * 86400, "8y")],
)  # fmt: skip
def test_ages_print_like_kubectl(seconds: int, printed: str) -> None:
    assert tables.human_duration(seconds) == printed


def test_cells_follow_the_columns() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    created = (now - timedelta(seconds=42)).strftime("%Y-%m-%dT%H:%M:%SZ")
    deployment: dict[str, Any] = {
        "metadata": {"name": "web", "creationTimestamp": created},
        "spec": {"replicas": 3},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    printed = tables.table(
        tables.COLUMNS["deployments.apps"], [deployment], now=now, metadata={}, headers=False
    )
    assert "columnDefinitions" not in printed
    assert printed["rows"][0]["cells"] == ["web", "2/3", 3, 2, "42s"]
    assert printed["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


async def test_lists_and_gets_answer_with_tables_when_asked(api: ApiSession) -> None:
    listed = await api.request("GET", "/api/v1/namespaces", headers={"Accept": TABLE})
    table = listed.json()
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert table["rows"][0]["cells"][:2] == ["default", "Active"]
    assert table["metadata"]["resourceVersion"]
    one = await api.request("GET", "/api/v1/namespaces/default", headers={"Accept": TABLE})
    assert len(one.json()["rows"]) == 1
    plain = await api.request("GET", "/api/v1/namespaces")
    assert plain.json()["kind"] == "NamespaceList"


async def test_custom_resources_get_their_printer_columns(api: ApiSession) -> None:
    crd = widget_crd(
        {"name": "v1", "served": True, "storage": True,
         "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                                      {"name": "Odd", "type": "string", "jsonPath": ".x[0]"}]},
    )  # fmt: skip
    await api.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=crd)
    widgets = "/apis/example.com/v1/namespaces/default/widgets"
    await api.request("POST", widgets, body={"metadata": {"name": "w"}, "spec": {"size": 3}})
    table = (await api.request("GET", widgets, headers={"Accept": TABLE})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Age"]
    assert table["rows"][0]["cells"][:2] == ["w", "3"]


async def test_a_watch_sends_column_definitions_once(api: ApiSession) -> None:
    path = "/api/v1/namespaces/default/configmaps"
    await api.request("POST", path, body={"metadata": {"name": "a"}})
    seen = []
    async for event in api.watch(path, headers={"Accept": TABLE}):
        seen.append(event["object"])
        if len(seen) == 2:
            break
    assert [obj["kind"] for obj in seen] == ["Table", "Table"]
    assert "columnDefinitions" in seen[0]
    assert "columnDefinitions" not in seen[1]
    assert seen[1]["rows"][0]["cells"][0] == "kube-root-ca.crt"
