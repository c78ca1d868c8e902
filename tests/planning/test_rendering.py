"""Rendering fixture repositories for clusters with different labels."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from fleet.planning import loading, manifests, rendering
from fleet.planning.specs import BundleSource
from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.objects import ClusterName
from fleet.structs.sources import SourceFile
from tests.planning import repos

BASIC = repos.REPOS / "basic"
PROBLEMS = repos.REPOS / "problems"

CLUSTERS = {
    "prod-eu": ({"env": "prod", "region": "eu"}, "prod"),
    "canary-us": ({"env": "prod", "canary": "true", "region": "us"}, "canary"),
    "dev-1": ({"env": "dev"}, "rest"),
    "unlabelled": ({}, "rest"),
}


@pytest.mark.parametrize(("name", "labels", "target"), [(n, *v) for n, v in CLUSTERS.items()])
def test_each_cluster_gets_its_first_matching_target_rendered(
    name: str, labels: dict[str, str], target: str
) -> None:
    state = repos.render(BASIC, repos.cluster(name, **labels)).states[ClusterName(name)]
    assert [(bundle.name, bundle.target) for bundle in state.bundles] == [
        ("base", "all"),
        ("web", target),
    ]
    assert not state.problems
    expected = (repos.FIXTURES / "expected" / "basic" / f"{name}.yaml").read_text()
    rendered = [desired.manifest for bundle in state.bundles for desired in bundle.objects]
    assert rendered == [document for document in yaml.safe_load_all(expected) if document]


def test_bundle_options_and_object_sources_reach_the_engine() -> None:
    state = repos.render(BASIC, repos.cluster("prod-eu", env="prod", region="eu")).states[
        ClusterName("prod-eu")
    ]
    web = state.bundle("web")
    assert web is not None
    assert (web.namespace, web.depends_on, web.drift.value, web.revision) == (
        "web",
        ("base",),
        "correct",
        None,
    )
    sources = {str(desired.key): str(desired.source) for desired in web.objects}
    assert sources == {
        "ConfigMap web/web": "apps/web/nested/config.yml:1:1",
        "Service web/web": "apps/web/service.json:1:1",
        "Deployment.apps web/web": "apps/web/deployment.yaml:1:1",
        "Gadget.example.com gadget-prod-eu": "apps/web/nested/config.yml:11:1",
        "Thing.example.com web/thing": "apps/web/nested/config.yml:16:1",
    }
    assert state.bundle("absent") is None


PROBLEMS_BY_CLUSTER = {
    "dev": [
        "broken/bad.yaml:6:16: invalid YAML: did not find expected ',' or ']'"
        " (while parsing a flow sequence at line 6)",
        "empty: no objects in 'empty': no .yaml, .yml, .json file holds a document",
        "fleet.yaml:11:13: [cluster dev, bundle one, target dev]"
        " the patch matches no object of the bundle: Deployment missing",
        "fleet.yaml:13:13: [cluster dev, bundle one, target dev]"
        " patch of ConfigMap settings: operation 1 (replace /data/absent): no value at this path",
        "fleet.yaml:17:39: [cluster dev, bundle one, target dev]"
        " parameter 'unknwn' is not defined (did you mean 'known'?)",
        "one/objects.yaml:1:1: [cluster dev, bundle one, target dev] ConfigMap settings:"
        " ConfigMap is namespaced, but neither the object nor bundle 'one' gives a namespace",
        "one/objects.yaml:6:6: [cluster dev, bundle one, target dev]"
        " parameter 'knwon' is not defined (did you mean 'known'?)",
        "one/objects.yaml:7:6: [cluster dev, bundle one, target dev]"
        " cluster dev has no label 'region' (used as '${cluster.labels.region}')",
        "one/objects.yaml:8:6: [cluster dev, bundle one, target dev]"
        " unterminated '${' (write '$${' for a literal '${')",
        "one/objects.yaml:10:1: [cluster dev, bundle one, target dev]"
        " ClusterRole.rbac.authorization"
        ".k8s.io oops/reader: ClusterRole is cluster-scoped; remove metadata.namespace",
        "one/objects.yaml:16:1: [cluster dev, bundle one, target dev] Secret token:"
        " Secret is namespaced, but neither the object nor bundle 'one' gives a namespace",
        "one/objects.yaml:23:1: [cluster dev, bundle one, target dev] apiVersion is missing",
        "two/objects.yaml:11:1: [cluster dev, bundle two, target all]"
        " ConfigMap two/twice is also defined at two/objects.yaml:6:1",
    ],
    "prod": [
        "broken/bad.yaml:6:16: invalid YAML: did not find expected ',' or ']'"
        " (while parsing a flow sequence at line 6)",
        "empty: no objects in 'empty': no .yaml, .yml, .json file holds a document",
        "fleet.yaml:18:5: [cluster prod, bundle two, target all]"
        " depends on bundle 'one', which none of its targets selects here",
        "two/objects.yaml:11:1: [cluster prod, bundle two, target all]"
        " ConfigMap two/twice is also defined at two/objects.yaml:6:1",
    ],
}


@pytest.mark.parametrize(("name", "expected"), PROBLEMS_BY_CLUSTER.items())
def test_problems_block_their_bundle_on_their_cluster(name: str, expected: list[str]) -> None:
    state = repos.render(PROBLEMS, repos.cluster(name, env=name)).states[ClusterName(name)]
    assert sorted(map(str, state.problems)) == sorted(expected)
    assert all(bundle.blocked and not bundle.objects for bundle in state.bundles)


def test_fleet_render_lists_each_problem_once_in_file_order() -> None:
    render = repos.render(
        PROBLEMS, repos.cluster("dev", env="dev"), repos.cluster("prod", env="prod")
    )
    problems = [str(problem) for problem in render.problems]
    assert len(problems) == len(set(problems)) == 15
    assert problems[0].startswith("broken/bad.yaml:6:16:")
    assert problems[-1].startswith("two/objects.yaml:11:1: [cluster prod,")


def test_other_bundles_and_clusters_go_on_despite_problems() -> None:
    spec, files = repos.load(BASIC)
    files[BundleSource("base")] = [SourceFile("base/bad.yaml", b"kind: [")]
    render = rendering.render_fleet(
        spec=spec,
        clusters=[repos.cluster("a"), repos.cluster("b", env="prod", region="eu")],
        files=files,
    )
    for state in render.states.values():
        base, web = state.bundles
        assert base.blocked
        assert not web.blocked
        assert len(web.objects) == 5


def test_an_object_in_two_bundles_blocks_the_later_bundle() -> None:
    spec, files = repos.load(BASIC)
    files[BundleSource("apps/web")].append(
        SourceFile("apps/web/ns.yaml", b"apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n")
    )
    state = rendering.render_fleet(spec=spec, clusters=[repos.cluster("a")], files=files).states[
        ClusterName("a")
    ]
    base, web = state.bundles
    assert not base.blocked
    assert [str(problem) for problem in web.problems] == [
        "apps/web/ns.yaml:1:1: [cluster a, bundle web, target rest]"
        " Namespace web is also defined at base/namespace.yaml:1:1 (bundle 'base')"
    ]


def test_unreadable_and_unread_directories_are_problems_of_their_bundle() -> None:
    spec, _ = repos.load(BASIC)
    read: dict[BundleSource, list[SourceFile] | errors.UserError] = {
        BundleSource("base"): errors.UserError("no such directory", where="base@4b1c0de")
    }
    state = rendering.render_fleet(spec=spec, clusters=[repos.cluster("a")], files=read).states[
        ClusterName("a")
    ]
    assert [str(problem) for problem in state.problems] == [
        "base: cannot read the bundle: base@4b1c0de: no such directory",
        "fleet.yaml:9:5: [cluster a, bundle web, target rest] the files of apps/web were not read",
    ]


def test_a_pinned_target_renders_the_files_of_its_revision() -> None:
    spec = loading.load(
        b"apiVersion: fleet.dev/v1alpha1\nkind: Fleet\nbundles:\n"
        b"  - name: web\n    path: web\n    namespace: web\n    targets:\n"
        b"      - {name: prod, clusterSelector: {matchLabels: {env: prod}}, revision: 4b1c0de}\n"
        b"      - {name: dev, clusterSelector: {}}\n"
    )
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web}}\ndata: {{v: '{}'}}\n"
    files: dict[BundleSource, Any] = {
        BundleSource("web"): [SourceFile("web/c.yaml", config.format("new").encode())],
        BundleSource("web", "4b1c0de"): [SourceFile("web/c.yaml", config.format("old").encode())],
    }
    clusters = [repos.cluster("prod", env="prod"), repos.cluster("dev")]
    states = rendering.render_fleet(spec=spec, clusters=clusters, files=files).states
    prod, dev = (states[ClusterName(name)].bundles[0] for name in ("prod", "dev"))
    assert (prod.revision, prod.objects[0].manifest["data"]) == ("4b1c0de", {"v": "old"})
    assert (dev.revision, dev.objects[0].manifest["data"]) == (None, {"v": "new"})
    assert str(prod.objects[0].source) == "web/c.yaml@4b1c0de:1:1"


def test_a_cluster_no_target_selects_gets_no_bundle() -> None:
    state = repos.render(PROBLEMS, repos.cluster("prod", env="prod")).states[ClusterName("prod")]
    assert [bundle.name for bundle in state.bundles] == ["two", "empty", "broken"]


def _shuffled(files: list[SourceFile], seed: int) -> list[SourceFile]:
    """The same files in another order, each document of each file and each key reordered."""
    shuffle = random.Random(seed).shuffle

    def reorder(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            shuffle(items)
            return {key: reorder(item) for key, item in items}
        return [reorder(item) for item in value] if isinstance(value, list) else value

    result = []
    for file in files:
        documents = [reorder(document) for document in yaml.safe_load_all(file.data) if document]
        shuffle(documents)
        result.append(
            SourceFile(file.path.replace(".json", ".yaml"), yaml.safe_dump_all(documents).encode())
        )
    shuffle(result)
    return result


@pytest.mark.parametrize("seed", range(5))
def test_digests_do_not_depend_on_the_order_of_files_documents_or_keys(seed: int) -> None:
    spec, files = repos.load(repos.EXAMPLE)
    clusters = [
        repos.cluster("p", env="prod", region="eu"),
        repos.cluster("d", env="dev", region="us"),
    ]
    before = rendering.render_fleet(spec=spec, clusters=clusters, files=files)
    reordered = {source: _shuffled(found, seed) for source, found in files.items()}
    after = rendering.render_fleet(spec=spec, clusters=clusters, files=reordered)
    for name, state in before.states.items():
        assert state.digest == after.states[ClusterName(name)].digest
        assert [b.digest for b in state.bundles] == [
            b.digest for b in after.states[ClusterName(name)].bundles
        ]


def test_a_change_changes_the_digest_of_its_bundle_and_cluster_only() -> None:
    spec, files = repos.load(repos.EXAMPLE)
    clusters = [
        repos.cluster("p", env="prod", region="eu"),
        repos.cluster("d", env="dev", region="us"),
    ]
    before = rendering.render_fleet(spec=spec, clusters=clusters, files=files)
    source = BundleSource("platform/monitoring")
    files[source] = [
        SourceFile(file.path, file.data.replace(b"timeout: 5s", b"timeout: 9s"))
        for file in files[source]
    ]
    after = rendering.render_fleet(spec=spec, clusters=clusters, files=files)
    assert after.states[ClusterName("d")].digest == before.states[ClusterName("d")].digest
    assert after.states[ClusterName("p")].digest != before.states[ClusterName("p")].digest
    changed = [
        bundle.name
        for bundle, old in zip(
            after.states[ClusterName("p")].bundles,
            before.states[ClusterName("p")].bundles,
            strict=True,
        )
        if bundle.digest != old.digest
    ]
    assert changed == ["monitoring"]


def test_render_cluster_reuses_bundles_parsed_once() -> None:
    spec, files = repos.load(BASIC)
    parsed = {source: manifests.parse_bundle(source, found) for source, found in files.items()}
    clusters = [Cluster(name=repos.cluster(f"c{i}").name) for i in range(3)]
    states = [rendering.render_cluster(spec=spec, cluster=c, parsed=parsed) for c in clusters]
    whole = rendering.render_fleet(spec=spec, clusters=clusters, files=files)
    assert [state.digest for state in states] == [
        whole.states[ClusterName(c.name)].digest for c in clusters
    ]
    assert len({state.bundles[0].digest for state in states}) == 1


@pytest.mark.parametrize("case", repos.cases("owned-labels"))
def test_fleet_labels_are_set_after_every_patch(case: dict[str, Any]) -> None:
    target = {"name": "all", "clusterSelector": {}, "patches": case["patches"]}
    bundle = {"name": "app", "path": "app", "namespace": "app", "targets": [target]}
    document = {"apiVersion": "fleet.dev/v1alpha1", "kind": "Fleet", "bundles": [bundle]}
    spec = loading.load(yaml.safe_dump(document).encode())
    manifest = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {team: a}}\n"
    files = {BundleSource("app"): [SourceFile("app/c.yaml", manifest)]}
    state = rendering.render_fleet(spec=spec, clusters=[repos.cluster("a")], files=files).states[
        ClusterName("a")
    ]
    assert [str(problem) for problem in state.problems] == []
    (desired,) = state.bundles[0].objects
    assert desired.manifest["metadata"] == case["metadata"]


def test_a_patch_is_not_said_to_miss_an_object_whose_file_is_broken() -> None:
    spec, files = repos.load(BASIC)
    source = BundleSource("apps/web")
    files[source] = [
        file if file.path != "apps/web/deployment.yaml" else SourceFile(file.path, b"kind: [")
        for file in files[source]
    ]
    state = rendering.render_fleet(
        spec=spec, clusters=[repos.cluster("p", env="prod", region="eu")], files=files
    ).states[ClusterName("p")]
    web = state.bundle("web")
    assert web is not None
    assert [str(problem) for problem in web.problems] == [
        "apps/web/deployment.yaml:2:1: invalid YAML: did not find expected node content"
        " (while parsing a flow node at line 2)"
    ]
