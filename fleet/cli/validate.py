"""`fleet validate`: check a fleet repository on disk, as the controller will check it.

A change to `fleet.yaml` or to a bundle should fail on the author's machine or in CI, not
on a cluster. So this command does what the controller does with a new commit -- load
`fleet.yaml`, read every bundle, render for every cluster of the inventory, apply the
policies -- on the files of a working tree (`fleet.sources.worktree`, with the limits and
path rules of the Git reads), and prints every problem it finds, each as a compiler
would: file, line and column, then cluster, bundle and target. Exit status 1 if there is
any problem, 0 with a one-line summary if none, 2 if the repository or the inventory
cannot be used at all.

Bundles are parsed even when no cluster gets them, so that a broken manifest is found
whatever the inventory. Without an inventory (the default file does not exist), that is
all it does, and it says so.

The loading half (`add_source_arguments`, `load_source`) serves `fleet render` too. Each
command runs its asynchronous part in one `asyncio.run`; the inventory is read and the
fleet rendered in worker threads.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.clients import inventories
from fleet.engine import loading
from fleet.planning import rendering
from fleet.planning.desired import FleetRender
from fleet.sources import worktree
from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.problems import Problem
from fleet.structs.settings import ClientSettings, GitSettings

DEFAULT_INVENTORY = ClientSettings().inventory
"""The controller's default inventory file, relative to the current directory."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a fleet repository on disk: load, render for every cluster, apply policies",
        description="Load fleet.yaml from a directory on disk, parse every bundle, render "
        "for every cluster of the inventory and apply the policies, as the controller does "
        "with a commit; print every problem. Exit status: 0 if there is none, 1 if there "
        "are problems, 2 if the repository or the inventory cannot be used.",
    )
    add_source_arguments(parser)
    parser.set_defaults(handler=run)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--repo`` and ``--inventory``, as `fleet validate` and `fleet render` take them."""
    parser.add_argument(
        "--repo",
        type=Path,
        default=Path("."),
        metavar="PATH",
        help="the directory that holds fleet.yaml (default: the current one). A path on "
        "disk, with what you are editing; the controller's --repo takes the remote's URL. "
        "Targets pinned to a revision are read from the Git repository the directory is in.",
    )
    parser.add_argument(
        "--inventory",
        type=Path,
        metavar="FILE",
        help=f"the clusters and their labels (default: {DEFAULT_INVENTORY}, as for the "
        "controller). Nothing is contacted, but the kubeconfigs it names must be readable.",
    )


@dataclass(frozen=True, slots=True)
class Source:
    """A working tree's fleet, loaded, and the inventory's clusters (if one was given)."""

    root: Path
    loaded: loading.LoadedRevision
    inventory: inventories.Inventory | None
    inventory_path: Path

    @property
    def clusters(self) -> tuple[Cluster, ...]:
        if self.inventory is None:
            return ()
        return tuple(entry.cluster for entry in self.inventory.entries)

    @property
    def inventory_problems(self) -> tuple[Problem, ...]:
        return self.inventory.problems if self.inventory is not None else ()


async def load_source(*, repo: Path, inventory: Path | None, inventory_required: bool) -> Source:
    """Read the inventory and load the working tree at ``repo``.

    Without ``inventory``, the default file is read if it exists (and, if
    ``inventory_required``, even if not, so that its absence is the error). Raises
    `errors.SpecError` for problems of `fleet.yaml`, `errors.UserError` for a repository
    or an inventory that cannot be used at all.
    """
    inventory_path = inventory or DEFAULT_INVENTORY
    found: inventories.Inventory | None = None
    if inventory is not None or inventory_required or inventory_path.exists():
        found = await asyncio.to_thread(inventories.load, inventory_path)
    async with await worktree.WorkingTree.open(repo, settings=GitSettings()) as tree:
        try:
            loaded = await loading.load_revision(tree, worktree.WORKING_TREE)
        except errors.SpecError:
            raise
        except errors.UserError as error:
            raise errors.UserError(f"{error.message} (in {tree.root})", where=error.where) from None
    return Source(root=tree.root, loaded=loaded, inventory=found, inventory_path=inventory_path)


def run(args: argparse.Namespace) -> int:
    lines, failed = asyncio.run(validate(repo=args.repo, inventory=args.inventory))
    print("\n".join(lines))
    return 1 if failed else 0


async def validate(*, repo: Path, inventory: Path | None) -> tuple[list[str], bool]:
    """What `fleet validate` prints, and whether it found any problem."""
    try:
        source = await load_source(repo=repo, inventory=inventory, inventory_required=False)
    except errors.SpecError as error:
        problems = sorted(error.problems, key=Problem.sort_key)
        return [*map(str, problems), _count(problems) + f" in {error.where}"], True
    spec = source.loaded.spec
    clusters = source.clusters
    render, parse_problems = await asyncio.to_thread(_render, source.loaded, clusters)
    problems = sorted(
        dict.fromkeys([*source.inventory_problems, *parse_problems, *render.problems]),
        key=Problem.sort_key,
    )
    objects = sum(
        len(bundle.objects) for state in render.states.values() for bundle in state.bundles
    )
    if source.inventory is None:
        where = f"no inventory given ({source.inventory_path} does not exist)"
        summary = f"{_plural(len(spec.bundles), 'bundle')} parsed; {where}: rendered for no cluster"
    else:
        summary = (
            f"{_plural(len(spec.bundles), 'bundle')}, {_plural(len(clusters), 'cluster')}, "
            f"{_plural(objects, 'object')}"
        )
    if not problems:
        return [f"{summary}: no problems"], False
    blocked = [
        (state.cluster, bundle.name)
        for state in render.states.values()
        for bundle in state.bundles
        if bundle.blocked
    ]
    clusters_blocked = len({cluster for cluster, _ in blocked})
    if blocked:
        summary += (
            f"; {_plural(len(blocked), 'bundle')} blocked on "
            f"{clusters_blocked} of {_plural(len(clusters), 'cluster')}"
        )
    return [*map(str, problems), f"{_count(problems)}: {summary}"], True


def _render(
    loaded: loading.LoadedRevision, clusters: Iterable[Cluster]
) -> tuple[FleetRender, list[Problem]]:
    """Every cluster's render, and the problems of every bundle's files, reached or not."""
    parsed = rendering.parse_sources(loaded.files)
    render = rendering.render_parsed(spec=loaded.spec, clusters=clusters, parsed=parsed)
    return render, [problem for bundle in parsed.values() for problem in bundle.problems]


def _count(problems: list[Problem]) -> str:
    return _plural(len(problems), "problem")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
