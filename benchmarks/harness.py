"""The fleet-scale benchmarks' rig: `fleet sim` and `fleet run` as two processes.

What a fleet-scale figure claims is what the controller costs, so the controller and
the simulated clusters never share a process: the simulator is `fleet sim` (counting
every request each cluster serves, read through its admin endpoint), the controller is
`fleet run` exactly as a user starts it, and this process only makes commits, calls
the two processes' HTTP APIs and reads the controller's CPU and memory from /proc.

Time is read the way a user would read it: a commit is "converged" when the status API
shows every cluster ready (applied and healthy) at that revision, and a cluster's own
time is the end of its sync that got there (``synced_at``), so that polling the API
does not blur the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks import reporting, workloads
from fleet.sources import publishing

TIMEOUT = aiohttp.ClientTimeout(total=120)
POLL = 1.0
"""Seconds between two looks at the status API while waiting for convergence: the
figures come from each cluster's `synced_at`, so looking more often would only add load."""


class BenchmarkError(RuntimeError):
    """A benchmark could not run as planned (a process did not start, nothing converged)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Simulator:
    """A running `fleet sim`: where it serves, its admin token and its output folder."""

    base_url: str
    admin_token: str
    out: Path
    pid: int

    @property
    def inventory(self) -> Path:
        return self.out / "inventory.yaml"

    async def counters(self) -> dict[str, dict[str, int]]:
        """Requests served so far by every cluster that has been used, by verb."""
        return await self._admin("GET", "/admin/counters")  # type: ignore[no-any-return]

    async def reset_counters(self) -> None:
        await self._admin("DELETE", "/admin/counters")

    async def _admin(self, method: str, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.request(method, self.base_url + path, headers=headers) as response,
        ):
            if response.status != 200:
                raise BenchmarkError(f"{method} {path}: {response.status} {await response.text()}")
            return await response.json()


@contextlib.asynccontextmanager
async def simulator(
    workdir: Path, clusters: int, *, tls: bool = False, rollout_delay: float = 0.5
) -> AsyncIterator[Simulator]:
    """Run ``fleet sim`` with ``clusters`` clusters until the block ends."""
    out = workdir / "sim"
    args = ["sim", "--clusters", str(clusters), "--out", str(out)]
    args += ["--rollout-delay", str(rollout_delay)] + ([] if tls else ["--plain-http"])
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fleet", *args, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(300):
            ready = (await process.stdout.readline()).decode()
        found = re.search(r"https?://127\.0\.0\.1:\d+", ready)
        if found is None:
            raise BenchmarkError(f"fleet sim did not start: {ready!r}")
        token = (out / "admin-token").read_text().strip()
        yield Simulator(found.group(0), token, out, process.pid)
    finally:
        await _stop(process)


@dataclasses.dataclass(frozen=True, slots=True)
class Controller:
    """A running `fleet run`: its API, its process and the secret its webhook checks."""

    url: str
    pid: int
    origin: Path
    webhook_secret: str

    async def trigger(self) -> None:
        """Tell fleet a push happened (a signed GitHub push webhook), so it fetches now."""
        body = json.dumps({"ref": "refs/heads/main",
                           "repository": {"clone_url": self.origin.as_uri()}}).encode()  # fmt: skip
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}",
                   "Content-Type": "application/json"}  # fmt: skip
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.post(self.url + "/hooks/git", data=body, headers=headers) as response,
        ):
            answer = await response.json()
            if response.status != 202 or not answer.get("triggered"):
                raise BenchmarkError(f"the webhook woke no mirror: {response.status} {answer}")

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        async with (
            aiohttp.ClientSession(timeout=TIMEOUT) as session,
            session.get(self.url + path, params=params) as response,
        ):
            if response.status != 200:
                raise BenchmarkError(f"GET {path}: {response.status} {await response.text()}")
            return await response.json()

    async def clusters(self) -> list[dict[str, Any]]:
        """Every cluster as `/api/v1/clusters` lists it, all pages."""
        found: list[dict[str, Any]] = []
        params = {"limit": "500"}
        while True:
            page = await self.get("/api/v1/clusters", params)
            found += page["items"]
            if not page.get("next_cursor"):
                return found
            params = {"limit": "500", "cursor": page["next_cursor"]}


@contextlib.asynccontextmanager
async def controller(
    workdir: Path, *, origin: Path, inventory: Path, options: Sequence[str] = ()
) -> AsyncIterator[Controller]:
    """Run ``fleet run`` on ``origin`` (an absolute path) and ``inventory`` until the
    block ends.

    Its log goes to ``workdir/fleet.log``; the poll interval is long, so that a
    benchmark's commits arrive by webhook, when the benchmark says so.
    """
    secret = secrets.token_hex(16)
    log = (workdir / "fleet.log").open("wb")
    args = ["run", "--repo", str(origin), "--inventory", str(inventory),
            "--git-state-dir", str(workdir / "git"), "--listen", "127.0.0.1:0",
            "--poll-interval", "3600", *options]  # fmt: skip
    # The secret goes by environment, not by argument, where `ps` would show it.
    environ = {**os.environ, "FLEET_WEBHOOK_SECRET": secret}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fleet", *args, stdout=log, stderr=asyncio.subprocess.PIPE,
        env=environ,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        url = None
        async with asyncio.timeout(300):
            async for line in process.stderr:
                log.write(line)
                if found := re.search(rb"API at (http://127\.0\.0\.1:\d+)", line):
                    url = found.group(1).decode()
                    break
        if url is None:
            raise BenchmarkError(f"fleet run did not start; see {workdir / 'fleet.log'}")
        copying = asyncio.ensure_future(_copy(process.stderr, log))
        try:
            yield Controller(url, process.pid, origin, secret)
        finally:
            await _stop(process)
            await copying
    finally:
        log.close()


async def _copy(stream: asyncio.StreamReader, log: Any) -> None:
    async for line in stream:
        log.write(line)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(60):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


@dataclasses.dataclass(frozen=True, slots=True)
class Convergence:
    """A commit's way to every cluster: the whole, and each cluster's own time."""

    total: float
    """Seconds from the trigger until the last cluster was ready at the revision."""
    fetched: float
    """Seconds from the trigger until fleet had fetched and loaded the revision."""
    per_cluster: tuple[float, ...]
    """Seconds from the trigger until each cluster was ready, sorted."""

    def percentile(self, share: float) -> float:
        return percentile(self.per_cluster, share)


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def converged(
    fleet: Controller, revision: str, *, since: float, within: float
) -> Convergence:
    """Wait until every cluster is ready at ``revision``; ``since`` is the trigger's
    wall-clock time (``time.time()``)."""
    deadline = time.monotonic() + within
    loaded: float | None = None
    while True:
        if loaded is None:
            source = (await fleet.get("/api/v1/fleet"))["source"]
            if source["revision"] == revision:
                loaded = _seconds(source["loaded_at"]) - since
        if loaded is not None:
            views = await fleet.clusters()
            ready = [v for v in views if v["state"] == "ready" and v["revision"] == revision]
            if views and len(ready) == len(views):
                times = sorted(max(0.0, _seconds(v["synced_at"]) - since) for v in ready)
                return Convergence(max(times[-1], loaded), loaded, tuple(times))
        if time.monotonic() > deadline:
            raise BenchmarkError(f"{revision[:12]} not converged within {within:g} s")
        await asyncio.sleep(POLL)


@contextlib.asynccontextmanager
async def managing(
    workdir: Path,
    sim: Simulator,
    workload: workloads.Workload,
    *,
    within: float,
    inventory: Path | None = None,
    options: Sequence[str] = (),
) -> AsyncIterator[tuple[Controller, Convergence]]:
    """A new repository holding ``workload`` at version 1.0, and `fleet run` keeping
    ``sim``'s clusters (or ``inventory``'s) in it; yields once they converged, with the
    time that took from fleet's start."""
    origin = workdir / "fleet.git"
    first = publishing.publish_files(origin, files=workload.files("1.0"), message="1.0")
    started = time.time()
    async with controller(
        workdir, origin=origin, inventory=inventory or sim.inventory, options=options
    ) as fleet:
        yield fleet, await converged(fleet, first, since=started, within=within)


async def release(
    fleet: Controller, workload: workloads.Workload, version: str, *, within: float
) -> Convergence:
    """Commit ``workload`` at ``version``, send the push webhook, wait until converged."""
    revision = publishing.publish_files(
        fleet.origin, files=workload.files(version), message=version
    )
    pushed = time.time()
    await fleet.trigger()
    return await converged(fleet, revision, since=pushed, within=within)


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Sampler:
    """Peak resident memory and CPU seconds of one process over a stretch of time.

    Memory is sampled (every 0.1 s) because a peak between two readings would be lost
    otherwise; CPU seconds are the kernel's count, read at the start and the end.
    """

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak_mib = 0.0
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Sampler:
        self._cpu_start = reporting.cpu_seconds(self._pid)
        self._wall_start = time.monotonic()
        self.peak_mib = reporting.rss_mib(self._pid)
        self._task = asyncio.ensure_future(self._sample())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.cpu_seconds = reporting.cpu_seconds(self._pid) - self._cpu_start
        self.wall_seconds = time.monotonic() - self._wall_start
        self.peak_mib = max(self.peak_mib, reporting.rss_mib(self._pid))

    @property
    def cpu_percent(self) -> float:
        return 100 * self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0

    async def _sample(self) -> None:
        while True:
            self.peak_mib = max(self.peak_mib, reporting.rss_mib(self._pid))
            await asyncio.sleep(0.1)


def requests_by_verb(counters: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """Requests summed over clusters, by verb (``writes`` included), zeros left out."""
    total: dict[str, int] = {}
    for counts in counters.values():
        for verb, n in counts.items():
            total[verb] = total.get(verb, 0) + n
    return {verb: n for verb, n in sorted(total.items()) if n}


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` above 0 (a usage error otherwise)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, not {text!r}")
        return value

    return parse


def command(script: str, argv: Sequence[str] | None) -> str:
    """The command line that ran ``script`` with ``argv`` (None: from the shell)."""
    return " ".join(["python -m benchmarks", script, *(sys.argv[1:] if argv is None else argv)])


def header(command: str) -> str:
    """The line above a table: the command that made it, the machine it ran on and the
    versions of what ran."""
    versions = reporting.versions("aiohttp", "kubernetes_asyncio")
    return f"`{command}`; {reporting.machine()}; {versions}."


def table(head: Sequence[str], rows: Sequence[Sequence[str]], *, right: int = 1) -> str:
    """A Markdown table; columns from ``right`` on are right-aligned."""
    lines = ["| " + " | ".join(head) + " |"]
    lines.append("| " + " | ".join("---" if i < right else "---:" for i in range(len(head))) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
