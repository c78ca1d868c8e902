"""`fleet validate`: every problem of a working tree, as the controller would find it."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest

from fleet import cli
from tests.cli_validate.conftest import (
    EXAMPLE,
    PLANNING_REPOS,
    SHOP,
    SHOP_CLUSTERS,
    CopyRepo,
    RunFleet,
    WriteInventory,
    pin,
)
from tests.planning.test_rendering import PROBLEMS_BY_CLUSTER

NO_INVENTORY = "no inventory given (inventory.yaml does not exist)"


def test_the_example_is_valid_for_every_cluster(
    run_fleet: RunFleet, write_inventory: WriteInventory
) -> None:
    inventory = write_inventory()
    assert run_fleet("validate", "--repo", EXAMPLE, "--inventory", inventory) == (
        0,
        "5 bundles, 4 clusters, 70 objects: no problems\n",
        "",
    )


def test_without_an_inventory_every_bundle_is_still_parsed(
    run_fleet: RunFleet, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_fleet("validate", "--repo", EXAMPLE) == (
        0,
        f"5 bundles parsed; {NO_INVENTORY}: rendered for no cluster: no problems\n",
        "",
    )
    code, out, _ = run_fleet("validate", "--repo", PLANNING_REPOS / "problems")
    assert (code, out.splitlines()) == (
        1,
        [
            "broken/bad.yaml:6:16: invalid YAML: did not find expected ',' or ']'"
            " (while parsing a flow sequence at line 6)",
            "empty: no objects in 'empty': no .yaml, .yml, .json file holds a document",
            f"2 problems: 4 bundles parsed; {NO_INVENTORY}: rendered for no cluster",
        ],
    )


def test_the_default_inventory_is_the_one_in_the_current_directory(
    run_fleet: RunFleet, write_inventory: WriteInventory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(write_inventory().parent)
    assert run_fleet("validate", "--repo", EXAMPLE)[:2] == (
        0,
        "5 bundles, 4 clusters, 70 objects: no problems\n",
    )


def test_every_problem_of_the_repository_and_the_inventory(
    run_fleet: RunFleet, write_inventory: WriteInventory
) -> None:
    inventory = write_inventory(
        {"dev": {"env": "dev"}, "prod": {"env": "prod"}},
        extra=[{"name": "lost", "kubeconfig": "absent.kubeconfig", "labels": {"env": "dev"}}],
    )
    code, out, err = run_fleet(
        "validate", "--repo", PLANNING_REPOS / "problems", "--inventory", inventory
    )
    assert (code, err) == (1, "")
    found = dict.fromkeys([*PROBLEMS_BY_CLUSTER["dev"], *PROBLEMS_BY_CLUSTER["prod"]])
    assert out.splitlines() == [
        f"{inventory}:12: [cluster lost] kubeconfig absent.kubeconfig: cannot be read:"
        " No such file or directory",
        *sorted(found, key=_file_order),
        "16 problems: 4 bundles, 2 clusters, 0 objects; 7 bundles blocked on 2 of 2 clusters",
    ]
    assert "s3cr3t" not in out  # the Secret of bundle one, substituted or not


def _file_order(line: str) -> tuple[str, int, int, str]:
    """How `fleet validate` orders problems: by file, line and column, then the rest."""
    file, *position = line.split(": ", 1)[0].split(":")
    line_number, column = ([int(part) for part in position] + [0, 0])[:2]
    return file, line_number, column, line


def test_the_problems_of_fleet_yaml(
    run_fleet: RunFleet, copy_repo: CopyRepo, write_inventory: WriteInventory
) -> None:
    repo = copy_repo(SHOP)
    (repo / "fleet.yaml").write_text(
        "apiVersion: fleet.dev/v1alpha1\nkind: Fleet\nbundles: []\npolicy: []\n"
    )
    assert run_fleet("validate", "--repo", repo, "--inventory", write_inventory()) == (
        1,
        "fleet.yaml:3:10: bundles must not be empty\n"
        "fleet.yaml:4:1: unknown key 'policy' in the document (did you mean 'policies'?)\n"
        "2 problems in fleet.yaml\n",
        "",
    )


def _symlinked_spec(repo: pathlib.Path) -> None:
    (repo / "fleet.yaml").unlink()
    (repo / "fleet.yaml").symlink_to("../outside.yaml")


@pytest.mark.parametrize(
    ("change", "args", "error"),
    [
        (lambda repo: None, ["--repo", "{repo}/absent"], "{repo}/absent: is not a directory"),
        (
            lambda repo: (repo / "fleet.yaml").unlink(),
            [],
            "fleet.yaml: does not exist (in {repo})",
        ),
        (
            lambda repo: (repo / "fleet.yaml").write_bytes(b"x" * (4 << 20 | 1)),
            [],
            "fleet.yaml: is 4194305 bytes (limit max_file_bytes=4194304) (in {repo})",
        ),
        (
            _symlinked_spec,
            [],
            "fleet.yaml: is a symlink to '../outside.yaml', which points outside the repository"
            " (in {repo})",
        ),
        (
            lambda repo: None,
            ["--inventory", "{repo}/absent.yaml"],
            "{repo}/absent.yaml: cannot be read: No such file or directory",
        ),
        (
            lambda repo: (repo / "inv.yaml").write_text("clusters: [\n"),
            ["--inventory", "{repo}/inv.yaml"],
            "{repo}/inv.yaml:2: not valid YAML: expected the node content, but found"
            " '<stream end>'",
        ),
        (
            lambda repo: (repo / "inv.yaml").write_text("- a\n"),
            ["--inventory", "{repo}/inv.yaml"],
            "{repo}/inv.yaml: must be a mapping with a 'clusters' list",
        ),
    ],
    ids=[
        "no such directory",
        "no fleet.yaml",
        "fleet.yaml over the limit",
        "fleet.yaml outside the tree",
        "no such inventory",
        "inventory not YAML",
        "inventory not an inventory",
    ],
)
def test_a_repository_or_inventory_that_cannot_be_used_is_one_line_and_status_2(
    run_fleet: RunFleet,
    copy_repo: CopyRepo,
    change: Callable[[pathlib.Path], object],
    args: list[str],
    error: str,
) -> None:
    repo = copy_repo(SHOP)
    (repo.parent / "outside.yaml").write_text("kind: Secret\n")
    change(repo)
    given = [arg.format(repo=repo) for arg in args]
    if "--repo" not in given:
        given += ["--repo", str(repo)]
    code, out, err = run_fleet("validate", *given)
    assert (code, out) == (2, "")
    assert err == f"fleet: error: {error.format(repo=repo)}\n"


def _steal(repo: pathlib.Path) -> None:
    (repo.parent / "stolen.yaml").write_text("apiVersion: v1\nkind: Secret\n# hunter2\n")
    (repo / "apps" / "podinfo" / "stolen.yaml").symlink_to("../../../stolen.yaml")


def _borrow(repo: pathlib.Path) -> None:
    (repo / "apps" / "widgets" / "borrowed.yaml").symlink_to("../podinfo/service.yaml")


def _grow(repo: pathlib.Path) -> None:
    with (repo / "platform" / "monitoring" / "huge.yaml").open("wb") as file:
        file.truncate((4 << 20) + 1)


def _break(repo: pathlib.Path) -> None:
    (repo / "platform" / "monitoring" / "broken.yaml").write_text("kind: [\n")


@pytest.mark.parametrize(
    ("change", "clusters", "output"),
    [
        (
            _steal,
            None,
            [
                "apps/podinfo: cannot read the bundle: apps/podinfo/stolen.yaml: is a symlink to"
                " '../../../stolen.yaml', which points outside the repository",
                "1 problem: 5 bundles, 4 clusters, 46 objects; 4 bundles blocked on 4 of 4"
                " clusters",
            ],
        ),
        (
            _borrow,
            None,
            [
                "apps/widgets: cannot read the bundle: apps/widgets/borrowed.yaml: is a symlink"
                " to '../podinfo/service.yaml', which points outside the directory apps/widgets",
                "1 problem: 5 bundles, 4 clusters, 58 objects; 4 bundles blocked on 4 of 4"
                " clusters",
            ],
        ),
        (
            _grow,
            None,
            [
                "platform/monitoring: cannot read the bundle: platform/monitoring/huge.yaml:"
                " is 4194305 bytes (limit max_file_bytes=4194304)",
                "1 problem: 5 bundles, 4 clusters, 60 objects; 2 bundles blocked on 2 of 4"
                " clusters",
            ],
        ),
        (
            _break,
            {"dev-eu": {"env": "dev", "region": "eu-west"}},
            [
                "platform/monitoring/broken.yaml:2:1: invalid YAML: did not find expected node"
                " content (while parsing a flow node at line 2)",
                "1 problem: 5 bundles, 1 cluster, 15 objects",
            ],
        ),
    ],
    ids=[
        "a symlink out of the working tree",
        "a symlink into another bundle",
        "a file over the limit",
        "a broken file in a bundle that no cluster gets",
    ],
)
def test_a_problem_of_one_bundle_blocks_that_bundle_only(
    run_fleet: RunFleet,
    copy_repo: CopyRepo,
    write_inventory: WriteInventory,
    change: Callable[[pathlib.Path], None],
    clusters: dict[str, dict[str, str]] | None,
    output: list[str],
) -> None:
    repo = copy_repo(EXAMPLE)
    change(repo)
    inventory = write_inventory(clusters) if clusters else write_inventory()
    code, out, err = run_fleet("validate", "--repo", repo, "--inventory", inventory)
    assert (code, out.splitlines(), err) == (1, output, "")
    assert "hunter2" not in out


def test_a_pinned_target_outside_git_is_a_problem_of_its_bundle(
    run_fleet: RunFleet, copy_repo: CopyRepo, write_inventory: WriteInventory
) -> None:
    repo = copy_repo(SHOP)
    pin(repo, "4b1c0de")
    inventory = write_inventory(SHOP_CLUSTERS)
    code, out, _ = run_fleet("validate", "--repo", repo, "--inventory", inventory)
    assert (code, out.splitlines()) == (
        1,
        [
            "shop@4b1c0de: cannot read the bundle: the pinned revision 4b1c0de needs a Git"
            f" repository, and {repo} is not inside one",
            "1 problem: 2 bundles, 2 clusters, 6 objects; 1 bundle blocked on 1 of 2 clusters",
        ],
    )


def test_a_pinned_target_inside_git_reads_its_commit(
    run_fleet: RunFleet, pinned_shop: tuple[pathlib.Path, str], write_inventory: WriteInventory
) -> None:
    repo, _ = pinned_shop
    inventory = write_inventory(SHOP_CLUSTERS)
    assert run_fleet("validate", "--repo", repo, "--inventory", inventory)[:2] == (
        0,
        "2 bundles, 2 clusters, 10 objects: no problems\n",
    )
    pin(repo, "0badc0de")
    code, out, _ = run_fleet("validate", "--repo", repo, "--inventory", inventory)
    assert (code, out.splitlines()[0]) == (
        1,
        "shop@0badc0de: cannot read the bundle: revision '0badc0de': no such branch, tag or commit",
    )


@pytest.mark.parametrize("command", ["validate", "render"])
def test_help_says_that_repo_is_a_path_here(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--repo PATH the directory that holds fleet.yaml" in text
    assert "the controller's --repo takes the remote's URL" in text
