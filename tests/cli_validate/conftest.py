"""`fleet validate`, `fleet render` and the working-tree reader behind them, on real
directories: the example fleet in clusters/, the fixture repositories of the planning
tests, and copies of them changed per test (symlinks, big files, a Git repository).

The commands run in-process through `fleet.cli.main`, each with its own `asyncio.run`,
so the tests that call them are plain functions. The inventory's clusters reach no
server: a kubeconfig must be readable for the inventory to accept a cluster, and
nothing more.
"""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable, Mapping

import pytest
import yaml
from dulwich.repo import Repo

from fleet import cli
from fleet.sources import publishing

ROOT = pathlib.Path(__file__).parents[2]
EXAMPLE = ROOT / "clusters"
PLANNING_REPOS = ROOT / "tests" / "planning" / "fixtures" / "repos"
FIXTURES = pathlib.Path(__file__).parent / "fixtures"
SHOP = FIXTURES / "repos" / "shop"
SHOP_CLUSTERS: Mapping[str, Mapping[str, str]] = {
    "prod": {"env": "prod", "region": "eu"},
    "dev": {"env": "dev", "region": "us"},
}

EXAMPLE_CLUSTERS: Mapping[str, Mapping[str, str]] = {
    "dev-eu": {"env": "dev", "region": "eu-west"},
    "staging-us": {"env": "staging", "region": "us-east"},
    "prod-eu": {"env": "prod", "region": "eu-west"},
    "prod-ap": {"env": "prod", "region": "ap-south"},
}

RunFleet = Callable[..., tuple[int, str, str]]
WriteInventory = Callable[..., pathlib.Path]
CopyRepo = Callable[[pathlib.Path], pathlib.Path]


@pytest.fixture
def run_fleet(capsys: pytest.CaptureFixture[str]) -> RunFleet:
    """Runs ``fleet ARGS...``; returns the exit status, stdout and stderr."""

    def run(*args: str | pathlib.Path) -> tuple[int, str, str]:
        status = cli.main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    return run


@pytest.fixture
def write_inventory(tmp_path: pathlib.Path) -> WriteInventory:
    """Writes an inventory of the clusters given (name -> labels), each a context of one
    kubeconfig, and returns its path; extra entries are added as written."""

    def write(
        clusters: Mapping[str, Mapping[str, str]] = EXAMPLE_CLUSTERS,
        *,
        extra: list[dict[str, object]] | None = None,
        name: str = "inventory.yaml",
    ) -> pathlib.Path:
        directory = tmp_path / "inventory"
        directory.mkdir(exist_ok=True)
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "sim", "cluster": {"server": "https://127.0.0.1:1"}}],
            "users": [{"name": "u", "user": {"token": "not-a-token"}}],
            "contexts": [
                {"name": cluster, "context": {"cluster": "sim", "user": "u"}}
                for cluster in clusters
            ],
        }
        (directory / "clusters.kubeconfig").write_text(yaml.safe_dump(kubeconfig))
        entries: list[dict[str, object]] = [
            {
                "name": cluster,
                "kubeconfig": "clusters.kubeconfig",
                "context": cluster,
                "labels": dict(labels),
            }
            for cluster, labels in clusters.items()
        ]
        path = directory / name
        path.write_text(yaml.safe_dump({"clusters": [*entries, *(extra or [])]}))
        return path

    return write


@pytest.fixture
def copy_repo(tmp_path: pathlib.Path) -> CopyRepo:
    """A copy of a fixture repository, to change in one test."""

    def copy(source: pathlib.Path) -> pathlib.Path:
        target = tmp_path / "repo"
        shutil.copytree(source, target, symlinks=True)
        return target

    return copy


def pin(repo: pathlib.Path, revision: str) -> None:
    """Pin the shop's first target (prod) to ``revision`` in the fleet.yaml of ``repo``."""
    spec = yaml.safe_load((repo / "fleet.yaml").read_text())
    spec["bundles"][1]["targets"][0]["revision"] = revision
    (repo / "fleet.yaml").write_text(yaml.safe_dump(spec))


@pytest.fixture
def pinned_shop(tmp_path: pathlib.Path) -> tuple[pathlib.Path, str]:
    """A clone whose fleet, in ``fleet/``, is the shop: committed once, then changed on
    disk (the shop's YAML objects renamed ``shop-2``) and prod pinned to that commit.
    Returns the fleet's directory and the commit."""
    clone = tmp_path / "clone"
    Repo.init(str(clone), mkdir=True).close()
    files = {
        f"fleet/{file.relative_to(SHOP).as_posix()}": file.read_bytes()
        for file in SHOP.rglob("*")
        if file.is_file()
    }
    revision = publishing.publish_files(clone, files=files, message="shop 1")
    for relative, data in files.items():
        (clone / relative).parent.mkdir(parents=True, exist_ok=True)
        changed = relative.startswith("fleet/shop/")
        (clone / relative).write_bytes(
            data.replace(b"name: shop\n", b"name: shop-2\n") if changed else data
        )
    pin(clone / "fleet", revision[:7])
    return clone / "fleet", revision
