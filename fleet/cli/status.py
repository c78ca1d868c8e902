"""`fleet status`: what runs where, and is it healthy -- as a table, or as JSON.

Without ``--cluster`` it shows one row per cluster (state, revision, last sync result,
recent drift, time of the last sync, connection) under a line about the fleet (the
revision it serves, the history store). With ``--cluster NAME`` it shows that cluster's
bundles, their objects and recent drift. ``--output json`` prints what the API
answered, for scripts.

Rendering is separate from fetching and takes the current time as an argument, so the
tables are tested with fixed input; the command itself only fetches (following the
cluster list's pages) and prints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fleet.cli import apiclient

SHORT_SHA = 12


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show the clusters of a running fleet, or one cluster's bundles and objects",
        description="Ask a running fleet (its API) what runs where and how it is doing.",
    )
    parser.add_argument("--cluster", help="show this cluster's bundles, objects and drift")
    parser.add_argument(
        "--output", choices=("table", "json"), default="table", help="table (default) or json"
    )
    apiclient.add_connection_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    api = apiclient.FleetApi(args.server, timeout=args.timeout)
    text = asyncio.run(_fetch_and_render(api, cluster=args.cluster, output=args.output))
    print(text)
    return 0


async def _fetch_and_render(api: apiclient.FleetApi, *, cluster: str | None, output: str) -> str:
    now = datetime.now(UTC)
    async with api:
        if cluster is not None:
            detail = await api.get(f"/api/v1/clusters/{urllib.parse.quote(cluster, safe='')}")
            if output == "json":
                return json.dumps(detail, indent=2)
            return render_cluster(detail, now=now)
        overview = await api.get("/api/v1/fleet")
        clusters = await _all_clusters(api)
    if output == "json":
        return json.dumps({"fleet": overview, "clusters": clusters}, indent=2)
    return render_fleet(overview, clusters, now=now)


async def _all_clusters(api: apiclient.FleetApi) -> list[dict[str, Any]]:
    page = await api.get("/api/v1/clusters", params={"limit": "1000"})
    clusters: list[dict[str, Any]] = list(page["items"])
    while page.get("next"):
        page = await api.get(page["next"])
        clusters += page["items"]
    return clusters


def render_fleet(
    overview: dict[str, Any], clusters: Sequence[dict[str, Any]], *, now: datetime
) -> str:
    """The fleet line and the table of clusters."""
    rows = [
        [
            item["name"],
            item["state"],
            _sha(item["revision"]),
            item["result"] or "-",
            str(item["drift"]) if item["drift"] else "-",
            _age(item["synced_at"], now),
            _connection(item["connection"]),
        ]
        for item in clusters
    ]
    headers = ["CLUSTER", "STATE", "REVISION", "RESULT", "DRIFT", "LAST SYNC", "CONNECTION"]
    return "\n".join([_summary(overview), "", table(headers, rows)])


def _summary(overview: dict[str, Any]) -> str:
    source, history = overview["source"], overview["history"]
    states = ", ".join(
        f"{count} {state}" for state, count in overview["clusters"]["by_state"].items() if count
    )
    line = (
        f"{overview['clusters']['total']} clusters ({states or 'none'}) at"
        f" {_sha(source['revision'])} of {source['repository']} {source['branch']};"
        f" history in {history['backend']}"
    )
    if source.get("error"):
        line += f"\nrevision {_sha(source['failed_revision'])} failed to load: {source['error']}"
    if history["dropped"]:
        line += f"\nhistory dropped {history['dropped']} rows"
    return line


def render_cluster(detail: dict[str, Any], *, now: datetime) -> str:
    """One cluster: a few lines about it, then its bundles, objects and recent drift."""
    labels = ",".join(f"{k}={v}" for k, v in sorted(detail["labels"].items())) or "-"
    lines = [
        f"cluster:    {detail['name']} ({labels})",
        f"state:      {detail['state']}",
        f"revision:   {detail['revision'] or '-'}",
        f"last sync:  {detail['result'] or '-'} {_age(detail['synced_at'], now)}"
        + (f" (trace {detail['trace_id']})" if detail["trace_id"] else ""),
        f"connection: {_connection(detail['connection'])}",
    ]
    if detail["error"]:
        lines.append(f"error:      {detail['error']} ({detail['failures']} failures in a row)")
    bundles = [
        [
            b["name"],
            b["state"],
            b["health"],
            _sha(b["revision"]),
            _changed(b["counts"]),
            b["message"],
        ]
        for b in detail["bundles"]
    ]
    lines += ["", table(["BUNDLE", "STATE", "HEALTH", "REVISION", "CHANGED", "MESSAGE"], bundles)]
    objects = [
        [b["name"], _object(o["object"]), o["action"], o["health"], o["message"]]
        for b in detail["bundles"]
        for o in b["objects"]
    ]
    lines += ["", table(["BUNDLE", "OBJECT", "ACTION", "HEALTH", "MESSAGE"], objects)]
    if detail["drift"]:
        drift = [
            [
                _age(d["observed_at"], now),
                _object(d["object"]),
                ",".join(d["fields"]),
                d["field_manager"] or "-",
                d["action"],
            ]
            for d in reversed(detail["drift"])
        ]
        lines += ["", table(["DRIFT", "OBJECT", "FIELDS", "BY", "ACTION"], drift)]
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, as kubectl prints them; the last is not padded."""
    if not rows:
        return "  ".join(headers) + "\n(none)"
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def _sha(revision: str | None) -> str:
    return revision[:SHORT_SHA] if revision else "-"


def _age(moment: str | None, now: datetime) -> str:
    """``5m ago``; a time in the future (another clock) is shown as it is."""
    if moment is None:
        return "never"
    when = datetime.fromisoformat(moment)
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return when.strftime("%Y-%m-%d %H:%M:%SZ")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def _connection(state: dict[str, Any] | None) -> str:
    if state is None:
        return "-"
    if state["last_error"] and state["phase"] != "ready":
        return f"{state['phase']}: {state['last_error']}"
    return str(state["phase"])


def _object(key: dict[str, str]) -> str:
    kind = f"{key['kind']}.{key['group']}" if key["group"] else key["kind"]
    return (
        f"{kind} {key['namespace']}/{key['name']}" if key["namespace"] else f"{kind} {key['name']}"
    )


def _changed(counts: dict[str, int]) -> str:
    changed = [
        f"{counts[action]} {action}"
        for action in ("created", "configured", "deleted", "failed")
        if counts[action]
    ]
    return ", ".join(changed) or "-"
