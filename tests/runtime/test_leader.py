"""Two replicas with `--leader-elect`: one syncs, the other waits; when the leader stops,
the other takes over."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from fleet.sim import serving
from tests.runtime.conftest import start
from tests.runtime.test_run import common
from tests.support import simulator


async def wait_for(process: asyncio.subprocess.Process, text: bytes, seen: list[bytes]) -> None:
    assert process.stderr is not None
    async with asyncio.timeout(60):
        async for line in process.stderr:
            seen.append(line)
            if text in line:
                return
    raise AssertionError(b"".join(seen).decode())


async def holder(sim: serving.Simulator) -> str:
    async with simulator.ApiSession(sim, sim.names[0]) as api:
        lease = await api.request(
            "GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/fleet"
        )
    assert lease.status == 200, lease
    found: str = lease.json()["spec"].get("holderIdentity") or ""
    return found


async def test_one_replica_leads_and_the_other_takes_over(
    sim: serving.Simulator, repository: Path, inventory: Path, tmp_path: Path
) -> None:
    management = inventory.parent / f"{sim.names[0]}.kubeconfig"

    def replica(name: str) -> list[str]:
        return [
            *common(repository, inventory, tmp_path / name), "--leader-elect",
            "--leader-kubeconfig", str(management), "--leader-identity", name,
            "--leader-lease-duration", "3", "--leader-renew-deadline", "2",
            "--leader-retry-period", "0.3", "--leader-namespace", "default",
        ]  # fmt: skip

    first = await start(*replica("first"))
    first_lines: list[bytes] = []
    await wait_for(first, b"sync of", first_lines)
    second = await start(*replica("second"))
    second_lines: list[bytes] = []
    await wait_for(second, b"waiting to lead", second_lines)
    assert await holder(sim) == "first"

    # A third replica, a standby too, stops at once when told to: it has nothing to drain.
    third = await start(*replica("third"))
    third_lines: list[bytes] = []
    await wait_for(third, b"waiting to lead", third_lines)
    third.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        await third.wait()
    assert third.returncode == 0
    assert await holder(sim) == "first"

    first.send_signal(signal.SIGTERM)
    async with asyncio.timeout(60):
        await first.wait()
    assert first.returncode == 0
    # The Lease is released on the way out: the other replica leads and syncs.
    await wait_for(second, b"sync of", second_lines)
    assert await holder(sim) == "second"
    second.send_signal(signal.SIGTERM)
    async with asyncio.timeout(60):
        await second.wait()
    assert second.returncode == 0
