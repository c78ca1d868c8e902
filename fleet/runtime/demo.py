"""`fleet demo`: the whole product on one machine, with nothing to set up.

A newcomer should see, in a minute, what fleet does on a real fleet: a first sync that
puts the example repository (`clusters/`) on clusters of three environments, and then a
change -- one commit -- that reaches exactly the clusters it targets. So the demo:

1. starts simulated clusters (`fleet.sim`, in this process), labelled ``env`` (dev,
   staging, prod) and ``region``, and writes their kubeconfigs and an inventory;
2. publishes `clusters/` as a local Git repository (a bare repository on disk);
3. runs the controller and the status API, exactly as `fleet run` does, with an API
   token so that `fleet sync` works too;
4. shows progress until every cluster is ready, then commits a change (podinfo's
   default image tag, which only prod uses) and shows it reaching the prod clusters
   and no other, counted from the simulator's own request counts;
5. with ``--exit-when-converged``, exits 0; otherwise keeps running, with the commands
   to try next (drift: ``kubectl scale`` is reverted and reported), until Ctrl-C.

Everything it writes is under ``--state`` (default ``state/demo``), started afresh on
each run.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from fleet.runtime import running, signals
from fleet.sim import config, serving
from fleet.sources import publishing
from fleet.structs import errors
from fleet.structs.fleetview import ClusterState, ClusterView
from fleet.structs.objects import Revision
from fleet.structs.settings import (
    ApiSettings,
    ClientSettings,
    EngineSettings,
    GitSettings,
    Secret,
    Settings,
)

CHANGE_FROM = 'tag: "6.7.0"'
CHANGE_TO = 'tag: "6.7.2"'
"""The demo's second commit: podinfo's default tag, which only the prod target uses."""

PROGRESS_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class DemoOptions:
    clusters: int = 10
    repository: Path = Path("clusters")
    state: Path = Path("state/demo")
    listen: str = "127.0.0.1:8080"
    exit_when_converged: bool = False
    timeout: float = 300.0


async def demo(options: DemoOptions, *, out: TextIO = sys.stdout) -> int:
    """Run the demo; 0 when it ends as planned."""
    if not (options.repository / "fleet.yaml").is_file():
        raise errors.UserError(
            "no fleet.yaml here: run the demo from the project's top folder, or give --repo",
            where=str(options.repository),
        )
    state = options.state
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    show = _Printer(out)
    sim_settings = config.SimConfig(clusters=options.clusters, rollout_delay=1.0)
    async with serving.run(sim_settings) as sim:
        inventory = await sim.write_files(state / "sim")
        origin = state / "fleet.git"
        first = await asyncio.to_thread(
            publishing.publish_directory,
            origin,
            directory=options.repository,
            message="The example fleet",
        )
        token = secrets.token_urlsafe(24)
        (state / "api-token").write_text(token + "\n")
        settings = Settings(
            git=GitSettings(url=str(origin.resolve()), state_dir=state / "git", poll_interval=5),
            api=ApiSettings(listen=options.listen, token=Secret(token)),
            clients=ClientSettings(inventory=inventory),
            engine=EngineSettings(health_interval=0.5),
        )
        show.line(f"fleet demo: {options.clusters} simulated clusters at {sim.base_url}")
        show.line(
            f"  repository {origin} ({first[:12]}: the example fleet in {options.repository}/)"
        )
        async with running.running(settings, environ={}) as fleet:
            show.line(f"  status API {fleet.url}  (try: fleet status --server {fleet.url})")
            with signals.Stop() as stop:
                if not await _rollout(
                    fleet, first, show=show, stop=stop, limit=options.timeout, what="first sync"
                ):
                    return 1
                sim.reset_counters()
                second = await asyncio.to_thread(_change, origin, options.repository)
                fleet.mirrors.trigger([str(origin.resolve())])
                show.line(
                    f"\ncommitted {second[:12]}: podinfo's default {CHANGE_FROM} -> "
                    f"{CHANGE_TO} (only the prod target uses the default)"
                )
                if not await _rollout(
                    fleet, second, show=show, stop=stop, limit=options.timeout, what="change"
                ):
                    return 1
                _show_writes(show, fleet, sim)
                if options.exit_when_converged:
                    return 0
                _show_next(show, fleet, state, token)
                await stop.wait()
    return 0


def _change(origin: Path, repository: Path) -> Revision:
    files: dict[str, bytes | publishing.Symlink] = {}
    for path in sorted(repository.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[path.relative_to(repository).as_posix()] = path.read_bytes()
    spec = files["fleet.yaml"]
    assert isinstance(spec, bytes)
    if CHANGE_FROM.encode() not in spec:
        raise errors.UserError(f"the demo's change needs {CHANGE_FROM!r} in it", where="fleet.yaml")
    files["fleet.yaml"] = spec.replace(CHANGE_FROM.encode(), CHANGE_TO.encode(), 1)
    return publishing.publish_files(origin, files=files, message=f"podinfo: default {CHANGE_TO}")


async def _rollout(
    fleet: running.Fleet,
    revision: Revision,
    *,
    show: _Printer,
    stop: signals.Stop,
    limit: float,
    what: str,
) -> bool:
    """Show progress until every cluster is ready at ``revision``; False on timeout or stop."""
    started = time.monotonic()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            views = fleet.controller.board.clusters()
            counts = Counter(_state_at(view, revision) for view in views)
            elapsed = time.monotonic() - started
            show.progress(
                f"{what} of {revision[:12]}: {counts['ready']}/{len(views)} clusters ready"
                + "".join(
                    f", {n} {state}" for state, n in sorted(counts.items()) if state != "ready"
                )
                + f" ({elapsed:.1f} s)"
            )
            if views and counts["ready"] == len(views):
                show.done()
                return True
            if elapsed > limit:
                show.done()
                show.line(
                    f"not converged within {limit:g} s; see fleet status --server {fleet.url}"
                )
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PROGRESS_INTERVAL):
                    await asyncio.shield(stopping)
            if stopping.done():
                show.done()
                return False
    finally:
        stopping.cancel()
        # The demo goes on (or drains) after this: leave no waiter of ours behind.
        await asyncio.wait([stopping])


def _state_at(view: ClusterView, revision: Revision) -> str:
    if view.revision != revision and view.state is ClusterState.READY:
        return "syncing"
    return view.state.value


def _show_writes(show: _Printer, fleet: running.Fleet, sim: serving.Simulator) -> None:
    changed: list[str] = []
    untouched: list[str] = []
    for view in fleet.controller.board.clusters():
        writes = sim.counters(view.name).writes
        env = view.labels.get("env", "?")
        (changed if writes else untouched).append(f"{view.name} ({env}, {writes} writes)")
    show.line(f"  written to: {', '.join(changed) or 'none'}")
    show.line(f"  untouched:  {len(untouched)} clusters (no request that changes anything)")


def _show_next(show: _Printer, fleet: running.Fleet, state: Path, token: str) -> None:
    kubeconfig = state / "sim" / "sim-002.kubeconfig"
    # `make demo` runs .venv/bin/fleet, which is not on PATH: show the command as run.
    command = sys.argv[0] if sys.argv[0].endswith("/fleet") else "fleet"
    show.line("\nfleet keeps running. Try, in another terminal:")
    show.line(f"  {command} status --server {fleet.url}")
    show.line(
        f"  kubectl --kubeconfig {kubeconfig} -n podinfo scale deployment podinfo --replicas 7"
    )
    show.line(f"  {command} status --server {fleet.url} --cluster sim-002   # the drift, reverted")
    show.line(f"  FLEET_API_TOKEN={token} {command} sync sim-000 --server {fleet.url}")
    show.line("Ctrl-C stops it.")


class _Printer:
    """Lines for logs, and one line rewritten in place on a terminal."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._live = out.isatty()
        self._last = ""

    def line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()

    def progress(self, text: str) -> None:
        if self._live:
            self._out.write("\r" + text.ljust(len(self._last)))
            self._out.flush()
        elif text.split(" (", 1)[0] != self._last.split(" (", 1)[0]:
            self.line(text)
        self._last = text

    def done(self) -> None:
        if self._live and self._last:
            self._out.write("\n")
            self._out.flush()
        self._last = ""
