"""What the leader election tests share: settings, started electors, and moving time.

Every elector is a replica of its own: its own session to the simulator, its own metrics
registry, its own identity; they share the fake clock, so that a test can say exactly
when each one acts. Their random jitter is switched off (`Steady`), so a candidate tries
every retry period on the dot, and a test that starts a second elector a second after
the first keeps their requests apart (one acts at even seconds, the other at odd ones).

Requests are real HTTP, so after moving the clock `step` waits (in real time) until no
elector is still waiting for an answer, and then lets each reach its next wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from fleet.clients import leasing
from fleet.structs.settings import ClientSettings, LeaderSettings
from tests.support import simulator
from tests.support.clock import FakeClock

CLUSTER = "sim-000"
NAMESPACE = "fleet-system"
LEASE = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/fleet"


def settings(kubeconfig: Path | None, **overrides: Any) -> LeaderSettings:
    return LeaderSettings(enabled=True, kubeconfig=kubeconfig, **overrides)


class Steady(random.Random):
    """A random source without randomness: every jitter is zero."""

    def random(self) -> float:
        return 0.0


class Electors:
    """Starts electors, one replica each, and stops whatever is left at the end."""

    def __init__(self, kubeconfig: Path, clock: FakeClock) -> None:
        self.kubeconfig = kubeconfig
        self.clock = clock
        self.registries: dict[str, CollectorRegistry] = {}
        self._stacks: dict[str, contextlib.AsyncExitStack] = {}

    async def __aenter__(self) -> Electors:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for identity in list(self._stacks):
            await self._stacks.pop(identity).aclose()

    async def __call__(self, identity: str, **overrides: Any) -> leasing.LeaderElector:
        """A started elector named ``identity``, its first attempt made."""
        elector = await self.prepare(identity, **overrides)
        await self.start(elector)
        await step(self.clock, [elector], 0)
        return elector

    async def prepare(self, identity: str, **overrides: Any) -> leasing.LeaderElector:
        """An elector with its session open, not started yet."""
        chosen = settings(self.kubeconfig, **overrides)
        stack = contextlib.AsyncExitStack()
        api = await stack.enter_async_context(
            leasing.session(chosen, clients=ClientSettings(), clock=self.clock)
        )
        registry = CollectorRegistry()
        elector = leasing.LeaderElector(
            api,
            settings=chosen,
            clock=self.clock,
            metrics=leasing.LeaderMetrics(registry),
            identity=identity,
            rng=Steady(),
        )
        self._stacks[identity] = stack
        self.registries[identity] = registry
        return elector

    async def start(self, elector: leasing.LeaderElector) -> None:
        await self._stacks[elector.identity].enter_async_context(elector)

    async def stop(self, elector: leasing.LeaderElector) -> None:
        """Leave the elector's ``async with`` (releasing the Lease if it leads)."""
        await self._stacks.pop(elector.identity).aclose()

    def sample(self, identity: str, name: str, **labels: str) -> float | None:
        return self.registries[identity].get_sample_value(name, labels)


async def step(clock: FakeClock, electors: Sequence[leasing.LeaderElector], seconds: float) -> None:
    """Move the clock by ``seconds`` and let the electors do what falls due."""
    await clock.advance(seconds)
    async with asyncio.timeout(30):
        # Real I/O has no event to wait for; the elector's own flag says when it is done.
        while any(elector.attempting for elector in electors):  # noqa: ASYNC110
            await asyncio.sleep(0.005)
    await clock.advance(0)


async def until(clock: FakeClock, moment: float, electors: Sequence[leasing.LeaderElector]) -> None:
    """Move the clock to ``moment`` a second at a time, letting the electors act."""
    while clock.now() < moment:
        await step(clock, electors, min(1.0, moment - clock.now()))


async def lease(api: simulator.ApiSession) -> dict[str, Any]:
    """The Lease as the server has it."""
    response = await api.request("GET", LEASE)
    assert response.status == 200, response
    found: dict[str, Any] = response.json()
    return found
