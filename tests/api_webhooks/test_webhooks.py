"""`POST /hooks/git`: signatures of GitHub, Gitea and GitLab, size and time limits,
malformed bodies, disabled without a secret, and a push reaching only its real mirror."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from fleet.api import webhooks
from fleet.sources import publishing, registry
from fleet.structs.settings import GitSettings, Secret, WebhookSettings
from tests.api_webhooks.conftest import SECRET, RecordingTrigger, Serve
from tests.git.doubles import PASSWORD, USERNAME, GitHttpServer, RecordingClock

PUSH = {
    "ref": "refs/heads/main",
    "repository": {
        "clone_url": "https://github.com/octo/fleet.git",
        "ssh_url": "git@github.com:octo/fleet.git",
        "html_url": "https://github.com/octo/fleet",
        "url": "https://api.github.com/repos/octo/fleet",
    },
}
GITLAB_PUSH = {
    "object_kind": "push",
    "project": {
        "git_http_url": "https://gitlab.example.com/group/fleet.git",
        "git_ssh_url": "git@gitlab.example.com:group/fleet.git",
        "web_url": "https://gitlab.example.com/group/fleet",
    },
}


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(
    provider: str, body: bytes, *, event: str = "push", secret: str = SECRET
) -> dict[str, str]:
    if provider == "github":
        return {"X-GitHub-Event": event, "X-Hub-Signature-256": f"sha256={sign(body, secret)}"}
    if provider == "gitea":
        return {"X-Gitea-Event": event, "X-Gitea-Signature": sign(body, secret)}
    return {"X-Gitlab-Event": "Push Hook" if event == "push" else event, "X-Gitlab-Token": secret}


def requests(metrics: CollectorRegistry, provider: str, result: str) -> float:
    labels = {"provider": provider, "result": result}
    return metrics.get_sample_value("fleet_webhook_requests_total", labels) or 0.0


GITHUB_URLS = [
    "git@github.com:octo/fleet.git",
    "https://api.github.com/repos/octo/fleet",
    "https://github.com/octo/fleet",
    "https://github.com/octo/fleet.git",
]
GITLAB_URLS = [
    "git@gitlab.example.com:group/fleet.git",
    "https://gitlab.example.com/group/fleet",
    "https://gitlab.example.com/group/fleet.git",
]


@pytest.mark.parametrize(
    ("provider", "payload", "urls"),
    [
        ("github", PUSH, GITHUB_URLS),
        ("gitea", PUSH, GITHUB_URLS),
        ("gitlab", GITLAB_PUSH, GITLAB_URLS),
    ],
)
async def test_a_signed_push_triggers_the_matching_mirrors(
    serve: Serve,
    trigger: RecordingTrigger,
    metrics_registry: CollectorRegistry,
    provider: str,
    payload: dict[str, object],
    urls: list[str],
) -> None:
    client = await serve(trigger)
    body = json.dumps(payload).encode()
    response = await client.post(webhooks.PATH, data=body, headers=headers_for(provider, body))
    assert response.status == 202
    assert await response.json() == {"triggered": ["https://github.com/octo/fleet"]}
    assert trigger.calls == [urls]
    assert requests(metrics_registry, provider, "triggered") == 1


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
@pytest.mark.parametrize("signature", ["wrong", "missing"])
async def test_a_bad_or_missing_signature_is_401_and_triggers_nothing(
    serve: Serve,
    trigger: RecordingTrigger,
    metrics_registry: CollectorRegistry,
    provider: str,
    signature: str,
) -> None:
    client = await serve(trigger)
    body = json.dumps(PUSH).encode()
    headers = headers_for(provider, body, secret="not-the-secret")
    if signature == "missing":
        headers = {name: value for name, value in headers.items() if "Event" in name}
    response = await client.post(webhooks.PATH, data=body, headers=headers)
    assert response.status == 401
    assert trigger.calls == []
    assert requests(metrics_registry, provider, "unauthorized") == 1


async def test_a_signature_of_another_body_is_refused(
    serve: Serve, trigger: RecordingTrigger
) -> None:
    client = await serve(trigger)
    signed = json.dumps(PUSH).encode()
    tampered = signed.replace(b"octo", b"evil")
    response = await client.post(
        webhooks.PATH, data=tampered, headers=headers_for("github", signed)
    )
    assert response.status == 401
    assert trigger.calls == []


async def test_unsigned_requests_from_no_known_provider_are_refused(
    serve: Serve, trigger: RecordingTrigger, metrics_registry: CollectorRegistry
) -> None:
    client = await serve(trigger)
    response = await client.post(webhooks.PATH, json=PUSH)
    assert response.status == 401
    assert requests(metrics_registry, "unknown", "unauthorized") == 1


async def test_ping_and_other_events(serve: Serve, trigger: RecordingTrigger) -> None:
    client = await serve(trigger)
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    ping = await client.post(
        webhooks.PATH, data=body, headers=headers_for("github", body, event="ping")
    )
    assert (ping.status, await ping.json()) == (200, {"pong": True})
    issue = await client.post(
        webhooks.PATH, data=body, headers=headers_for("github", body, event="issues")
    )
    assert (issue.status, await issue.json()) == (200, {"ignored": "issues"})
    assert trigger.calls == []


async def test_without_a_secret_the_webhook_is_not_there(
    serve: Serve, trigger: RecordingTrigger, metrics_registry: CollectorRegistry
) -> None:
    client = await serve(trigger, secret=None)
    body = json.dumps(PUSH).encode()
    response = await client.post(webhooks.PATH, data=body, headers=headers_for("github", body))
    assert response.status == 404
    assert trigger.calls == []
    assert requests(metrics_registry, "github", "disabled") == 1


async def test_a_body_over_the_limit_is_413_declared_or_streamed(
    serve: Serve, trigger: RecordingTrigger, metrics_registry: CollectorRegistry
) -> None:
    client = await serve(trigger, max_body_bytes=1_000)
    body = json.dumps({**PUSH, "padding": "x" * 2_000}).encode()
    declared = await client.post(webhooks.PATH, data=body, headers=headers_for("github", body))
    assert declared.status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    streamed = await client.post(webhooks.PATH, data=chunks(), headers=headers_for("github", body))
    assert streamed.status == 413
    assert trigger.calls == []
    assert requests(metrics_registry, "github", "too_large") == 2
    small = json.dumps(PUSH).encode()
    assert len(small) < 1_000
    fine = await client.post(webhooks.PATH, data=small, headers=headers_for("github", small))
    assert fine.status == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"ref": "refs/heads/main"}', "names no repository"),
        (b'{"repository": {"clone_url": 7}}', "names no repository"),
    ],
)
async def test_malformed_bodies_are_400(
    serve: Serve, trigger: RecordingTrigger, body: bytes, message: str
) -> None:
    client = await serve(trigger)
    response = await client.post(webhooks.PATH, data=body, headers=headers_for("github", body))
    assert response.status == 400
    assert message in (await response.json())["error"]
    assert trigger.calls == []


def test_repr_never_shows_the_secret() -> None:
    settings = WebhookSettings(secret=Secret(SECRET))
    hook = webhooks.GitWebhook(settings, trigger=RecordingTrigger(), registry=CollectorRegistry())
    assert repr(hook) == "<GitWebhook POST /hooks/git enabled max_body=1048576>"
    assert SECRET not in repr(settings)
    off = webhooks.GitWebhook(
        WebhookSettings(), trigger=RecordingTrigger(), registry=CollectorRegistry()
    )
    assert "disabled (no secret)" in repr(off)


def push_of(provider: str, url: str) -> dict[str, object]:
    """What each provider sends for a push to the repository at ``url`` (an HTTP URL of
    the test server), with its clone URL spelt in another case and its SSH URL."""
    host = url.removeprefix("http://").split("/")[0].split(":")[0]
    name = url.rsplit("/", 1)[1]
    clone, ssh, web = (
        url.replace(name, name.lower()),
        f"git@{host}:{name}",
        url.removesuffix(".git"),
    )
    if provider == "gitlab":
        return {
            "object_kind": "push",
            "project": {"git_http_url": clone, "git_ssh_url": ssh, "web_url": web},
        }
    return {
        "ref": "refs/heads/main",
        "repository": {"clone_url": clone, "ssh_url": ssh, "html_url": web},
    }


@pytest.mark.parametrize("provider", ["github", "gitea", "gitlab"])
async def test_a_signed_push_fetches_only_the_matching_real_mirror_at_once(
    serve: Serve, tmp_path: Path, provider: str
) -> None:
    pushed_to, untouched = tmp_path / "Fleet.git", tmp_path / "other.git"
    for origin in (pushed_to, untouched):
        publishing.publish_files(origin, files={"fleet.yaml": b"bundles: []\n"}, message="first")
    server = GitHttpServer(
        {"Fleet.git": pushed_to, "other.git": untouched}, username=USERNAME, password=PASSWORD
    )
    clock = RecordingClock()
    environ = {"FLEET_GIT_USERNAME": USERNAME, "FLEET_GIT_PASSWORD": PASSWORD}
    try:
        async with registry.MirrorSet(
            GitSettings(state_dir=tmp_path / "state"),
            registry=CollectorRegistry(),
            clock=clock,
            rng=random.Random(1),
            environ=environ,
        ) as mirrors:
            url = server.url("Fleet.git")
            source = await mirrors.source(url, branch="main")
            other = await mirrors.source(server.url("other.git"), branch="main")
            await clock.wait_for_sleeps(2)  # both first polls are done; the next is in 60 s
            before = other.head
            client = await serve(mirrors)
            pushed = publishing.publish_files(pushed_to, files={"a": b"new"}, message="push")
            publishing.publish_files(untouched, files={"b": b"new"}, message="not announced")
            body = json.dumps(push_of(provider, url)).encode()
            response = await client.post(
                webhooks.PATH, data=body, headers=headers_for(provider, body)
            )
            assert (response.status, await response.json()) == (202, {"triggered": [url]})
            await clock.wait_for_sleeps(3)  # no time passed: the push, not the poll, fetched
            assert source.head == pushed
            assert other.head == before
            assert server.advertised == {"Fleet.git": 2, "other.git": 1}
            await other.fetch()  # were it woken too, this would be its third fetch, not its second
            assert server.advertised == {"Fleet.git": 2, "other.git": 2}
    finally:
        server.close()


async def test_a_body_that_does_not_arrive_in_time_is_408(
    serve: Serve, trigger: RecordingTrigger, metrics_registry: CollectorRegistry
) -> None:
    client = await serve(trigger, read_timeout=0.05)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(
            b"POST /hooks/git HTTP/1.1\r\nHost: fleet\r\nX-GitHub-Event: push\r\n"
            b"Content-Length: 100\r\n\r\n{"  # and then nothing: a sender that stalls
        )
        await writer.drain()
        status = await reader.readline()
    finally:
        writer.close()
        await writer.wait_closed()
    assert status.startswith(b"HTTP/1.1 408 ")
    assert trigger.calls == []
    assert requests(metrics_registry, "github", "timeout") == 1
