"""Faults per cluster (in-process and through the admin endpoint), and request counters."""

import random
from typing import Any

import aiohttp
import pytest

from fleet.sim import faults, serving
from tests.support.simulator import ApiSession

CMS = "/api/v1/namespaces/default/configmaps"


def test_verdicts_follow_the_settings_and_the_seed() -> None:
    assert faults.verdict(faults.NONE, random.Random(1)) == (faults.Verdict.SERVE, 0)
    down = faults.Faults(outage=faults.Outage.UNAVAILABLE)
    assert faults.verdict(down, random.Random(1)) == (faults.Verdict.UNAVAILABLE, 503)
    reset = faults.Faults(outage=faults.Outage.RESET)
    assert faults.verdict(reset, random.Random(1))[0] is faults.Verdict.RESET
    flaky = faults.Faults(error_rate=0.5, error_codes=(429,))
    first, second = random.Random(3), random.Random(3)
    run = [faults.verdict(flaky, first) for _ in range(20)]
    assert run == [faults.verdict(flaky, second) for _ in range(20)]
    assert set(run) == {(faults.Verdict.SERVE, 0), (faults.Verdict.FAIL, 429)}


@pytest.mark.parametrize(
    "changes",
    [{"latency": -1}, {"error_rate": 2}, {"error_codes": [404]}, {"drop_watches_after": 0},
     {"outage": "sometimes"}, {"colour": "red"}, {"latency": "slow"}, {"error_codes": "500"}],
)  # fmt: skip
def test_bad_fault_settings_name_the_setting(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(changes))):
        faults.NONE.updated(changes)


async def test_an_error_rate_of_one_fails_every_request_with_retry_after(
    sim: serving.Simulator, api: ApiSession
) -> None:
    sim.set_faults(faults.Faults(error_rate=1.0, error_codes=(429,), retry_after=3), "sim-000")
    response = await api.request("GET", CMS)
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["details"]["retryAfterSeconds"] == 3
    async with ApiSession(sim, "sim-001") as other:
        assert (await other.request("GET", CMS)).status == 200


async def test_outages(sim: serving.Simulator, api: ApiSession) -> None:
    sim.set_faults(faults.Faults(outage=faults.Outage.UNAVAILABLE), "sim-000")
    response = await api.request("GET", CMS)
    assert response.status == 503
    assert response.json()["reason"] == "ServiceUnavailable"
    sim.set_faults(faults.Faults(outage=faults.Outage.RESET), "sim-000")
    with pytest.raises(aiohttp.ClientError):
        await api.request("GET", CMS)
    sim.set_faults(faults.NONE, "sim-000")
    assert (await api.request("GET", CMS)).status == 200


async def test_latency_is_added_before_the_answer(sim: serving.Simulator, api: ApiSession) -> None:
    sim.set_faults(faults.Faults(latency=0.01), "sim-000")
    assert sim.faults("sim-000").latency == 0.01
    assert (await api.request("GET", CMS)).status == 200


async def test_counters_count_verbs_and_writes(sim: serving.Simulator, api: ApiSession) -> None:
    await api.request("GET", "/api/v1")
    await api.request("POST", CMS, body={"metadata": {"name": "a"}})
    await api.request("GET", f"{CMS}/a")
    await api.request("GET", CMS)
    await api.request("PUT", f"{CMS}/a", body={"metadata": {"name": "a"}, "data": {}})
    await api.request("PATCH", f"{CMS}/a", body={}, content_type="application/merge-patch+json")
    await api.request(
        "PATCH", f"{CMS}/b", data=b"{}", content_type="application/apply-patch+yaml",
        params={"fieldManager": "m", "dryRun": "All"},
    )  # fmt: skip
    await api.request("DELETE", f"{CMS}/a")
    counts = sim.counters("sim-000")
    assert counts.to_json() == {
        "get": 1, "list": 1, "watch": 0, "create": 1, "update": 1, "patch": 1, "apply": 0,
        "delete": 1, "discovery": 1, "dry_run": 1, "writes": 4,
    }  # fmt: skip
    assert repr(counts).startswith("CounterSnapshot(get=1, ")
    sim.reset_counters("sim-000")
    assert sim.counters("sim-000").writes == 0
    assert repr(sim.cluster("sim-000").counters) == "Counters(0 requests)"


class Admin:
    def __init__(self, sim: serving.Simulator, session: aiohttp.ClientSession) -> None:
        self.base = sim.base_url
        self.token = sim.tokens.admin
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        async with self.session.request(
            method, self.base + path, json=body, headers=headers
        ) as response:
            return response.status, await response.json()


async def test_the_admin_endpoint(sim: serving.Simulator, api: ApiSession) -> None:
    async with aiohttp.ClientSession() as session:
        admin = Admin(sim, session)
        assert (await admin.call("GET", "/admin/clusters", token="wrong"))[0] == 401
        status, listed = await admin.call("GET", "/admin/clusters")
        assert status == 200
        assert listed[0] == {"name": "sim-000", "url": sim.url("sim-000"),
                             "labels": {"env": "dev", "region": "eu-west"}}  # fmt: skip
        status, changed = await admin.call(
            "PATCH", "/admin/clusters/sim-000/faults", {"error_rate": 1, "error_codes": [500]}
        )
        assert (status, changed["error_rate"], changed["error_codes"]) == (200, 1.0, [500])
        assert (await api.request("GET", CMS)).status == 500
        assert (await admin.call("PUT", "/admin/clusters/sim-000/faults", {}))[1]["error_rate"] == 0
        assert (await admin.call("PATCH", "/admin/clusters/sim-000/faults", {"bad": 1}))[0] == 400
        assert (await admin.call("PATCH", "/admin/clusters/sim-000/faults", [1]))[0] == 400
        assert (await admin.call("GET", "/admin/clusters/nope/faults"))[0] == 404
        await api.request("GET", CMS)
        status, counters = await admin.call("GET", "/admin/clusters/sim-000/counters")
        assert counters["list"] == 1
        assert (await admin.call("DELETE", "/admin/counters"))[1]["sim-000"]["list"] == 0
        created = await api.request("POST", CMS, body={"metadata": {"name": "a"}})
        version = int(created.json()["metadata"]["resourceVersion"])
        status, compacted = await admin.call("POST", "/admin/clusters/sim-000/compact", {})
        assert compacted["oldestResumable"] == version
        assert (await admin.call("POST", "/admin/clusters/sim-000/compact", {"window": 0}))[
            0
        ] == 400
        status, everywhere = await admin.call("PATCH", "/admin/faults", {"latency": 0.001})
        assert everywhere == {"clusters": 2, "changed": ["latency"]}
        assert sim.faults("sim-001").latency == 0.001
        status, described = await admin.call("GET", "/admin/clusters/sim-001")
        assert described["faults"]["latency"] == 0.001
        assert described["window"] == 1000
