"""`fleet sim`: serve simulated Kubernetes clusters until interrupted.

It writes one kubeconfig per cluster, `inventory.yaml` and `admin-token` into `--out`,
then prints exactly one line saying where it serves -- scripts and benchmarks wait
for that line -- and runs until SIGINT or SIGTERM, which end it cleanly with status 0.
When standard output is a terminal (`make demo`), it also shows how to point kubectl
at a cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from fleet.sim import config, faults, serving
from fleet.structs import errors


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="serve simulated Kubernetes clusters (for tests, benchmarks and the demo)",
        description="Serve N virtual Kubernetes clusters from one process, each at "
        "https://127.0.0.1:PORT/clusters/NAME with its own token.",
    )
    parser.add_argument("--clusters", type=int, default=3, help="how many clusters (default 3)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: any)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("state/sim"),
        help="where to write kubeconfigs, inventory.yaml, admin-token",
    )
    parser.add_argument(
        "--labels",
        default=config.DEFAULT_LABELS,
        help='label values spread round robin, e.g. "env=dev,prod;region=eu,us"',
    )
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="serve HTTP instead of HTTPS (kubectl will not send tokens)",
    )
    parser.add_argument(
        "--rollout-delay",
        type=float,
        default=0.5,
        help="seconds until a workload reports a finished rollout",
    )
    parser.add_argument(
        "--history-window",
        type=int,
        default=1000,
        help="events kept per cluster for watch resumption",
    )
    parser.add_argument(
        "--bookmark-interval", type=float, default=60.0, help="seconds between watch bookmarks"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault decisions")
    group = parser.add_argument_group(
        "faults (for every cluster; the admin endpoint sets them per cluster)"
    )
    group.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    group.add_argument(
        "--error-rate", type=float, default=0.0, help="share of requests that fail (0..1)"
    )
    group.add_argument(
        "--error-codes",
        default="500,503,429",
        help="codes injected errors use (some of 500,503,429)",
    )
    group.add_argument(
        "--drop-watches-after",
        type=float,
        default=None,
        help="cut watch connections after this many seconds",
    )
    group.add_argument(
        "--outage",
        choices=[str(o) for o in faults.Outage],
        default="none",
        help="answer every request with 503 (unavailable) or a reset",
    )
    parser.set_defaults(handler=run)  # fmt: skip


def settings_from(args: argparse.Namespace) -> config.SimConfig:
    """The simulator settings the flags ask for; UserError naming the flag if one is wrong."""
    try:
        labels = config.LabelSpread.parse(args.labels)
    except ValueError as error:
        raise errors.UserError(str(error), where="--labels") from None
    try:
        codes = tuple(int(code) for code in args.error_codes.split(",") if code.strip())
        chosen = faults.Faults(
            latency=args.latency,
            error_rate=args.error_rate,
            error_codes=codes,
            drop_watches_after=args.drop_watches_after,
            outage=faults.Outage(args.outage),
        )
        return config.SimConfig(
            clusters=args.clusters,
            port=args.port,
            tls=not args.plain_http,
            labels=labels,
            rollout_delay=args.rollout_delay,
            history_window=args.history_window,
            bookmark_interval=args.bookmark_interval,
            faults=chosen,
            seed=args.seed,
        )
    except ValueError as error:
        raise errors.UserError(str(error), where="fleet sim") from None


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    return asyncio.run(serve(settings, args.out, explain=sys.stdout.isatty()))


def announcement(sim: serving.Simulator, out: Path, inventory: Path, *, explain: bool) -> str:
    """The ready line; on a terminal, followed by how to use a cluster with kubectl."""
    line = (
        f"fleet sim: serving {len(sim.names)} clusters at {sim.base_url}/clusters/<name> "
        f"(port {sim.port}); kubeconfigs and {inventory.name} in {out}"
    )
    if not explain:
        return line
    more = " ..." if len(sim.names) > 5 else ""
    return (
        f"{line}\n"
        f"  clusters: {', '.join(sim.names[:5])}{more}\n"
        f"  try:      kubectl --kubeconfig {out / (sim.names[0] + '.kubeconfig')} get ns\n"
        f"  stop with Ctrl-C"
    )


async def serve(settings: config.SimConfig, out: Path, *, explain: bool) -> int:
    """Serve until SIGINT or SIGTERM; 0 when stopped that way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with serving.run(settings) as sim:
            try:
                inventory = await sim.write_files(out)
            except OSError as error:
                raise errors.UserError(
                    f"cannot write files: {error.strerror}", where=str(out)
                ) from None
            print(announcement(sim, out, inventory, explain=explain), flush=True)
            await stop.wait()
    except OSError as error:
        raise errors.UserError(
            f"cannot listen on port {settings.port}: {error.strerror}", where="--port"
        ) from None
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return 0
