"""Who may write, CORS, limits, deadlines, and answers for whatever goes wrong."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any

import pytest

from fleet.api import guarding
from fleet.structs import history as h
from tests.api import fakes
from tests.api.conftest import TOKEN, WEBHOOK_SECRET, Serve

SYNC = "/api/v1/clusters/eu-1/sync"


async def test_without_a_token_writes_are_disabled(serve: Serve) -> None:
    client = (await serve(token=None)).client
    for token in (None, TOKEN):
        answer = await client.post(SYNC, token=token)
        assert answer.status == 403
        assert answer.json() == {"error": "forbidden", "message": guarding.WRITES_DISABLED}
    assert guarding.WRITES_DISABLED == "writes are disabled: set FLEET_API_TOKEN"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer ",
        "Bearer tök€n-with-ünicode",
    ],
)
async def test_a_missing_or_wrong_token_is_401(serve: Serve, authorization: str | None) -> None:
    fleet = fakes.FakeFleet()
    client = (await serve(token=TOKEN, fleet=fleet)).client
    headers = {"Authorization": authorization} if authorization is not None else {}
    answer = await client.request("POST", SYNC, headers=headers)
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="fleet"'
    assert answer.json()["error"] == "unauthorized"
    assert fleet.requested == []


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_right_token_may_write(serve: Serve, scheme: str) -> None:
    fleet = fakes.FakeFleet()
    client = (await serve(token=TOKEN, fleet=fleet)).client
    answer = await client.request("POST", SYNC, headers={"Authorization": f"{scheme} {TOKEN}"})
    assert answer.status == 202
    assert fleet.requested == ["eu-1"]


async def test_reads_need_no_token(serve: Serve) -> None:
    client = (await serve(token=TOKEN)).client
    assert (await client.get("/api/v1/clusters")).status == 200


async def test_the_webhook_checks_its_signature_instead_of_the_token(serve: Serve) -> None:
    served = await serve(token=None)
    body = json.dumps({"repository": {"clone_url": "https://git.example.com/x.git"}}).encode()
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={digest}"}
    answer = await served.client.request("POST", "/hooks/git", headers=headers, data=body)
    assert answer.status == 202
    assert served.trigger.calls == [["https://git.example.com/x.git"]]
    answer = await served.client.request("POST", "/hooks/git", data=body)
    assert answer.status == 401


async def test_the_webhook_is_404_without_its_secret(serve: Serve) -> None:
    client = (await serve(webhook_secret=None)).client
    assert (await client.request("POST", "/hooks/git", data=b"{}")).status == 404


async def test_unknown_routes_and_methods_are_json_errors(serve: Serve) -> None:
    client = (await serve(token=TOKEN)).client
    answer = await client.request("POST", "/api/v1/nothing")
    assert (answer.status, answer.json()["error"]) == (404, "not_found")
    assert answer.json()["message"] == "no such endpoint: /api/v1/nothing"
    answer = await client.request("DELETE", "/api/v1/clusters/eu-1")
    assert answer.status == 405
    assert answer.headers["Allow"] == "GET,HEAD"
    assert answer.json()["message"] == "DELETE is not allowed here; allowed: GET, HEAD"


async def test_a_body_over_the_limit_is_413_before_it_is_read(serve: Serve) -> None:
    client = (await serve(token=TOKEN, max_body_bytes=1024)).client
    answer = await client.post(SYNC, token=TOKEN, data=b"x" * 2048)
    assert answer.status == 413
    assert answer.json()["message"] == "the body is over 1024 bytes"


async def test_a_request_line_over_the_limit_is_refused(serve: Serve) -> None:
    client = (await serve(max_header_bytes=2048)).client
    answer = await client.request(
        "GET", "/api/v1/syncs", params={"cluster": "x" * 4000}, check=False
    )
    assert answer.status in (400, 414)


async def test_no_cors_headers_unless_origins_are_configured(serve: Serve) -> None:
    client = (await serve()).client
    answer = await client.request(
        "GET", "/api/v1/fleet", headers={"Origin": "https://evil.example"}
    )
    assert "Access-Control-Allow-Origin" not in answer.headers


async def test_cors_allows_reads_from_configured_origins_only(serve: Serve) -> None:
    dash = "https://dash.example.com"
    client = (await serve(token=TOKEN, cors_origins=(dash,))).client
    answer = await client.request("GET", "/api/v1/fleet", headers={"Origin": dash})
    assert answer.headers["Access-Control-Allow-Origin"] == dash
    assert answer.headers["Vary"] == "Origin"
    other = await client.request("GET", "/api/v1/fleet", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    write = await client.post(SYNC, token=TOKEN, headers={"Origin": dash})
    assert write.status == 202
    assert "Access-Control-Allow-Origin" not in write.headers


async def test_answers_carry_no_server_version_and_are_not_cached(serve: Serve) -> None:
    answer = await (await serve()).client.get("/api/v1/fleet")
    assert answer.headers["Server"] == "fleet"
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


class BrokenFleet(fakes.FakeFleet):
    def clusters(self) -> Any:
        raise RuntimeError("postgresql://fleet:hunter2@db/fleet exploded")


async def test_a_bug_is_a_json_500_without_details(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    client = (await serve(fleet=BrokenFleet())).client
    with caplog.at_level(logging.ERROR, logger="fleet.api"):
        answer = await client.get("/api/v1/clusters")
    assert answer.status == 500
    assert answer.json() == {
        "error": "internal",
        "message": "internal error; the server log has the details",
    }
    assert "GET /api/v1/clusters failed" in caplog.text


class StuckHistory:
    """A store whose queries never come back."""

    def __init__(self, inner: h.HistoryStore) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return "StuckHistory()"

    def status(self) -> h.HistoryStatus:
        return self._inner.status()

    async def list_syncs(self, *args: object, **kwargs: object) -> h.Page[h.SyncRecord]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_request_past_its_deadline_is_503(history: h.HistoryStore, serve: Serve) -> None:
    stuck: Any = StuckHistory(history)
    client = (await serve(store=stuck, request_timeout=0.05)).client
    answer = await client.get("/api/v1/syncs")
    assert answer.status == 503
    assert answer.json()["message"] == "the answer took longer than 0.05 s; try again"
