"""Fixtures for the push webhook: the aiohttp app served on loopback, a recording trigger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from fleet.api import webhooks
from fleet.structs.settings import Secret, WebhookSettings
from fleet.structs.sources import MirrorTrigger

SECRET = "webhook-s3cret"


class RecordingTrigger:
    """Matches nothing but what it is told to, and remembers every call."""

    def __init__(self, answer: tuple[str, ...] = ("https://github.com/octo/fleet",)) -> None:
        self.answer = answer
        self.calls: list[list[str]] = []

    def trigger(self, urls: Iterable[str]) -> tuple[str, ...]:
        self.calls.append(list(urls))
        return self.answer


@pytest.fixture
def trigger() -> RecordingTrigger:
    return RecordingTrigger()


@pytest.fixture
def metrics_registry() -> CollectorRegistry:
    return CollectorRegistry()


Serve = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def serve(
    metrics_registry: CollectorRegistry,
) -> AsyncIterator[Serve]:
    """Serves a webhook (secret and limits as given) on 127.0.0.1; returns its client."""
    clients: list[TestClient[web.Request, web.Application]] = []

    async def start(
        trigger: MirrorTrigger,
        *,
        secret: str | None = SECRET,
        max_body_bytes: int = 1 << 20,
        read_timeout: float = 10.0,
    ) -> TestClient[web.Request, web.Application]:
        settings = WebhookSettings(
            secret=Secret(secret) if secret is not None else None,
            max_body_bytes=max_body_bytes,
            read_timeout=read_timeout,
        )
        hook = webhooks.GitWebhook(settings, trigger=trigger, registry=metrics_registry)
        app = web.Application()
        app.add_routes(hook.routes())
        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()
