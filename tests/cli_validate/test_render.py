"""`fleet render`: one cluster's manifests in apply order, each with its file; problems on
stderr; names that do not exist refused with the closest one."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from fleet.cli import render
from fleet.planning import ordering
from fleet.structs.objects import ObjectKey
from tests.cli_validate.conftest import (
    EXAMPLE,
    FIXTURES,
    PLANNING_REPOS,
    SHOP,
    SHOP_CLUSTERS,
    CopyRepo,
    RunFleet,
    WriteInventory,
)


def test_the_output_is_exact(run_fleet: RunFleet, write_inventory: WriteInventory) -> None:
    inventory = write_inventory({"prod-eu": {"env": "prod", "region": "eu-west"}})
    expected = (FIXTURES / "expected" / "shop-prod-eu.yaml").read_text()
    assert run_fleet(
        "render", "--repo", SHOP, "--inventory", inventory, "--cluster", "prod-eu"
    ) == (0, expected, "")


def _documents(text: str) -> list[tuple[str, Any]]:
    """Each document's ``# Source:`` and content."""
    found = []
    for part in text.split("---\n")[1:]:
        comment, _, body = part.partition("\n")
        assert comment.startswith("# Source: ")
        found.append((comment.removeprefix("# Source: "), yaml.safe_load(body)))
    return found


@pytest.mark.parametrize("cluster", ["dev-eu", "prod-ap"])
def test_the_example_comes_in_apply_order_with_its_sources(
    run_fleet: RunFleet, write_inventory: WriteInventory, cluster: str
) -> None:
    code, out, err = run_fleet(
        "render", "--repo", EXAMPLE, "--inventory", write_inventory(), "--cluster", cluster
    )
    assert (code, err) == (0, "")
    documents = _documents(out)
    assert [document for _, document in documents] == list(yaml.safe_load_all(out))
    keys = [ObjectKey.from_manifest(manifest) for _, manifest in documents]
    assert keys == sorted(keys, key=ordering.apply_order)
    assert keys[0].kind == "CustomResourceDefinition"
    assert all((EXAMPLE / source).is_file() for source, _ in documents)
    assert len(documents) == {"dev-eu": 15, "prod-ap": 20}[cluster]


def test_one_bundle(run_fleet: RunFleet, write_inventory: WriteInventory) -> None:
    code, out, _ = run_fleet(
        "render",
        *("--repo", EXAMPLE, "--inventory", write_inventory()),
        *("--cluster", "prod-eu", "--bundle", "monitoring"),
    )
    assert code == 0
    assert {source for source, _ in _documents(out)} == {"platform/monitoring/blackbox.yaml"}
    assert all(
        manifest["metadata"]["labels"]["fleet.dev/bundle"] == "monitoring"
        for _, manifest in _documents(out)
    )


def test_secrets_are_redacted_unless_asked_for(
    run_fleet: RunFleet, write_inventory: WriteInventory
) -> None:
    inventory = write_inventory({"prod-eu": {"env": "prod", "region": "eu-west"}})
    args = ("render", "--repo", SHOP, "--inventory", inventory, "--cluster", "prod-eu")
    hidden = run_fleet(*args)[1]
    shown = run_fleet(*args, "--show-secrets")[1]
    assert "s3cr3t" not in hidden
    assert f"password: '{render.REDACTED}'" in hidden
    assert "password: s3cr3t-prod-eu" in shown
    assert hidden.replace(f"'{render.REDACTED}'", "s3cr3t-prod-eu") == shown


def test_a_blocked_bundle_goes_to_stderr_and_the_others_are_printed(
    run_fleet: RunFleet, write_inventory: WriteInventory
) -> None:
    code, out, err = run_fleet(
        "render",
        *("--repo", PLANNING_REPOS / "policies"),
        *("--inventory", write_inventory({"dev": {"env": "dev"}}), "--cluster", "dev"),
    )
    assert code == 1
    assert [source for source, _ in _documents(out)] == ["agent/daemonset.yaml"]
    lines = err.splitlines()
    assert len(lines) == 5
    assert all(line.startswith("app/workloads.yaml:") for line in lines)
    assert all("[cluster dev, bundle app, target all]" in line for line in lines)


def test_problems_of_fleet_yaml_go_to_stderr(
    run_fleet: RunFleet, copy_repo: CopyRepo, write_inventory: WriteInventory
) -> None:
    repo = copy_repo(SHOP)
    (repo / "fleet.yaml").write_text("apiVersion: fleet.dev/v1alpha1\nkind: Fleet\n")
    assert run_fleet(
        "render", "--repo", repo, "--inventory", write_inventory(), "--cluster", "dev-eu"
    ) == (1, "", "fleet.yaml:1:1: the document is missing 'bundles'\n")


def test_a_cluster_gets_the_bundles_whose_targets_select_it(
    run_fleet: RunFleet, write_inventory: WriteInventory
) -> None:
    inventory = write_inventory({"edge": {"env": "edge"}})
    golden = (FIXTURES / "expected" / "shop-prod-eu.yaml").read_text()
    namespaces_only = golden.split("---\n# Source: shop/")[0]
    assert run_fleet("render", "--repo", SHOP, "--inventory", inventory, "--cluster", "edge") == (
        0,
        namespaces_only,
        "",
    )


def test_a_cluster_that_no_bundle_goes_to(
    run_fleet: RunFleet, copy_repo: CopyRepo, write_inventory: WriteInventory
) -> None:
    repo = copy_repo(SHOP)
    spec = yaml.safe_load((repo / "fleet.yaml").read_text())
    spec["bundles"][0]["targets"][0]["clusterSelector"] = {"matchLabels": {"env": "prod"}}
    (repo / "fleet.yaml").write_text(yaml.safe_dump(spec))
    inventory = write_inventory({"edge": {"env": "edge"}})
    assert run_fleet("render", "--repo", repo, "--inventory", inventory, "--cluster", "edge") == (
        0,
        "",
        "fleet: no bundle of fleet.yaml goes to cluster edge\n",
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--cluster", "prod-e"],
            "cluster 'prod-e': not in the inventory {inventory} (did you mean 'prod-eu'?)",
        ),
        (
            ["--cluster", "lost"],
            "cluster 'lost': is in {inventory}, but left out: kubeconfig absent.kubeconfig:"
            " cannot be read: No such file or directory",
        ),
        (
            ["--cluster", "prod-eu", "--bundle", "shp"],
            "bundle 'shp': not in fleet.yaml (did you mean 'shop'?)",
        ),
        (
            ["--cluster", "edge", "--bundle", "shop"],
            "bundle 'shop': does not go to cluster edge: none of its targets selects it",
        ),
    ],
    ids=["unknown cluster", "cluster left out", "unknown bundle", "bundle not on the cluster"],
)
def test_names_that_do_not_exist(
    run_fleet: RunFleet, write_inventory: WriteInventory, args: list[str], error: str
) -> None:
    inventory = write_inventory(
        {"prod-eu": {"env": "prod", "region": "eu-west"}, "edge": {"env": "edge"}},
        extra=[{"name": "lost", "kubeconfig": "absent.kubeconfig", "labels": {}}],
    )
    code, out, err = run_fleet("render", "--repo", SHOP, "--inventory", inventory, *args)
    assert (code, out) == (2, "")
    assert err == f"fleet: error: {error.format(inventory=inventory)}\n"


def test_without_an_inventory_there_is_no_cluster_to_render(
    run_fleet: RunFleet, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_fleet("render", "--repo", SHOP, "--cluster", "prod-eu") == (
        2,
        "",
        "fleet: error: inventory.yaml: cannot be read: No such file or directory\n",
    )


def test_a_pinned_target_renders_its_commit_and_the_others_the_working_tree(
    run_fleet: RunFleet, pinned_shop: tuple[pathlib.Path, str], write_inventory: WriteInventory
) -> None:
    repo, revision = pinned_shop
    inventory = write_inventory(SHOP_CLUSTERS)
    names = {}
    for cluster in SHOP_CLUSTERS:
        code, out, err = run_fleet(
            "render", "--repo", repo, "--inventory", inventory,
            "--cluster", cluster, "--bundle", "shop",
        )  # fmt: skip
        assert (code, err) == (0, "")
        names[cluster] = {manifest["metadata"]["name"] for _, manifest in _documents(out)}
        sources = {source for source, _ in _documents(out)}
        assert all(source.endswith(f"@{revision[:7]}") for source in sources) is (cluster == "prod")
    # On disk the YAML objects were renamed (service.json, written otherwise, was not).
    assert names == {"prod": {"shop", "shop-db"}, "dev": {"shop", "shop-2", "shop-db"}}
