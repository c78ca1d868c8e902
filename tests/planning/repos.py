"""Helpers that read fixture repositories the way the engine will hand them to planning."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from fleet.planning import loading, rendering
from fleet.planning.desired import DesiredBundle, DesiredObject, FleetRender
from fleet.planning.specs import BundleSource, Drift, FleetSpec
from fleet.structs.clusters import Cluster
from fleet.structs.objects import BundleName, ClusterName, Manifest, ObjectKey
from fleet.structs.problems import Location
from fleet.structs.sources import SourceFile

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
REPOS = FIXTURES / "repos"
EXAMPLE = pathlib.Path(__file__).parents[2] / "clusters"


def cluster(name: str, **labels: str) -> Cluster:
    return Cluster(name=ClusterName(name), labels=labels)


def read_files(root: pathlib.Path, directory: str) -> list[SourceFile]:
    """Every file below ``directory`` of the repository at ``root``, as Git would give them."""
    return [
        SourceFile(path.relative_to(root).as_posix(), path.read_bytes())
        for path in sorted((root / directory).rglob("*"))
        if path.is_file()
    ]


def load(root: pathlib.Path) -> tuple[FleetSpec, dict[BundleSource, list[SourceFile]]]:
    """The spec of the repository at ``root`` and the files of every source it needs."""
    spec = loading.load((root / "fleet.yaml").read_bytes())
    return spec, {source: read_files(root, source.path) for source in spec.sources()}


def render(root: pathlib.Path, *clusters: Cluster) -> FleetRender:
    spec, files = load(root)
    return rendering.render_fleet(spec=spec, clusters=clusters, files=files)


def cases(name: str) -> list[Any]:
    """The table of cases in ``fixtures/<name>.yaml``, as pytest parameters with ids."""
    table = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    return [pytest.param(case, id=case["case"]) for case in table]


def bundle(
    *manifests: Manifest, name: str = "shop", drift: Drift = Drift.CORRECT, digest: str = "sha256:2"
) -> DesiredBundle:
    """A rendered bundle of these manifests, as rendering hands it to the engine (one file
    per object, ``<name>/<index>.yaml``), for tests of what comes after rendering."""
    objects = tuple(
        DesiredObject(ObjectKey.from_manifest(m), m, Location(f"{name}/{i}.yaml", line=1))
        for i, m in enumerate(manifests)
    )
    return DesiredBundle(name=BundleName(name), target="all", namespace=name, drift=drift,
                         depends_on=(), revision=None, objects=objects, problems=(),
                         digest=digest)  # fmt: skip
