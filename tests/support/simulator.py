"""An in-process Kubernetes API simulator for the tests of any feature.

    from tests.support import simulator

    async with simulator.running(clusters=3) as sim:
        sim.url("sim-000"), sim.token("sim-000"), sim.counters("sim-000").writes
        inventory = await sim.write_files(tmp_path)          # kubeconfigs + inventory.yaml
        async with simulator.ApiSession(sim, "sim-000") as api:
            response = await api.request("GET", "/api/v1/namespaces")

A feature folder that wants a fixture adds `from tests.support.simulator import sim`
to its conftest.py: `sim` is a running two-cluster simulator with fast controllers
(rollouts and namespace deletion take 10 ms). Plain HTTP is the default here, because
it is quicker to set up; pass `tls=True` for clients that insist on TLS (kubectl only
sends tokens over TLS). `ApiSession` is a deliberately small raw-HTTP client, so that
tests of the simulator do not depend on the client code they are meant to check.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from fleet.sim import config, serving

FAST: Mapping[str, Any] = {"rollout_delay": 0.01, "namespace_delay": 0.01, "tls": False}
"""Settings that keep tests quick: controllers act at once, no TLS handshake."""

TIMEOUT = aiohttp.ClientTimeout(total=30)


@contextlib.asynccontextmanager
async def running(clusters: int = 2, **settings: Any) -> AsyncIterator[serving.Simulator]:
    """A simulator serving `clusters` clusters on a free port until the block ends."""
    chosen = {**FAST, **settings}
    async with serving.run(config.SimConfig(clusters=clusters, **chosen)) as simulator:
        yield simulator


@pytest.fixture
async def sim() -> AsyncIterator[serving.Simulator]:
    """A running two-cluster simulator (sim-000, sim-001) with fast controllers."""
    async with running() as simulator:
        yield simulator


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.body[:200]!r})"


class ApiSession:
    """Raw HTTP requests to one cluster of a simulator, with its token."""

    def __init__(self, simulator: serving.Simulator, cluster: str, *, token: str | None = None):
        self._base = simulator.url(cluster)
        self._token = simulator.token(cluster) if token is None else token
        self._ssl = simulator.client_ssl()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        state = "open" if self._session is not None and not self._session.closed else "closed"
        return f"ApiSession({self._base}, {state})"

    async def __aenter__(self) -> ApiSession:
        connector = aiohttp.TCPConnector(ssl=self._ssl) if self._ssl else aiohttp.TCPConnector()
        self._session = aiohttp.ClientSession(connector=connector, timeout=TIMEOUT)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    def _headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        merged = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        merged.update(headers or {})
        return merged

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: bytes | None = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One request; `body` is sent as JSON, `data` as it is."""
        assert self._session is not None, "use `async with ApiSession(...)`"
        if body is not None:
            data = json.dumps(body).encode()
        sent = self._headers(headers)
        if data is not None:
            sent.setdefault("Content-Type", content_type)
        # aiohttp warns about large bodies given as bytes; a file object is streamed.
        payload = io.BytesIO(data) if data is not None and len(data) > 1 << 20 else data
        async with self._session.request(
            method, self._base + path, data=payload, params=params, headers=sent
        ) as response:
            return Response(response.status, dict(response.headers), await response.read())

    async def watch(
        self,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """The events of a watch, one dict per line, until the server ends the stream."""
        assert self._session is not None, "use `async with ApiSession(...)`"
        query = {"watch": "true", **(params or {})}
        async with self._session.get(
            self._base + path, params=query, headers=self._headers(headers)
        ) as response:
            assert response.status == 200, await response.text()
            async for line in response.content:
                if line.strip():
                    yield json.loads(line)
