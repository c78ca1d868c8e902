"""Requests to one cluster: rate limit, Retry-After, retries only where safe, errors as
values, connection state, and no credential in anything printed. Waits run on a fake
clock; the requests are real HTTP to the simulator."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from fleet.clients import requesting
from fleet.clients.kubeclient import KubeClient
from fleet.clients.metering import ClientMetrics, Verb
from fleet.clients.requesting import Call
from fleet.sim import faults, serving
from fleet.structs import errors
from fleet.structs.kube import ConnectionPhase
from fleet.structs.objects import ClusterName, ObjectKey
from tests.clients import support
from tests.clients.support import CONFIGMAP
from tests.support.clock import FakeClock

NAMESPACE = Call(Verb.GET, "GET", "/api/v1/namespaces/default", what="get of Namespace default")


def failing(code: int, *, retry_after: int = 1) -> faults.Faults:
    return faults.Faults(error_rate=1.0, error_codes=(code,), retry_after=retry_after)


async def test_the_rate_limit_spreads_a_burst_at_qps(
    sim: serving.Simulator, inventory: Path
) -> None:
    clock = FakeClock()
    async with support.session(inventory, "sim-000", clock=clock, qps=2.0, burst=3) as session:
        sim.reset_counters()
        tasks = [asyncio.create_task(session.call(NAMESPACE)) for _ in range(7)]

        def served(count: int) -> Callable[[], bool]:
            return lambda: sim.counters("sim-000")["get"] == count

        await support.eventually(served(3))
        for count in (4, 5, 6, 7):
            await clock.advance(0.5)
            await support.eventually(served(count))
        await asyncio.gather(*tasks)
        assert session.meter.requests[Verb.GET] == 7


async def test_429_waits_as_long_as_retry_after_says(
    sim: serving.Simulator, inventory: Path
) -> None:
    clock = FakeClock()
    async with support.session(inventory, "sim-000", clock=clock, retry_max=30.0) as session:
        sim.set_faults(failing(429, retry_after=7), "sim-000")
        task = asyncio.create_task(session.call(NAMESPACE))  # not even safe: 429 is
        await support.eventually(lambda: clock.pending == 1)
        assert session.meter.requests[Verb.GET] == 1
        await clock.advance(6.9)
        assert session.meter.requests[Verb.GET] == 1
        sim.set_faults(faults.NONE, "sim-000")
        await clock.advance(0.1)
        answer = await task
        assert answer["metadata"]["name"] == "default"
        assert session.meter.requests[Verb.GET] == 2


@pytest.mark.parametrize(("safe", "attempts"), [(True, 4), (False, 1)])
async def test_only_safe_requests_are_retried_after_a_5xx(
    sim: serving.Simulator, inventory: Path, *, safe: bool, attempts: int
) -> None:
    clock = FakeClock()
    async with support.session(inventory, "sim-000", clock=clock, retries=3) as session:
        sim.set_faults(failing(503), "sim-000")
        call = Call(Verb.GET, "GET", NAMESPACE.path, what=NAMESPACE.what, safe=safe)
        task = asyncio.create_task(session.call(call))
        while not task.done():
            await clock.advance(1.0)
            await asyncio.sleep(0.01)
        with pytest.raises(errors.ApiError) as raised:
            task.result()
        assert (raised.value.code, raised.value.retryable) == (503, True)
        assert session.meter.requests[Verb.GET] == attempts
        assert session.connection.state.phase is ConnectionPhase.UNREACHABLE
        assert session.connection.state.failures == attempts


async def test_a_delete_is_retried_only_with_a_uid_precondition(
    sim: serving.Simulator, inventory: Path
) -> None:
    clock = FakeClock()
    key = ObjectKey("", "ConfigMap", "default", "gone")
    async with support.connected(inventory, "sim-000", clock=clock, retries=2) as client:
        await client.resource(CONFIGMAP)
        sim.set_faults(failing(500), "sim-000")
        with pytest.raises(errors.ApiError):
            await client.delete(CONFIGMAP, key, uid=None)
        assert client.meter.requests[Verb.DELETE] == 1
        task = asyncio.create_task(client.delete(CONFIGMAP, key, uid="1234"))
        await support.eventually(lambda: client.meter.requests[Verb.DELETE] == 2)
        sim.set_faults(faults.NONE, "sim-000")
        await clock.advance(1.0)
        assert await task is False  # the retry found nothing to delete
        assert client.meter.requests[Verb.DELETE] == 3


async def test_refusals_carry_the_servers_status(sim: serving.Simulator, inventory: Path) -> None:
    async with support.connected(inventory, "sim-000") as client:
        stored = await client.apply(
            support.manifest(CONFIGMAP, "a"), field_manager="fleet", force=False
        )
        with pytest.raises(errors.ApiError) as conflict:
            await client.apply(
                support.manifest(CONFIGMAP, "a", value="2"), field_manager="other", force=False
            )
        assert (conflict.value.code, conflict.value.reason, conflict.value.retryable) == (
            409,
            "Conflict",
            True,
        )
        assert conflict.value.causes == ('.data.value: conflict with "fleet"',)
        assert str(conflict.value).startswith(
            "cluster sim-000: apply of ConfigMap default/a: Apply failed"
        )
        with pytest.raises(errors.ApiError) as wrong_uid:
            await client.delete(CONFIGMAP, ObjectKey.from_manifest(stored), uid="not-its-uid")
        assert wrong_uid.value.code == 409
        invalid = support.manifest(CONFIGMAP, "Not_A_Name")
        with pytest.raises(errors.ApiError) as refused:
            await client.apply(invalid, field_manager="fleet", force=True)
        assert (refused.value.code, refused.value.reason, refused.value.retryable) == (
            422,
            "Invalid",
            False,
        )
        no_namespace = support.manifest(CONFIGMAP, "b", namespace="")
        with pytest.raises(errors.ApiError, match="names no namespace"):
            await client.apply(no_namespace, field_manager="fleet", force=True)
        assert await client.delete(
            CONFIGMAP, ObjectKey.from_manifest(stored), uid=stored["metadata"]["uid"]
        )


async def test_a_dry_run_stores_nothing(sim: serving.Simulator, inventory: Path) -> None:
    async with support.connected(inventory, "sim-000") as client:
        preview = await client.apply(support.manifest(CONFIGMAP, "dry"), field_manager="fleet",
                                     force=True, dry_run=True)  # fmt: skip
        assert preview["data"] == {"value": "1"}
        assert sim.counters("sim-000")["dry_run"] == 1
        assert sim.counters("sim-000").writes == 0


async def test_a_wrong_token_makes_the_cluster_unreachable_and_never_shows(
    sim: serving.Simulator, inventory: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = sim.token("sim-001")
    kubeconfig = inventory.parent / "sim-001.kubeconfig"
    kubeconfig.write_text(kubeconfig.read_text().replace(token, "WRONG-TOKEN-VALUE"))
    client = await KubeClient.open(
        ClusterName("sim-001"), (await support.entry(inventory, "sim-001")).access,
        settings=support.settings(inventory), metrics=ClientMetrics(CollectorRegistry()),
        clock=FakeClock(), rng=random.Random(0),
    )  # fmt: skip
    try:
        await support.eventually(lambda: client.connection.phase is ConnectionPhase.UNREACHABLE)
        state = client.connection
        assert "401 Unauthorized" in str(state.last_error)
        with pytest.raises(errors.ApiError) as refused:
            await client.resource(CONFIGMAP)
        printed = " ".join([str(refused.value), repr(client), repr(client.session),
                            repr(client.session.endpoint), str(state), caplog.text])  # fmt: skip
        assert "WRONG-TOKEN-VALUE" not in printed
        assert token not in printed
    finally:
        await client.close()


def test_a_status_body_becomes_an_api_error_and_anything_else_a_plain_one() -> None:
    status = {"kind": "Status", "code": 422, "reason": "Invalid", "message": "bad",
              "details": {"causes": [{"field": "metadata.name", "message": "Invalid value"},
                                     {"reason": "FieldValueRequired"}]}}  # fmt: skip
    error = requesting.api_error("apply of X", cluster="c", code=422, body=status)
    assert (error.code, error.reason, error.message) == (422, "Invalid", "apply of X: bad")
    assert error.causes == ("metadata.name: Invalid value", "FieldValueRequired")
    proxy = requesting.api_error(
        "get of Y", cluster="c", code=502, body=b"<html>", phrase="Bad Gateway"
    )
    assert (proxy.code, proxy.reason, proxy.message) == (
        502,
        "BadGateway",
        "get of Y: HTTP 502 Bad Gateway",
    )


async def test_a_client_cancelled_while_starting_leaves_nothing_running(
    sim: serving.Simulator, inventory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = KubeClient.start

    async def cancelled_right_after(self: KubeClient) -> None:
        await started(self)
        raise asyncio.CancelledError  # as if the opener was cancelled just then

    monkeypatch.setattr(KubeClient, "start", cancelled_right_after)
    before = asyncio.all_tasks()
    with pytest.raises(asyncio.CancelledError):
        await KubeClient.open(
            ClusterName("sim-000"), (await support.entry(inventory, "sim-000")).access,
            settings=support.settings(inventory), metrics=ClientMetrics(CollectorRegistry()),
            clock=FakeClock(), rng=random.Random(0),
        )  # fmt: skip
    left = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert left == []
