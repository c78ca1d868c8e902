"""`fleet status`: the clusters table, one cluster, JSON, pages, and the tables' parts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fleet.cli import status
from tests.api import fakes
from tests.api.conftest import Serve
from tests.cli_client.conftest import RunFleet


async def test_table_of_clusters(serve: Serve, run_fleet: RunFleet) -> None:
    served = await serve()
    code, out, err = await run_fleet("status", "--server", served.client.base_url)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"3 clusters (1 pending, 1 ready, 1 degraded) at {fakes.SHA[:12]} of"
        " https://git.example.com/platform/fleet.git main; history in memory"
    )
    assert lines[2].split() == [
        "CLUSTER", "STATE", "REVISION", "RESULT", "DRIFT", "LAST", "SYNC", "CONNECTION",
    ]  # fmt: skip
    assert lines[3].split() == ["dev-1", "pending", "-", "-", "-", "never", "-"]
    assert lines[4].split()[:5] == ["eu-1", "ready", fakes.SHA[:12], "succeeded", "1"]
    assert lines[4].endswith("ready")
    assert lines[5].split()[:4] == ["us-1", "degraded", fakes.OLD_SHA[:12], "failed"]
    assert lines[5].endswith("unreachable: connection refused")


async def test_one_cluster(serve: Serve, run_fleet: RunFleet) -> None:
    served = await serve()
    code, out, _ = await run_fleet(
        "status", "--server", served.client.base_url, "--cluster", "eu-1"
    )
    assert code == 0
    assert "cluster:    eu-1 (env=prod,region=eu)" in out
    assert f"(trace {fakes.TRACE_ID})" in out
    assert "web     ready  healthy  c0ffee000000  1 configured" in out
    assert "web     Deployment.apps shop/web     configured  healthy" in out
    assert "Secret shop/web-credentials" in out
    assert "Deployment.apps shop/web  spec.replicas  kubectl-edit  reverted" in out


async def test_json_output_is_what_the_api_answered(serve: Serve, run_fleet: RunFleet) -> None:
    served = await serve()
    code, out, _ = await run_fleet("status", "--server", served.client.base_url, "--output", "json")
    assert code == 0
    answer = json.loads(out)
    assert [item["name"] for item in answer["clusters"]] == ["dev-1", "eu-1", "us-1"]
    assert answer["fleet"]["clusters"]["total"] == 3
    code, out, _ = await run_fleet(
        "status", "--server", served.client.base_url, "--cluster", "us-1", "--output", "json"
    )
    assert json.loads(out)["connection"]["phase"] == "unreachable"


async def test_every_page_of_clusters_is_shown(serve: Serve, run_fleet: RunFleet) -> None:
    served = await serve(fleet=fakes.FakeFleet(fakes.many(1003)))
    code, out, _ = await run_fleet("status", "--server", served.client.base_url)
    assert code == 0
    rows = [line.split()[0] for line in out.splitlines()[3:]]
    assert rows == sorted(f"c-{n:03d}" for n in range(1003))  # names sort as text


async def test_an_unknown_cluster_is_one_line(serve: Serve, run_fleet: RunFleet) -> None:
    served = await serve()
    code, out, err = await run_fleet(
        "status", "--server", served.client.base_url, "--cluster", "nowhere"
    )
    assert (code, out) == (2, "")
    assert err == "fleet: error: GET /api/v1/clusters/nowhere: no cluster named 'nowhere'\n"


NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_ages() -> None:
    def at(delta: timedelta) -> str:
        return (NOW - delta).isoformat()

    assert status._age(None, NOW) == "never"
    assert status._age(at(timedelta(seconds=42)), NOW) == "42s ago"
    assert status._age(at(timedelta(minutes=5, seconds=59)), NOW) == "5m ago"
    assert status._age(at(timedelta(hours=3)), NOW) == "3h ago"
    assert status._age(at(timedelta(days=2, hours=23)), NOW) == "2d ago"
    assert status._age(at(-timedelta(minutes=1)), NOW) == "2030-01-01 12:01:00Z"


def test_table_pads_columns_and_says_when_empty() -> None:
    assert status.table(["A", "BB"], [["long", "x"], ["s", "yy"]]) == "A     BB\nlong  x\ns     yy"
    assert status.table(["A", "B"], []) == "A  B\n(none)"
