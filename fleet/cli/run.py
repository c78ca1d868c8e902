"""`fleet run`: the controller, against real clusters, until SIGTERM.

Every setting is a flag and a ``FLEET_*`` variable (see docs/configuration.md, or
``fleet run --help``); the ones people set most have short flags: ``--repo``,
``--branch``, ``--inventory``, ``--listen``, ``--database-url``, ``--workers``,
``--poll-interval``. The standard OpenTelemetry variables (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_SERVICE_NAME``, ...) switch on trace export. A start-up problem (a bad inventory,
a repository that cannot be fetched, a port in use) is one line on stderr and exit
status 2; a graceful stop is status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any

from fleet.runtime import configuring, logs, running, signals
from fleet.structs.settings import Settings

logger = logging.getLogger("fleet")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the controller",
        description="Keep every cluster of the inventory in the state that the fleet "
        "repository declares. Every flag can also be given as the environment variable "
        "in brackets; a flag wins.",
        epilog="Example: fleet run --repo https://github.com/org/fleet.git "
        "--inventory inventory.yaml --database-url postgresql://fleet@db/fleet",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        help="debug, info (default), warning or error [FLEET_LOG_LEVEL]",
    )
    configuring.add_arguments(parser, into=Settings)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level or os.environ.get("FLEET_LOG_LEVEL") or "info")
    settings = configuring.load(args, os.environ, into=Settings)
    return asyncio.run(serve(settings))


async def serve(settings: Settings) -> int:
    """Run until a stop signal (0 after a graceful stop) or until this replica loses the
    leadership (1: Kubernetes restarts it as a candidate)."""
    async with running.running(settings, environ=os.environ) as fleet:
        with signals.Stop(on_reload=fleet.clusters.request_reload) as stop:
            logger.info("fleet is running; API at %s", fleet.url)
            stopping = asyncio.ensure_future(stop.wait())
            ended = asyncio.ensure_future(fleet.ended())
            await asyncio.wait([stopping, ended], return_when=asyncio.FIRST_COMPLETED)
            for waiter in (stopping, ended):
                waiter.cancel()
            # Before the drain starts: a waiter still pending when the loop closes is
            # "destroyed but pending", and one that failed would lose its exception.
            await asyncio.wait([stopping, ended])
    logger.info("fleet stopped")
    return 1 if fleet.lost_leadership else 0
