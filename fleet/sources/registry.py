"""`MirrorSet`: one mirror per remote for the whole process, and their poll loops.

Whoever asks for a repository -- the engine for the fleet repository, later perhaps
other parts for other repositories -- gets the same mirror for the same remote, so a
URL is fetched once per interval however many clusters or callers read it. The set
owns every mirror's poll loop: it starts one when it opens a mirror and cancels and
awaits them all when it closes, so no loop outlives it.

The set is also what the push webhook talks to (`MirrorTrigger`): given the URLs a
provider sends for a repository, it wakes every mirror whose match key is among them.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry

from fleet.sources import mirroring, remotes
from fleet.sources.metrics import SourceMetrics
from fleet.structs.clock import Clock, SystemClock
from fleet.structs.settings import GitSettings


class MirrorSet:
    """Every mirror of the process. Use as ``async with MirrorSet(...) as mirrors:``."""

    def __init__(
        self,
        settings: GitSettings,
        *,
        registry: CollectorRegistry,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._setup = mirroring.MirrorSetup(
            settings=settings,
            credentials=remotes.credentials(settings, os.environ if environ is None else environ),
            metrics=SourceMetrics(registry),
            clock=clock or SystemClock(),
            rng=rng or random.Random(),  # noqa: S311 -- jitter, not secrecy
        )
        self._mirrors: dict[str, mirroring.GitMirror] = {}
        self._polls: dict[str, asyncio.Task[None]] = {}
        self._opening = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"<MirrorSet {sorted(self._mirrors)} in {self._setup.settings.state_dir}>"

    async def __aenter__(self) -> MirrorSet:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def source(self, url: str, *, branch: str) -> mirroring.TrackedBranch:
        """The `GitSource` for one branch of ``url``; opens the mirror and starts its poll
        loop the first time the remote is asked for."""
        mirror = await self.mirror(url)
        return mirror.track(branch)

    async def mirror(self, url: str) -> mirroring.GitMirror:
        """The mirror of ``url``, opened (and polling) on first use."""
        remote = remotes.parse(url)
        async with self._opening:
            if self._closed:
                raise RuntimeError(f"{self!r} is closed")
            mirror = self._mirrors.get(remote.identity)
            if mirror is None:
                mirror = await mirroring.GitMirror.open(remote, self._setup)
                self._mirrors[remote.identity] = mirror
                self._polls[remote.identity] = asyncio.create_task(
                    mirror.poll(), name=f"poll {remote.url}"
                )
            return mirror

    def trigger(self, urls: Iterable[str]) -> tuple[str, ...]:
        """Wake the poll loop of every mirror matching one of ``urls``; returns their URLs."""
        keys = {key for url in urls if (key := remotes.match_key(url)) is not None}
        woken = []
        for mirror in self._mirrors.values():
            if mirror.remote.match_key in keys:
                mirror.wake()
                woken.append(mirror.url)
        return tuple(sorted(woken))

    async def close(self) -> None:
        """Cancel and await every poll loop, then close every mirror."""
        async with self._opening:
            self._closed = True
        for task in self._polls.values():
            task.cancel()
        await asyncio.gather(*self._polls.values(), return_exceptions=True)
        await asyncio.gather(*(mirror.close() for mirror in self._mirrors.values()))
        self._polls.clear()
