"""`ClusterRegistry`: the clusters of the inventory, each with its running client.

It implements the engine's `ClusterSet`, and it is what the runtime reloads. A reload
reads the inventory again (in a thread) and compares it with what runs:

- a new cluster gets a client, started; a cluster no longer listed is stopped (its
  tasks cancelled and awaited, its connections closed);
- a cluster whose access changed (another kubeconfig, context, server or credential)
  gets a new client in place of the old one; one whose labels alone changed keeps its
  client and its cache;
- a cluster that is listed but has a problem keeps running as it was, if it was: a
  typo in the inventory must not stop fleet from managing a cluster. So does every
  cluster when the inventory as a whole cannot be read.

Subscribers hear of every reload that changed anything, with the new list of clusters,
so the engine can look again at clusters that appeared, went, or got a new client.
Reloads come from `reload()` (the runtime's SIGHUP handler calls `request_reload()`,
which may be called from a signal handler) or from the modification times of the
inventory and its kubeconfigs, checked every ``inventory_poll_interval`` by a task
the registry owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from fleet.clients import inventories
from fleet.clients.inventories import ClusterEntry, Inventory
from fleet.clients.kubeclient import KubeClient
from fleet.clients.metering import ClientMetrics
from fleet.structs import errors
from fleet.structs.clock import Clock, SystemClock
from fleet.structs.clusters import Cluster
from fleet.structs.objects import ClusterName
from fleet.structs.problems import Location, Problem
from fleet.structs.settings import ClientSettings

logger = logging.getLogger("fleet.clients")

ClustersHandler = Callable[[Sequence[Cluster]], None]


@dataclass(frozen=True, slots=True)
class Reload:
    """What one reload changed, and every problem the inventory has now."""

    added: tuple[ClusterName, ...] = ()
    removed: tuple[ClusterName, ...] = ()
    changed: tuple[ClusterName, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def changes(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(slots=True)
class _Member:
    entry: ClusterEntry
    client: KubeClient


class ClusterRegistry:
    """Implements `fleet.structs.kube.ClusterSet`. Use as ``async with ClusterRegistry(...)``."""

    def __init__(
        self,
        settings: ClientSettings,
        *,
        registry: CollectorRegistry,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.path = settings.inventory
        self._metrics = ClientMetrics(registry)
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()  # noqa: S311 -- jitter, not secrecy
        self._members: dict[ClusterName, _Member] = {}
        self._problems: tuple[Problem, ...] = ()
        self._files: tuple[Path, ...] = (self.path,)
        self._stamps: tuple[_Stamp | None, ...] = ()
        self._handlers: tuple[ClustersHandler, ...] = ()
        self._reloading = asyncio.Lock()
        self._wake = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ClusterRegistry:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Load the inventory and start every good cluster; `InventoryError` if unusable."""
        await self.reload(initial=True)
        self._poller = asyncio.create_task(self._follow(), name="inventory follower")

    async def close(self) -> None:
        """Stop following the inventory and stop every cluster's client."""
        # The follower is stopped only between reloads: one cancelled halfway would lose
        # the clients it had opened and leave open those it was stopping.
        async with self._reloading:
            if self._poller is not None:
                self._poller.cancel()
                await asyncio.wait([self._poller])
                self._poller = None
            members, self._members = self._members, {}
            # Every client is closed even if one fails to: one error must not leave the
            # others' tasks and connections running.
            results = await asyncio.gather(
                *(member.client.close() for member in members.values()), return_exceptions=True
            )
            for name, result in zip(members, results, strict=True):
                if isinstance(result, Exception):
                    logger.error(
                        "cluster %s: closing its client failed", name,
                        exc_info=result, extra={"cluster": name},
                    )  # fmt: skip
                elif isinstance(result, BaseException):
                    raise result

    # -- the ClusterSet protocol -------------------------------------------------------

    def clusters(self) -> Sequence[Cluster]:
        return [self._members[name].entry.cluster for name in sorted(self._members)]

    def client(self, name: ClusterName) -> KubeClient | None:
        member = self._members.get(name)
        return member.client if member is not None else None

    def subscribe(self, handler: ClustersHandler) -> Callable[[], None]:
        self._handlers = (*self._handlers, handler)

        def unsubscribe() -> None:
            self._handlers = tuple(h for h in self._handlers if h is not handler)

        return unsubscribe

    @property
    def problems(self) -> tuple[Problem, ...]:
        """What is wrong in the inventory now, per cluster (for the status API)."""
        return self._problems

    # -- reloading --------------------------------------------------------------------

    def request_reload(self) -> None:
        """Ask for a reload soon (safe to call from a signal handler)."""
        self._wake.set()

    async def reload(self, *, initial: bool = False) -> Reload:
        """Read the inventory again and make the running clients match it."""
        async with self._reloading:
            # Stamps taken before reading, so that a change made while it reads is a change.
            stamps = await asyncio.to_thread(_stamps, self._files)
            try:
                inventory = await asyncio.to_thread(inventories.load, self.path)
            except errors.InventoryError as error:
                self._stamps = stamps
                if initial:
                    raise
                logger.error("%s; keeping the %d clusters as they are", error, len(self._members))
                self._problems = (Problem(Location(str(self.path)), error.message),)
                return Reload(problems=self._problems)
            if inventory.files != self._files:
                self._files = inventory.files
                stamps = await asyncio.to_thread(_stamps, self._files)
            self._stamps = stamps
            result = await self._apply(inventory)
        for problem in result.problems:
            logger.warning("inventory: %s", problem, extra={"cluster": problem.cluster})
        if result.changes:
            logger.info(
                "inventory: %d clusters (%d added, %d removed, %d changed)",
                len(self._members), len(result.added), len(result.removed), len(result.changed),
            )  # fmt: skip
            clusters = self.clusters()
            for handler in self._handlers:
                handler(clusters)
        return result

    async def _apply(self, inventory: Inventory) -> Reload:
        wanted = {entry.name: entry for entry in inventory.entries}
        gone = [
            name for name in self._members if name not in wanted and name not in inventory.refused
        ]
        relabelled, starting = [], []
        for name, entry in wanted.items():
            member = self._members.get(name)
            if member is None or member.entry.access != entry.access:
                starting.append(entry)
            elif member.entry.cluster != entry.cluster:
                member.entry = entry
                relabelled.append(name)
        opened = await asyncio.gather(*(self._open(entry) for entry in starting))
        problems = list(inventory.problems)
        added, reconnected, stopping = [], [], [self._members.pop(name).client for name in gone]
        for entry, client in zip(starting, opened, strict=True):
            if isinstance(client, Problem):
                problems.append(client)  # a running client of this cluster stays as it was
                continue
            old = self._members.get(entry.name)
            if old is not None:
                stopping.append(old.client)
                reconnected.append(entry.name)
            else:
                added.append(entry.name)
            self._members[entry.name] = _Member(entry, client)
        await asyncio.gather(*(client.close() for client in stopping))
        self._problems = tuple(problems)
        return Reload(
            added=tuple(sorted(added)),
            removed=tuple(sorted(gone)),
            changed=tuple(sorted([*relabelled, *reconnected])),
            problems=self._problems,
        )

    async def _open(self, entry: ClusterEntry) -> KubeClient | Problem:
        try:
            return await KubeClient.open(
                entry.name,
                entry.access,
                settings=self.settings,
                metrics=self._metrics,
                clock=self._clock,
                rng=self._rng,
            )
        except errors.ClusterError as error:
            message = error.message
        except Exception as error:  # one cluster's surprise must not stop the others
            logger.exception("cluster %s: the client could not start", entry.name)
            message = f"the client could not start: {type(error).__name__}"
        where = entry.access.kubeconfig or self.path
        return Problem(Location(str(where)), message, cluster=entry.name)

    async def _follow(self) -> None:
        """Reload when asked to, or when a file of the inventory changes."""
        interval = self.settings.inventory_poll_interval
        while True:
            if interval:
                with contextlib.suppress(TimeoutError):
                    async with self._clock.timeout(interval):
                        await self._wake.wait()
            else:
                await self._wake.wait()
            asked = self._wake.is_set()
            self._wake.clear()
            if asked or await asyncio.to_thread(_stamps, self._files) != self._stamps:
                try:
                    await self.reload()
                except Exception:  # the follower must outlive any one reload
                    logger.exception("inventory: reload failed")

    def __repr__(self) -> str:
        return (
            f"ClusterRegistry({self.path}: {len(self._members)} clusters, "
            f"{len(self._problems)} problems)"
        )


_Stamp = tuple[int, int, int]


def _stamps(files: Sequence[Path]) -> tuple[_Stamp | None, ...]:
    """Modification time, size and inode of each file (None if it cannot be read)."""
    found: list[_Stamp | None] = []
    for path in files:
        try:
            status = os.stat(path)
        except OSError:
            found.append(None)
        else:
            found.append((status.st_mtime_ns, status.st_size, status.st_ino))
    return tuple(found)
