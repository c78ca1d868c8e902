"""The API served for real on 127.0.0.1 (port 0), over a fake fleet and a real history store.

`serve(...)` starts an application with the settings a test asks for and returns a
`Served` whose client checks every answer against the OpenAPI document. The history
store is the in-memory one (`history`) unless a test passes another, such as
`both_backends`, which runs the test once with memory and once with PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from fleet.api import probing, serving, webhooks
from fleet.store import opening
from fleet.structs import history as h
from fleet.structs.fleetview import FleetView
from fleet.structs.settings import ApiSettings, HistorySettings, Secret, WebhookSettings
from tests.api import contract, fakes
from tests.support import database as db
from tests.support import simulator

TOKEN = "api-token-0123456789abcdef"
WEBHOOK_SECRET = "webhook-secret-0123456789"
TIMEOUT = aiohttp.ClientTimeout(total=30)


Answer = simulator.Response
"""Status, headers and body of one answer (the simulator tests' type serves here too)."""


class Client:
    """Raw HTTP to the served API; every answer is checked against the OpenAPI document."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"Client({self.base_url})"

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: bytes | None = None,
        token: str | None = None,
        check: bool = True,
    ) -> Answer:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        async with self._session.request(
            method, self.base_url + path, params=params, headers=sent, data=data
        ) as response:
            answer = Answer(response.status, dict(response.headers), await response.read())
        if check and method != "HEAD":
            contract.check(
                method, response.url.path, answer.status, response.content_type, answer.body
            )
        return answer

    async def get(self, path: str, **params: str) -> Answer:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, *, token: str | None = None, **kwargs: Any) -> Answer:
        return await self.request("POST", path, token=token, **kwargs)


@dataclass
class Served:
    client: Client
    server: serving.ApiServer
    fleet: FleetView
    store: h.HistoryStore
    readiness: probing.Readiness
    registry: CollectorRegistry
    trigger: fakes.RecordingTrigger


Serve = Callable[..., Awaitable[Served]]


@pytest.fixture
async def history() -> AsyncIterator[h.HistoryStore]:
    """A started in-memory history store."""
    store = opening.history_store(HistorySettings(), registry=CollectorRegistry())
    await store.start()
    yield store
    await store.close()


@pytest.fixture(params=[h.HistoryBackend.MEMORY, h.HistoryBackend.POSTGRESQL])
async def both_backends(request: pytest.FixtureRequest) -> AsyncIterator[h.HistoryStore]:
    """A started history store of each backend in turn (PostgreSQL in a fresh schema)."""
    async with contextlib.AsyncExitStack() as stack:
        if request.param is h.HistoryBackend.MEMORY:
            settings = HistorySettings()
        else:
            database = await stack.enter_async_context(db.fresh(db.database_url()))
            settings = database.settings()
        store = opening.history_store(settings, registry=CollectorRegistry())
        await store.start()
        stack.push_async_callback(store.close)
        yield store


@pytest.fixture
async def serve(history: h.HistoryStore) -> AsyncIterator[Serve]:
    """Starts the API as asked; everything started is stopped after the test."""
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession(timeout=TIMEOUT))

        async def start(
            *,
            store: h.HistoryStore | None = None,
            fleet: FleetView | None = None,
            token: str | None = None,
            webhook_secret: str | None = WEBHOOK_SECRET,
            **api: Any,
        ) -> Served:
            settings = ApiSettings(
                listen="127.0.0.1:0", token=Secret(token) if token else None, **api
            )
            registry = CollectorRegistry()
            trigger = fakes.RecordingTrigger()
            readiness = probing.Readiness()
            view = fleet if fleet is not None else fakes.FakeFleet()
            chosen = store if store is not None else history
            hook = webhooks.GitWebhook(
                WebhookSettings(secret=Secret(webhook_secret) if webhook_secret else None),
                trigger=trigger,
                registry=registry,
            )
            app = serving.application(
                settings,
                fleet=view,
                history_store=chosen,
                webhook=hook,
                readiness=readiness,
                registry=registry,
            )
            server = await stack.enter_async_context(serving.ApiServer(app, settings))
            return Served(
                client=Client(session, server.url),
                server=server,
                fleet=view,
                store=chosen,
                readiness=readiness,
                registry=registry,
                trigger=trigger,
            )

        yield start


@pytest.fixture
async def database() -> AsyncIterator[db.Database]:
    """A fresh schema name on the test server (for the benchmark's quick run)."""
    async with db.fresh(db.database_url()) as fresh:
        yield fresh
