"""The inventory: every problem reported once, with file, line and cluster, and the good
clusters kept; a kubeconfig of many contexts as an inventory; no credential in any message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from fleet.clients import inventories
from fleet.structs import errors
from fleet.structs.objects import ClusterName

TOKEN = "s3cr3t-t0ken-never-shown"


def kubeconfig(*contexts: str, current: str | None = None, server: str = "https://10.0.0.1") -> str:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": f"{c}-cluster", "cluster": {"server": server}} for c in contexts],
        "users": [{"name": f"{c}-user", "user": {"token": TOKEN}} for c in contexts],
        "contexts": [
            {"name": c, "context": {"cluster": f"{c}-cluster", "user": f"{c}-user"}}
            for c in contexts
        ],
    }
    if current:
        document["current-context"] = current
    return yaml.safe_dump(document)


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "one.kubeconfig").write_text(kubeconfig("one", current="one"))
    (tmp_path / "many.kubeconfig").write_text(kubeconfig("eu-1", "us-1", "admin@eu-2"))
    (tmp_path / "broken.kubeconfig").write_text(f"users: [{{token: {TOKEN}\n")
    return tmp_path


def load(directory: Path, text: str) -> inventories.Inventory:
    path = directory / "inventory.yaml"
    path.write_text(textwrap.dedent(text))
    return inventories.load(path)


def test_a_good_inventory(directory: Path) -> None:
    found = load(directory, """\
        clusters:
          - name: one
            kubeconfig: one.kubeconfig
            labels: {env: prod, example.com/tier: "1"}
          - name: eu-1
            kubeconfig: many.kubeconfig
            context: eu-1
          - name: here
            inCluster: true
            labels:
    """)  # fmt: skip
    assert found.problems == ()
    assert [(e.name, dict(e.cluster.labels)) for e in found.entries] == [
        ("eu-1", {}),
        ("here", {}),
        ("one", {"env": "prod", "example.com/tier": "1"}),
    ]
    eu1, here, one = found.entries
    assert (eu1.access.context, eu1.access.kubeconfig) == ("eu-1", directory / "many.kubeconfig")
    assert here.access.in_cluster
    assert str(here.access) == "in-cluster"
    assert one.access.context == "one"  # the kubeconfig's current-context
    assert TOKEN not in repr(found) + repr(found.entries)
    assert found.files == (directory / "inventory.yaml", directory / "one.kubeconfig",
                           directory / "many.kubeconfig")  # fmt: skip


CASES = [
    (
        "unknown key",
        "  - name: a\n    kubeconfig: one.kubeconfig\n    lables: {x: y}\n",
        "inventory.yaml:4: [cluster a] unknown key 'lables' (did you mean 'labels'?)",
    ),
    (
        "no name",
        "  - kubeconfig: one.kubeconfig\n",
        "inventory.yaml:2: a cluster needs a 'name': up to 253 letters, digits and '-_.:@/',"
        " starting and ending with a letter or digit, not None",
    ),
    (
        "bad name",
        "  - name: -a\n    kubeconfig: one.kubeconfig\n",
        "inventory.yaml:2: a cluster needs a 'name'",
    ),
    (
        "not a mapping",
        "  - just-a-name\n",
        "inventory.yaml:2: a cluster must be a mapping with at least a 'name'",
    ),
    (
        "no kubeconfig",
        "  - name: a\n",
        "inventory.yaml:2: [cluster a] needs 'kubeconfig: <path>' (or 'inCluster: true')",
    ),
    (
        "both",
        "  - name: a\n    inCluster: true\n    kubeconfig: one.kubeconfig\n",
        "inventory.yaml:2: [cluster a] give either inCluster or kubeconfig (and context), not both",
    ),
    (
        "inCluster not a boolean",
        "  - name: a\n    inCluster: yes please\n",
        "inventory.yaml:3: [cluster a] inCluster must be true or false",
    ),
    (
        "missing kubeconfig",
        "  - name: a\n    kubeconfig: nowhere.kubeconfig\n",
        "inventory.yaml:3: [cluster a] kubeconfig nowhere.kubeconfig: cannot be read:"
        " No such file or directory",
    ),
    (
        "broken kubeconfig",
        "  - name: a\n    kubeconfig: broken.kubeconfig\n",
        "inventory.yaml:3: [cluster a] kubeconfig broken.kubeconfig: not valid YAML:"
        " expected ',' or '}', but got '<stream end>' at line 2",
    ),
    (
        "unknown context",
        "  - name: a\n    kubeconfig: many.kubeconfig\n    context: eu1\n",
        "inventory.yaml:3: [cluster a] kubeconfig many.kubeconfig: has no context 'eu1'"
        " (did you mean 'eu-1'?)",
    ),
    (
        "no current context",
        "  - name: a\n    kubeconfig: many.kubeconfig\n",
        "inventory.yaml:3: [cluster a] kubeconfig many.kubeconfig: has no current-context;"
        " name one with 'context:'",
    ),
    (
        "label key",
        "  - name: a\n    kubeconfig: one.kubeconfig\n    labels: {-env: x}\n",
        "inventory.yaml:4: [cluster a] label key '-env' is invalid: at most 63 characters",
    ),
    (
        "label prefix",
        "  - name: a\n    kubeconfig: one.kubeconfig\n    labels: {Ex.com/a: x}\n",
        "inventory.yaml:4: [cluster a] label key 'Ex.com/a' has an invalid prefix",
    ),
    (
        "label value",
        "  - name: a\n    kubeconfig: one.kubeconfig\n    labels: {env: -prod}\n",
        "inventory.yaml:4: [cluster a] label 'env' has an invalid value '-prod'",
    ),
    (
        "label number",
        "  - name: a\n    kubeconfig: one.kubeconfig\n    labels: {tier: 1}\n",
        "inventory.yaml:4: [cluster a] label 'tier' must have a string value (quote it), not 1",
    ),
    (
        "labels list",
        "  - name: a\n    kubeconfig: one.kubeconfig\n    labels: [a]\n",
        "inventory.yaml:4: [cluster a] labels must be a mapping of label keys to values",
    ),
    (
        "duplicate",
        "  - name: a\n    inCluster: true\n  - name: a\n    inCluster: true\n",
        "inventory.yaml:4: [cluster a] cluster 'a' is also listed at line 2",
    ),
]


@pytest.mark.parametrize(("entry", "expected"), [(e, x) for _, e, x in CASES],
                         ids=[name for name, _, _ in CASES])  # fmt: skip
def test_each_problem_is_reported_and_the_good_cluster_stays(
    directory: Path, entry: str, expected: str
) -> None:
    good = "  - name: good\n    kubeconfig: one.kubeconfig\n"
    found = load(directory, f"clusters:\n{entry}{good}")
    assert len(found.problems) == 1, found.problems
    (problem,) = found.problems
    shown = str(problem).replace(str(directory) + "/", "")
    assert shown.startswith(expected), shown
    assert [e.name for e in found.entries] == ["good"]
    assert "a" not in {e.name for e in found.entries}
    assert TOKEN not in shown


def test_a_problem_leaves_the_cluster_refused_not_removed(directory: Path) -> None:
    found = load(
        directory, "clusters:\n  - name: a\n    kubeconfig: one.kubeconfig\n    lables: {}\n"
    )
    assert found.refused == {"a"}
    assert found.entries == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("clusters: [\n", "inventory.yaml:2: not valid YAML: expected the node content"),
        ("- a\n", "inventory.yaml: must be a mapping with a 'clusters' list"),
        ("cluster: []\n", "inventory.yaml: needs a 'clusters' list"),
    ],
)
def test_an_unusable_inventory_raises(directory: Path, text: str, message: str) -> None:
    with pytest.raises(errors.InventoryError) as raised:
        load(directory, text)
    assert str(raised.value).replace(str(directory) + "/", "").startswith(message)


def test_a_missing_inventory_raises(tmp_path: Path) -> None:
    with pytest.raises(errors.InventoryError, match="cannot be read: No such file"):
        inventories.load(tmp_path / "nope.yaml")


def test_an_unknown_top_level_key_is_a_problem(directory: Path) -> None:
    found = load(directory, "clusters: []\ncluster: []\n")
    assert [p.message for p in found.problems] == [
        "unknown key 'cluster' (did you mean 'clusters'?)"
    ]


def test_a_kubeconfig_of_many_contexts_is_an_inventory(directory: Path) -> None:
    document = yaml.safe_load(kubeconfig("eu-1", "us-1", "bad name"))
    document["contexts"].append({"name": "orphan", "context": {"cluster": "nowhere"}})
    path = directory / "fleet.kubeconfig"
    path.write_text(yaml.safe_dump(document))
    found = inventories.load(path)
    assert [e.name for e in found.entries] == ["eu-1", "us-1"]
    assert [str(p).replace(str(directory) + "/", "") for p in found.problems] == [
        "fleet.kubeconfig: [cluster bad name] context 'bad name': cannot be a cluster name:"
        " up to 253 letters, digits and '-_.:@/'",
        "fleet.kubeconfig: [cluster orphan] context 'orphan': context 'orphan' names cluster"
        " 'nowhere', which it does not define",
    ]
    assert found.entries[0].access.config["contexts"][0]["name"] == "eu-1"
    assert len(found.entries[0].access.config["users"]) == 1


def test_fingerprints_change_with_a_clusters_own_context_only(directory: Path) -> None:
    path = directory / "fleet.kubeconfig"
    path.write_text(kubeconfig("eu-1", "us-1"))
    before = {e.name: e.access for e in inventories.load(path).entries}
    document = yaml.safe_load(path.read_text())
    document["clusters"][0]["cluster"]["server"] = "https://10.0.0.2"
    path.write_text(yaml.safe_dump(document))
    after = {e.name: e.access for e in inventories.load(path).entries}
    assert before[ClusterName("eu-1")] != after[ClusterName("eu-1")]
    assert before[ClusterName("us-1")] == after[ClusterName("us-1")]
