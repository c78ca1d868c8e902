"""The simulator's Lease endpoints behave as the API server's do for what leader
election relies on: GET and POST, and PUT only with the current resourceVersion."""

from __future__ import annotations

from tests.leader.support import LEASE
from tests.support import simulator

LEASES = LEASE.rsplit("/", 1)[0]
SPEC = {"holderIdentity": "a", "leaseDurationSeconds": 15, "leaseTransitions": 0}


async def test_create_get_and_conditional_update(api: simulator.ApiSession) -> None:
    assert (await api.request("GET", LEASE)).status == 404
    created = await api.request("POST", LEASES, body={"metadata": {"name": "fleet"}, "spec": SPEC})
    assert created.status == 201, created
    again = await api.request("POST", LEASES, body={"metadata": {"name": "fleet"}, "spec": SPEC})
    assert (again.status, again.json()["reason"]) == (409, "AlreadyExists")
    lease = (await api.request("GET", LEASE)).json()
    assert lease["spec"] == SPEC
    renewed = {**lease, "spec": {**SPEC, "renewTime": "2030-01-01T00:00:02.000000Z"}}
    updated = await api.request("PUT", LEASE, body=renewed)
    assert updated.status == 200, updated
    version = updated.json()["metadata"]["resourceVersion"]
    assert version != lease["metadata"]["resourceVersion"]
    stale = await api.request(
        "PUT", LEASE, body={**renewed, "spec": {**SPEC, "holderIdentity": "b"}}
    )
    assert (stale.status, stale.json()["reason"]) == (409, "Conflict")
    assert "the object has been modified" in stale.json()["message"]
    assert (await api.request("GET", LEASE)).json()["spec"]["holderIdentity"] == "a"


async def test_an_update_without_a_resource_version_is_refused(api: simulator.ApiSession) -> None:
    # Leases, unlike ConfigMaps, allow no unconditional update (AllowUnconditionalUpdate).
    await api.request("POST", LEASES, body={"metadata": {"name": "fleet"}, "spec": SPEC})
    blind = {"metadata": {"name": "fleet"}, "spec": {**SPEC, "holderIdentity": "b"}}
    refused = await api.request("PUT", LEASE, body=blind)
    assert refused.status == 422, refused
    status = refused.json()
    assert status["reason"] == "Invalid"
    assert status["message"] == (
        'leases.coordination.k8s.io "fleet" is invalid: metadata.resourceVersion: Invalid value:'
        " 0x0: must be specified for an update"
    )
    assert status["details"]["causes"][0]["field"] == "metadata.resourceVersion"
    configmaps = "/api/v1/namespaces/fleet-system/configmaps"
    await api.request("POST", configmaps, body={"metadata": {"name": "web"}})
    blind_map = {"metadata": {"name": "web"}, "data": {"a": "1"}}
    assert (await api.request("PUT", f"{configmaps}/web", body=blind_map)).status == 200
