"""``/healthz``, ``/readyz`` with checks registered through the seam, and ``/metrics``."""

from __future__ import annotations

import logging

import pytest

from fleet.api import probing
from tests.api.conftest import Serve


async def test_healthz_says_alive(serve: Serve) -> None:
    served = await serve()
    answer = await served.client.get("/healthz")
    assert (answer.status, answer.json()) == (200, {"alive": True})


async def test_readyz_without_checks_is_ready(serve: Serve) -> None:
    served = await serve()
    answer = await served.client.get("/readyz")
    assert (answer.status, answer.json()) == (200, {"ready": True, "checks": {}})


async def test_readyz_runs_every_registered_check_and_says_why_not(serve: Serve) -> None:
    served = await serve()
    mirror: dict[str, str | None] = {"reason": "no commit yet"}
    served.readiness.register("inventory", lambda: None)
    served.readiness.register("mirror", lambda: mirror["reason"])
    answer = await served.client.get("/readyz")
    assert answer.status == 503
    assert answer.json() == {
        "ready": False,
        "checks": {"inventory": "ok", "mirror": "no commit yet"},
    }
    mirror["reason"] = None
    answer = await served.client.get("/readyz")
    assert (answer.status, answer.json()["ready"]) == (200, True)


async def test_a_check_that_raises_means_not_ready_and_is_logged(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    served = await serve()

    def broken() -> str | None:
        raise RuntimeError("informer state is gone")

    served.readiness.register("informers", broken)
    with caplog.at_level(logging.ERROR, logger="fleet.api.probing"):
        answer = await served.client.get("/readyz")
    assert answer.status == 503
    assert answer.json()["checks"]["informers"].startswith("the check failed")
    assert "informer state is gone" not in answer.body.decode()
    assert "readiness check 'informers' failed" in caplog.text


def test_readiness_repr_names_its_checks() -> None:
    readiness = probing.Readiness()
    readiness.register("mirror", lambda: None)
    readiness.register("inventory", lambda: None)
    assert repr(readiness) == "<Readiness checks=['inventory', 'mirror']>"


async def test_metrics_are_prometheus_text_of_the_given_registry(serve: Serve) -> None:
    served = await serve()
    await served.client.get("/api/v1/clusters")
    await served.client.get("/no/such/path")
    answer = await served.client.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = answer.body.decode()
    assert (
        'fleet_api_requests_total{method="GET",route="/api/v1/clusters",status="200"} 1.0' in text
    )
    assert 'fleet_api_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert "# TYPE fleet_webhook_requests_total counter" in text
    assert "fleet_api_request_duration_seconds_bucket" in text


async def test_metrics_speak_openmetrics_to_a_scraper_that_asks(serve: Serve) -> None:
    served = await serve()
    answer = await served.client.request(
        "GET", "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
    assert answer.body.decode().endswith("# EOF\n")
