"""Figures for the Git mirror: fetching and reading a large fleet repository.

A repository of BUNDLES directories of FILES manifests each (the issue's figure is
1,000 x 20 = 20,000 files) is published locally, then one mirror fetches it cold,
fetches again after a one-file commit, and reads every bundle cold, warm (the same
commit again) and after the one-file commit (one bundle changed). Each phase reports
its wall time and the process's peak resident memory during that phase (Linux resets
the peak through /proc/self/clear_refs; elsewhere the figure is the peak so far), and
that peak above the process's resident memory just before the first fetch. The second
figure is the mirror's: the first also counts the interpreter, the imports and whatever
ran earlier in the process (``python -m benchmarks`` imports every script, ``make
bench`` runs them all in one process).

The commits are published by another process, so that the memory of building 20,000
files (which CPython keeps for reuse once freed) is neither counted nor lent to the
mirror.

The remote is local (file://), so the figures are of fleet and dulwich, not of a
network. Run: ``python -m benchmarks git_mirror [--bundles N --files M] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry

from benchmarks import reporting
from fleet.sources import mirroring, publishing, remotes
from fleet.sources.metrics import SourceMetrics
from fleet.structs.clock import SystemClock
from fleet.structs.objects import Revision
from fleet.structs.settings import GitSettings

_MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}, bundle: b{bundle:04d}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: main
          image: registry.example.com/{name}:1.{file}.0
          resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}
"""


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    seconds: float
    peak_mib: float | None
    """None for a phase run by another process."""
    start_mib: float
    detail: str = ""


def repository(bundles: int, files: int, *, version: int = 0) -> dict[str, bytes]:
    """The fleet repository: fleet.yaml and bundles/bNNNN/fNN.yaml."""
    tree = {"fleet.yaml": f"bundles: {bundles}\nversion: {version}\n".encode()}
    for bundle in range(bundles):
        for file in range(files):
            name = f"app-{bundle}-{file}"
            text = _MANIFEST.format(name=name, bundle=bundle, file=file)
            tree[f"bundles/b{bundle:04d}/f{file:02d}.yaml"] = text.encode()
    return tree


def publish(origin: Path, *, bundles: int, files: int, one_changed: bool) -> int:
    """Commit the repository (with its first file changed, for the second commit) on
    main of ``origin``; returns the number of files. Run in the publishing process."""
    content = repository(bundles, files)
    if one_changed:
        content["bundles/b0000/f00.yaml"] = b"kind: ConfigMap\n"
    message = "one file" if one_changed else "fleet"
    publishing.publish_files(origin, files=content, message=message)
    return len(content)


async def measure(bundles: int, files: int, workdir: Path) -> list[Phase]:
    origin = workdir / "origin.git"
    phases: list[Phase] = []
    start_mib = reporting.rss_mib(os.getpid())
    publisher = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    def record(name: str, started: float, detail: str = "", *, here: bool = True) -> None:
        seconds = time.perf_counter() - started
        phases.append(Phase(name, seconds, _peak_mib() if here else None, start_mib, detail))

    async def publish_commit(*, one_changed: bool) -> int:
        call = functools.partial(
            publish, origin, bundles=bundles, files=files, one_changed=one_changed
        )
        return await asyncio.get_running_loop().run_in_executor(publisher, call)

    settings = GitSettings(state_dir=workdir / "state", fetch_timeout=600)
    setup = mirroring.MirrorSetup(
        settings, None, SourceMetrics(CollectorRegistry()), SystemClock(), random.Random(1)
    )
    with publisher:
        started = time.perf_counter()
        count = await publish_commit(one_changed=False)
        record("publish (setup, another process)", started, f"{count:,} files", here=False)
        mirror = await mirroring.GitMirror.open(remotes.parse(str(origin)), setup)
        try:
            source = mirror.track("main")
            start_mib = reporting.rss_mib(os.getpid())
            _reset_peak()
            started = time.perf_counter()
            result = await mirror.fetch()
            record("first fetch (cold)", started, f"{result.pack_bytes / 2**20:.1f} MiB pack")
            first = _head(source.head)

            await publish_commit(one_changed=True)
            _reset_peak()
            started = time.perf_counter()
            result = await mirror.fetch()
            record("fetch after a one-file commit", started, f"{result.pack_bytes:,} bytes pack")
            second = _head(source.head)

            for name, revision in [
                ("read every bundle (cold)", first),
                ("read every bundle again (warm)", first),
                ("read every bundle after the commit", second),
            ]:
                _reset_peak()
                started = time.perf_counter()
                read = await _read_all(mirror, revision, bundles)
                record(name, started, f"{read:,} files")
        finally:
            await mirror.close()
    return phases


async def _read_all(mirror: mirroring.GitMirror, revision: Revision, bundles: int) -> int:
    count = len([await mirror.read_file(revision, "fleet.yaml")])
    for bundle in range(bundles):
        count += len(await mirror.read_directory(revision, f"bundles/b{bundle:04d}"))
    return count


def _head(revision: Revision | None) -> Revision:
    if revision is None:
        raise RuntimeError("the fetch brought no head")
    return revision


def _reset_peak() -> None:
    with contextlib.suppress(OSError):  # not Linux: the peak is then the peak so far
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(phases: Sequence[Phase], *, bundles: int, files: int) -> str:
    lines = [
        f"Git mirror, {bundles} bundles x {files} files ({bundles * files} files), local remote",
        "",
        "| phase | time | peak RSS | peak above start | |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for phase in phases:
        peak, above = "", ""
        if phase.peak_mib is not None:
            peak = f"{phase.peak_mib:.0f} MiB"
            above = f"{phase.peak_mib - phase.start_mib:+.0f} MiB"
        lines.append(
            f"| {phase.name} | {phase.seconds:.2f} s | {peak} | {above} | {phase.detail} |"
        )
    measured = [phase for phase in phases if phase.peak_mib is not None]
    if measured:
        lines += [
            "",
            f"Peak above start: above the {measured[0].start_mib:.0f} MiB resident just "
            "before the first fetch.",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks git_mirror")
    parser.add_argument("--bundles", type=int, default=1_000)
    parser.add_argument("--files", type=int, default=20, help="files per bundle")
    parser.add_argument("--quick", action="store_true", help="20 bundles x 5 files")
    args = parser.parse_args(argv)
    bundles, files = (20, 5) if args.quick else (args.bundles, args.files)
    with tempfile.TemporaryDirectory(prefix="fleet-git-bench-") as workdir:
        phases = asyncio.run(measure(bundles, files, Path(workdir)))
    command = "python -m benchmarks git_mirror" + (
        " --quick" if args.quick else f" --bundles {bundles} --files {files}"
    )
    text = f"`{command}`; {reporting.machine()}.\n\n" + table(phases, bundles=bundles, files=files)
    print(text)
    if not args.quick:
        reporting.rewrite_section(reporting.BENCHMARKS_PAGE, "git_mirror", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
