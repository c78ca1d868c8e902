"""The status API over a real controller: every endpoint answers what the OpenAPI
document describes, with the engine's own views (bundles, objects, drift, trace ids)."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from prometheus_client import CollectorRegistry

from fleet.api import probing, serving, webhooks
from fleet.structs.fleetview import ClusterState
from fleet.structs.history import SyncTrigger
from fleet.structs.settings import ApiSettings, Secret, WebhookSettings
from tests.api import contract, fakes
from tests.clients import support
from tests.engine import apps, harness

TOKEN = "api-token-0123456789abcdef"


async def test_every_endpoint_over_a_real_controller(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=apps.web(), clusters=3) as run:
        await run.converged()
        # Drift, so that the drift endpoints and the cluster's recent drift have something.
        async with support.Writer(run.sim) as other:
            scaled = {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "web"},
                "spec": {"replicas": 7},
            }
            assert await other.apply("sim-000", scaled) in (200, 201)
        # Ready again after the sync the drift started (the rollout of the revert done).
        await run.until(
            lambda: (
                run.view("sim-000").trigger is SyncTrigger.DRIFT
                and run.view("sim-000").state is ClusterState.READY
            )
        )
        await run.converged()

        settings = ApiSettings(listen="127.0.0.1:0", token=Secret(TOKEN))
        registry = CollectorRegistry()
        app = serving.application(
            settings,
            fleet=run.controller.board,
            history_store=run.history,
            webhook=webhooks.GitWebhook(
                WebhookSettings(), trigger=fakes.RecordingTrigger(), registry=registry
            ),
            readiness=probing.Readiness(),
            registry=registry,
        )
        async with serving.ApiServer(app, settings) as server, aiohttp.ClientSession() as http:

            async def get(path: str) -> object:
                async with http.get(server.url + path) as answer:
                    body = await answer.read()
                    route = path.partition("?")[0]
                    contract.check("GET", route, answer.status, answer.content_type, body)
                    assert answer.status == 200, (path, body)
                    return await answer.json()

            fleet = await get("/api/v1/fleet")
            assert fleet["clusters"]["by_state"]["ready"] == 3  # type: ignore[index]
            clusters = await get("/api/v1/clusters?selector=env%3Dprod")
            assert [c["name"] for c in clusters["items"]] == ["sim-002"]  # type: ignore[index]
            one = await get("/api/v1/clusters/sim-000")
            assert one["trace_id"]  # type: ignore[index]
            assert one["drift"][0]["fields"] == ["spec.replicas"]  # type: ignore[index]
            assert one["drift"][0]["field_manager"] == "tester"  # type: ignore[index]
            assert {b["name"] for b in one["bundles"]} == {"namespaces", "web"}  # type: ignore[index]
            await get("/api/v1/bundles")
            web = await get("/api/v1/bundles/web")
            assert len(web["clusters"]) == 3  # type: ignore[index]
            syncs = await get("/api/v1/syncs?cluster=sim-000")
            assert syncs["items"]  # type: ignore[index]
            drift = await get("/api/v1/drift?cluster=sim-000")
            assert drift["items"][0]["action"] == "reverted"  # type: ignore[index]
            revisions = await get("/api/v1/revisions")
            assert len(revisions["items"]) == 1  # type: ignore[index]

            async with http.post(
                server.url + "/api/v1/clusters/sim-001/sync",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as asked:
                assert asked.status == 202, await asked.text()
        await run.until(lambda: run.view("sim-001").trigger is SyncTrigger.MANUAL)
