"""Figures for the simulator: memory of one `fleet sim` serving many clusters, and throughput.

One `fleet sim` process (plain HTTP, so that TLS does not blur the server's own cost)
serves CLUSTERS clusters; each gets OBJECTS objects by server-side apply over HTTP (a
namespace, then ConfigMaps, Deployments, Services, Secrets and a ServiceAccount in
it). The script reports the server's resident memory before and after, its CPU use
while idle (no per-cluster background work should show), and the requests per second
it sustains for three kinds of request: an apply that changes nothing (what a
GitOps controller in sync would send, if it sent anything), an apply that changes a
value (a real write), and a list of one namespace's ConfigMaps. The load comes from
a separate client process with CONNECTIONS concurrent connections, so client and
server each have a core of their own on a two-core machine.

Run: ``python -m benchmarks simulator [--clusters N --objects M --seconds S] [--quick]``.
The full run rewrites its section of docs/simulator.md; ``--quick`` (what the tests
run) uses 20 clusters of 5 objects and does not touch the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from benchmarks import reporting, workloads

DOC = reporting.DOCS / "simulator.md"
NAMESPACE = "bench"
APPLY = "application/apply-patch+yaml"
MODES = ("apply-unchanged", "apply-changed", "list")
TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True, slots=True)
class Target:
    """One cluster as the client sees it: base URL and token."""

    url: str
    token: str


def objects(count: int) -> list[tuple[str, dict[str, Any]]]:
    """`count` (path, manifest) pairs for one cluster, the namespace first."""
    made: list[tuple[str, dict[str, Any]]] = [
        ("/api/v1/namespaces/" + NAMESPACE,
         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
    ]  # fmt: skip
    kinds = itertools.cycle(["ConfigMap", "Deployment", "ConfigMap", "Service", "Secret",
                             "ConfigMap", "Deployment", "ServiceAccount"])  # fmt: skip
    for index, kind in zip(range(count - 1), kinds, strict=False):
        made.append(_manifest(kind, f"{kind.lower()}-{index}"))
    return made


def _manifest(kind: str, name: str) -> tuple[str, dict[str, Any]]:
    body = workloads.manifest(kind, name, NAMESPACE, "1.0")
    body["metadata"]["labels"]["bench"] = "yes"
    group = "/apis/apps/v1" if kind == "Deployment" else "/api/v1"
    return f"{group}/namespaces/{NAMESPACE}/{kind.lower()}s/{name}", body


def targets(out: Path) -> list[Target]:
    inventory = yaml.safe_load((out / "inventory.yaml").read_text())
    found = []
    for entry in inventory["clusters"]:
        kubeconfig = yaml.safe_load((out / entry["kubeconfig"]).read_text())
        found.append(Target(kubeconfig["clusters"][0]["cluster"]["server"],
                            kubeconfig["users"][0]["user"]["token"]))  # fmt: skip
    return found


async def _apply(
    session: aiohttp.ClientSession, target: Target, path: str, body: dict[str, Any]
) -> int:
    async with session.patch(
        target.url + path,
        data=json.dumps(body),
        params={"fieldManager": "bench"},
        headers={"Authorization": f"Bearer {target.token}", "Content-Type": APPLY},
    ) as response:
        await response.read()
        return response.status


async def populate(clusters: list[Target], count: int, connections: int) -> float:
    """Apply `count` objects to every cluster; return the objects per second."""
    manifests = objects(count)
    queue: asyncio.Queue[Target] = asyncio.Queue()
    for target in clusters:
        queue.put_nowait(target)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            target = queue.get_nowait()
            for path, body in manifests:
                status = await _apply(session, target, path, body)
                if status not in (200, 201):
                    raise RuntimeError(f"apply {path} failed with {status}")

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=connections)
    session = aiohttp.ClientSession(connector=connector, timeout=TIMEOUT)
    async with session, asyncio.TaskGroup() as group:
        for _ in range(connections):
            group.create_task(worker(session))
    return len(clusters) * count / (time.perf_counter() - started)


async def load(
    mode: str, clusters: list[Target], seconds: float, connections: int
) -> dict[str, Any]:
    """The client's side: `connections` loops sending `mode` requests for `seconds`."""
    configmaps = [m for m in objects(40) if m[1]["kind"] == "ConfigMap"][:1]
    path, body = configmaps[0]
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    deadline = time.perf_counter() + seconds

    async def one(session: aiohttp.ClientSession, target: Target) -> int:
        if mode == "list":
            async with session.get(
                f"{target.url}/api/v1/namespaces/{NAMESPACE}/configmaps",
                headers={"Authorization": f"Bearer {target.token}"},
            ) as response:
                await response.read()
                return response.status
        data = body if mode == "apply-unchanged" else {
            **body, "data": {**body["data"], "key0": f"changed {next(counter)}"}
        }  # fmt: skip
        return await _apply(session, target, path, data)

    async def loop(session: aiohttp.ClientSession, offset: int) -> None:
        nonlocal errors
        for turn in itertools.count(offset):
            if time.perf_counter() >= deadline:
                return
            target = clusters[(turn * 7919) % len(clusters)]
            started = time.perf_counter()
            status = await one(session, target)
            latencies.append(time.perf_counter() - started)
            errors += status >= 400

    connector = aiohttp.TCPConnector(limit=connections)
    started = time.perf_counter()
    session = aiohttp.ClientSession(connector=connector, timeout=TIMEOUT)
    async with session, asyncio.TaskGroup() as group:
        for index in range(connections):
            group.create_task(loop(session, index * 1000))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "mode": mode,
        "requests": len(latencies),
        "per_second": len(latencies) / elapsed,
        "errors": errors,
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
    }


async def _client(mode: str, out: Path, seconds: float, connections: int) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.simulator", "--client", mode, "--out", str(out),
        "--seconds", str(seconds), "--connections", str(connections),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(seconds + 120):
        output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the {mode} client failed")
    result: dict[str, Any] = json.loads(output)
    return result


async def measure(
    *, clusters: int, count: int, seconds: float, connections: int, workdir: Path
) -> list[tuple[str, str]]:
    settle = min(1.5, seconds)
    out = workdir / "out"
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fleet", "sim", "--clusters", str(clusters), "--plain-http",
        "--out", str(out), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None
    rows: list[tuple[str, str]] = []
    try:
        async with asyncio.timeout(120):
            ready = (await server.stdout.readline()).decode()
        if not re.search(r"\(port \d+\)", ready):
            raise RuntimeError(f"fleet sim did not start: {ready!r}")
        pid = server.pid
        start_mib = reporting.rss_mib(pid)
        rows.append(("memory (RSS) at start, no cluster used yet", f"{start_mib:.0f} MiB"))
        every = targets(out)
        rate = await populate(every, count, connections)
        rows.append((f"populate: server-side apply of {clusters * count:,} new objects",
                     f"{rate:,.0f} objects/s"))  # fmt: skip
        await asyncio.sleep(settle)  # rollouts finish 0.5 s after each Deployment's apply
        rows.append((f"memory (RSS) with {clusters:,} clusters x {count} objects",
                     f"{reporting.rss_mib(pid):.0f} MiB"))  # fmt: skip
        before = reporting.cpu_seconds(pid)
        await asyncio.sleep(seconds)
        idle = (reporting.cpu_seconds(pid) - before) / seconds
        rows.append(("CPU while idle (share of one core)", f"{100 * idle:.1f} %"))
        labels = {
            "apply-unchanged": "server-side apply that changes nothing",
            "apply-changed": "server-side apply that changes a value (a write)",
            "list": "list of one namespace's ConfigMaps",
        }
        for mode in MODES:
            result = await _client(mode, out, seconds, connections)
            rows.append((labels[mode],
                         f"{result['per_second']:,.0f} requests/s (p50 {result['p50_ms']:.1f} ms, "
                         f"p99 {result['p99_ms']:.1f} ms, {result['errors']} errors)"))  # fmt: skip
        rows.append(("memory (RSS) at the end", f"{reporting.rss_mib(pid):.0f} MiB"))
    finally:
        server.terminate()
        async with asyncio.timeout(30):
            await server.wait()
    return rows


def table(rows: Sequence[tuple[str, str]], *, header: str) -> str:
    lines = [header, "", "| figure | value |", "| --- | ---: |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks simulator")
    parser.add_argument("--clusters", type=int, default=1_000)
    parser.add_argument("--objects", type=int, default=20, help="objects per cluster")
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput figure")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="20 clusters x 5 objects, 0.6 s")
    parser.add_argument("--doc", type=Path, default=DOC, help="the page whose figures to rewrite")
    parser.add_argument("--client", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        result = asyncio.run(load(args.client, targets(args.out), args.seconds, args.connections))
        print(json.dumps(result))
        return 0
    clusters, count, seconds = (
        (20, 5, 0.6) if args.quick else (args.clusters, args.objects, args.seconds)
    )
    with tempfile.TemporaryDirectory(prefix="fleet-sim-bench-") as workdir:
        rows = asyncio.run(
            measure(clusters=clusters, count=count, seconds=seconds,
                    connections=args.connections, workdir=Path(workdir))
        )  # fmt: skip
    command = "python -m benchmarks simulator" + (" --quick" if args.quick else "")
    header = (
        f"`{command}`: one `fleet sim` process, {clusters:,} clusters x {count} objects, "
        f"{args.connections} connections from a separate client process, {seconds:g} s per "
        f"throughput figure; {reporting.machine()}."
    )
    text = table(rows, header=header)
    print(text)
    if not args.quick:
        reporting.rewrite_section(args.doc, "simulator", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
