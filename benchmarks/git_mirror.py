"""Figures for the Git mirror: fetching and reading a large fleet repository.

A repository of BUNDLES directories of FILES manifests each (the issue's figure is
1,000 x 20 = 20,000 files) is published locally, then one mirror fetches it cold,
fetches again after a one-file commit, and reads every bundle cold, warm (the same
commit again) and after the one-file commit (one bundle changed). Each phase reports
its wall time and the process's peak resident memory during that phase (Linux resets
the peak through /proc/self/clear_refs; elsewhere the figure is the peak so far).

The remote is local (file://), so the figures are of fleet and dulwich, not of a
network. Run: ``python -m benchmarks.git_mirror [--bundles N --files M] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
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
    peak_mib: float
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


async def measure(bundles: int, files: int, workdir: Path) -> list[Phase]:
    origin = workdir / "origin.git"
    phases: list[Phase] = []

    def record(name: str, started: float, detail: str = "") -> None:
        phases.append(Phase(name, time.perf_counter() - started, _peak_mib(), detail))

    content = repository(bundles, files)
    _reset_peak()
    started = time.perf_counter()
    await asyncio.to_thread(publishing.publish_files, origin, files=content, message="fleet")
    record("publish (setup, not the mirror)", started, f"{len(content)} files")

    settings = GitSettings(state_dir=workdir / "state", fetch_timeout=600)
    setup = mirroring.MirrorSetup(
        settings, None, SourceMetrics(CollectorRegistry()), SystemClock(), random.Random(1)
    )
    mirror = await mirroring.GitMirror.open(remotes.parse(str(origin)), setup)
    try:
        source = mirror.track("main")
        _reset_peak()
        started = time.perf_counter()
        result = await mirror.fetch()
        record("first fetch (cold)", started, f"{result.pack_bytes / 2**20:.1f} MiB pack")
        first = _head(source.head)

        changed = dict(content)
        changed["bundles/b0000/f00.yaml"] = b"kind: ConfigMap\n"
        await asyncio.to_thread(publishing.publish_files, origin, files=changed, message="one")
        _reset_peak()
        started = time.perf_counter()
        result = await mirror.fetch()
        record("fetch after a one-file commit", started, f"{result.pack_bytes} bytes pack")
        second = _head(source.head)

        for name, revision in [
            ("read every bundle (cold)", first),
            ("read every bundle again (warm)", first),
            ("read every bundle after the commit", second),
        ]:
            _reset_peak()
            started = time.perf_counter()
            read = await _read_all(mirror, revision, bundles)
            record(name, started, f"{read} files")
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
        "| phase | time | peak RSS | |",
        "| --- | ---: | ---: | --- |",
    ]
    lines += [
        f"| {phase.name} | {phase.seconds:.2f} s | {phase.peak_mib:.0f} MiB | {phase.detail} |"
        for phase in phases
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
