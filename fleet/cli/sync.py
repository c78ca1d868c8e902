"""`fleet sync CLUSTER`: ask a running fleet to sync one cluster now.

It queues the sync through the API (``POST /api/v1/clusters/NAME/sync``) and returns:
the sync runs on one of fleet's workers, and `fleet status --cluster NAME` shows how it
went. The request needs the API token, from ``--token`` or ``FLEET_API_TOKEN``; a fleet
without a token configured refuses every write, and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import urllib.parse
from typing import Any

from fleet.cli import apiclient


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="ask a running fleet to sync one cluster now",
        description="Queue an immediate sync of CLUSTER (needs the API token).",
    )
    parser.add_argument("cluster", metavar="CLUSTER", help="the cluster's name in the inventory")
    apiclient.add_connection_arguments(parser, token=True)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(apiclient.TOKEN_VARIABLE) or None
    api = apiclient.FleetApi(args.server, token=token, timeout=args.timeout)
    answer = asyncio.run(_request(api, args.cluster))
    print(
        f"sync of {answer['cluster']} queued; see how it goes with:"
        f" fleet status --cluster {answer['cluster']}"
    )
    return 0


async def _request(api: apiclient.FleetApi, cluster: str) -> Any:
    async with api:
        return await api.post(f"/api/v1/clusters/{urllib.parse.quote(cluster, safe='')}/sync")
