"""`fleet demo`: simulated clusters, the example repository, the controller and the
API, then one change rolled out -- all on this machine (see `fleet.runtime.demo`)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from fleet.runtime import demo, logs


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run fleet on simulated clusters, then roll out one change",
        description="Start N simulated clusters, publish the example fleet in clusters/ "
        "as a local Git repository, run the controller and the status API, show the "
        "clusters converging, then commit a change and show it reaching the clusters it "
        "targets.",
    )
    parser.add_argument("--clusters", type=int, default=10, help="how many clusters (default 10)")
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path("clusters"),
        help="the fleet to publish (default clusters/)",
    )
    parser.add_argument(
        "--state", type=Path, default=Path("state/demo"),
        help="where the demo writes everything, afresh each run (default state/demo)",
    )  # fmt: skip
    parser.add_argument("--listen", default="127.0.0.1:8080", help="the API's address")
    parser.add_argument(
        "--exit-when-converged", action="store_true", help="exit 0 once the change has converged"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per rollout")
    parser.add_argument("--log-level", default=None, help="debug, info, warning (default), error")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level or os.environ.get("FLEET_LOG_LEVEL") or "warning")
    options = demo.DemoOptions(
        clusters=args.clusters,
        repository=args.repo,
        state=args.state,
        listen=args.listen,
        exit_when_converged=args.exit_when_converged,
        timeout=args.timeout,
    )
    return asyncio.run(demo.demo(options))
