"""`fleet render`: what one cluster would get, as the manifests the controller applies.

It loads a working tree as `fleet validate` does (`validate.load_source`), renders for
the one cluster asked for, and prints its objects as multi-document YAML in the order
the controller applies them (`ordering.apply_order`: cluster definitions first), each
document under a ``# Source: <file>`` comment as ``helm template`` writes it, so that
the output can be read, diffed (``kubectl diff -f -``) and traced back to its file.

A bundle with problems is blocked on the cluster, as the controller would block it: its
problems go to stderr and the status is 1, while the bundles that render are still
printed. A cluster or bundle name that does not exist is an error with the closest name.

The values of Secrets are replaced by `REDACTED` unless ``--show-secrets`` is given: the
output of a command in CI is a log, and Secret data never goes to a log.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from fleet.cli import validate
from fleet.planning import ordering
from fleet.planning.desired import DesiredBundle, DesiredObject
from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.objects import ClusterName
from fleet.structs.problems import Problem, did_you_mean

REDACTED = "(redacted: --show-secrets prints it)"
"""What a Secret's value reads as in the output without ``--show-secrets``."""

_SECRET_FIELDS = ("data", "stringData")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render",
        help="print the manifests one cluster would get, from a fleet repository on disk",
        description="Render a fleet repository on disk for one cluster of the inventory and "
        "print its objects as YAML, in apply order, each with the file it came from. "
        "Problems go to stderr. Exit status: 0, 1 if a bundle has problems, 2 if the "
        "repository, the inventory or a name given cannot be used.",
    )
    parser.add_argument("--cluster", required=True, metavar="NAME", help="the cluster")
    parser.add_argument("--bundle", metavar="B", help="only this bundle")
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="print the values of Secrets (by default they are redacted)",
    )
    validate.add_source_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    documents, problems = asyncio.run(
        render(
            repo=args.repo,
            inventory=args.inventory,
            cluster=args.cluster,
            bundle=args.bundle,
            show_secrets=args.show_secrets,
        )
    )
    if documents:
        sys.stdout.write(documents)
    elif not problems:  # a bundle that goes to a cluster has objects or problems
        print(f"fleet: no bundle of fleet.yaml goes to cluster {args.cluster}", file=sys.stderr)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


async def render(
    *, repo: Path, inventory: Path | None, cluster: str, bundle: str | None, show_secrets: bool
) -> tuple[str, list[Problem]]:
    """The YAML that `fleet render` prints, and the problems that go to stderr."""
    try:
        source = await validate.load_source(repo=repo, inventory=inventory, inventory_required=True)
    except errors.SpecError as error:
        return "", sorted(error.problems, key=Problem.sort_key)
    chosen = _cluster(source, cluster)
    if bundle is not None:
        names = [spec_bundle.name for spec_bundle in source.loaded.spec.bundles]
        if bundle not in names:
            raise errors.UserError(
                f"not in fleet.yaml{did_you_mean(bundle, names)}", where=f"bundle {bundle!r}"
            )
    fleet_render = await source.loaded.render_async([chosen])
    state = fleet_render.states[chosen.name]
    bundles: Sequence[DesiredBundle] = state.bundles
    if bundle is not None:
        found = state.bundle(bundle)
        if found is None:
            raise errors.UserError(
                f"does not go to cluster {chosen.name}: none of its targets selects it",
                where=f"bundle {bundle!r}",
            )
        bundles = (found,)
    objects = sorted(
        (desired for found in bundles for desired in found.objects),
        key=lambda desired: ordering.apply_order(desired.key),
    )
    problems = sorted(
        dict.fromkeys(problem for found in bundles for problem in found.problems),
        key=Problem.sort_key,
    )
    return documents(objects, show_secrets=show_secrets), problems


def _cluster(source: validate.Source, name: str) -> Cluster:
    clusters = {cluster.name: cluster for cluster in source.clusters}
    found = clusters.get(ClusterName(name))
    if found is not None:
        return found
    where = f"cluster {name!r}"
    inventory = source.inventory
    if inventory is not None and name in inventory.refused:
        reasons = "; ".join(
            problem.message for problem in inventory.problems if problem.cluster == name
        )
        raise errors.UserError(
            f"is in {source.inventory_path}, but left out: {reasons}", where=where
        )
    hint = did_you_mean(name, clusters)
    raise errors.UserError(f"not in the inventory {source.inventory_path}{hint}", where=where)


def documents(objects: Iterable[DesiredObject], *, show_secrets: bool) -> str:
    """``objects`` as multi-document YAML, each under the ``# Source:`` of its file."""
    parts = []
    for desired in objects:
        manifest = desired.manifest if show_secrets else redacted(desired.manifest)
        source = desired.source
        shown = f"{source.file}@{source.revision}" if source.revision else source.file
        text = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=1 << 16)
        parts.append(f"---\n# Source: {shown}\n{text}")
    return "".join(parts)


def redacted(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    """``manifest`` with every value of a Secret's data replaced, its keys kept."""
    if manifest.get("kind") != "Secret" or manifest.get("apiVersion") != "v1":
        return manifest
    copy = dict(manifest)
    for field in _SECRET_FIELDS:
        values = copy.get(field)
        if isinstance(values, dict):
            copy[field] = dict.fromkeys(values, REDACTED)
    return copy
