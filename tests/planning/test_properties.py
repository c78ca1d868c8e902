"""No input can raise anything but a SpecError from loading, or anything at all from rendering.

And what the loader accepts the JSON Schema accepts too, and every problem of a render
says where: a file, and for a cluster's problem the bundle and target as well.

Random bytes, random YAML, and random fleets that are nearly right (the shape of
`fleet.yaml` with wrong values mixed in, so that checking and rendering are reached),
with random manifests. Rendering must return a state for every cluster, whatever it got.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.planning import loading, manifests, rendering
from fleet.planning.specs import BundleSource, FleetSpec
from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.sources import SourceFile
from tests.planning import repos


def _record(
    required: dict[str, st.SearchStrategy[Any]],
    optional: dict[str, st.SearchStrategy[Any]] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping with the ``required`` keys and any of the ``optional`` ones."""
    return st.fixed_dictionaries(required, optional=optional or {})


SCHEMA = jsonschema.Draft202012Validator(
    json.loads(resources.files("fleet.planning").joinpath("fleet.schema.json").read_text())
)

# No example database: the run leaves nothing behind in the working tree.
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

WORDS = st.sampled_from(
    [
        "fleet.dev/v1alpha1",
        "Fleet",
        "web",
        "a",
        "b",
        "..",
        "/etc",
        "In",
        "NotIn",
        "Exists",
        "correct",
        "observe",
        "4b1c0de",
        "${x}",
        "$${x}",
        "${cluster.name}",
        "env",
        "prod",
        "",
    ]
)
SCALARS = st.one_of(
    WORDS,
    st.text(max_size=6),
    st.integers(-3, 3),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
KEYS = st.one_of(
    st.sampled_from(["name", "path", "targets", "bundles", "kind", "spec", "data", "metadata"]),
    st.text(max_size=5),
)
ANY = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=12,
)
# Mostly valid choices, some wrong ones: most fleets must load for rendering to be reached.
NAMES = st.sampled_from(["a", "b", "web", "a", "b", "web", "Bad_Name"])
LABEL_KEYS = st.sampled_from(["env", "region", "fleet.dev/bundle", "env", "region", "bad key"])
LABEL_VALUES = st.sampled_from(["dev", "prod", "eu", ""])
REQUIREMENT = _record(
    {"key": LABEL_KEYS, "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"])},
    optional={"values": st.lists(LABEL_VALUES, max_size=2)},
)
SELECTOR = _record(
    {},
    optional={
        "matchLabels": st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=2),
        "matchExpressions": st.lists(REQUIREMENT, max_size=2),
    },
)
POINTERS = st.sampled_from(
    ["", "/", "/data", "/data/x", "/data/-", "/metadata/labels/a", "/spec/0", "/~1", "x"]
)
OPERATION = _record(
    {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]), "path": POINTERS},
    optional={"value": ANY, "from": POINTERS},
)
PATCH_TARGET = _record({"kind": st.sampled_from(["ConfigMap", "Deployment"]), "name": NAMES})
PATCH = st.one_of(
    _record({"target": PATCH_TARGET, "mergePatch": st.dictionaries(KEYS, ANY)}),
    _record({"target": PATCH_TARGET, "jsonPatch": st.lists(OPERATION, max_size=3)}),
)
PARAMS = st.dictionaries(st.sampled_from(["x", "tag", "x", "tag", "2bad"]), WORDS, max_size=2)
TARGET = _record(
    {"name": NAMES, "clusterSelector": SELECTOR},
    optional={
        "params": PARAMS,
        "patches": st.lists(PATCH, max_size=2),
        "revision": st.sampled_from(["4b1c0de", "4b1c0de", "HEAD"]),
    },
)
BUNDLE = _record(
    {
        "name": NAMES,
        "path": st.sampled_from(["a", "b"]),
        "targets": st.lists(
            TARGET, min_size=1, max_size=2, unique_by=lambda target: str(target["name"])
        ),
    },
    optional={
        "namespace": NAMES,
        "dependsOn": st.lists(NAMES, max_size=1),
        "params": PARAMS,
        "drift": st.sampled_from(["correct", "observe", "fix"]),
        "labels": st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=2),
    },
)
POLICY = _record(
    {"name": NAMES, "requireLimits": st.booleans()},
    optional={
        "clusterSelector": SELECTOR,
        "bundleSelector": SELECTOR,
        "denyKinds": st.lists(st.sampled_from(["ConfigMap", "Deployment.apps", ".x"]), max_size=2),
        "requireLabels": st.lists(LABEL_KEYS, max_size=2),
        "forbidPrivileged": st.booleans(),
        "forbidHostNamespaces": st.booleans(),
    },
)
FLEET = _record(
    {
        "apiVersion": st.just("fleet.dev/v1alpha1"),
        "kind": st.just("Fleet"),
        "bundles": st.lists(
            BUNDLE, min_size=1, max_size=3, unique_by=lambda bundle: str(bundle["name"])
        ),
    },
    optional={
        "policies": st.lists(POLICY, max_size=2, unique_by=lambda policy: str(policy["name"]))
    },
)
MANIFEST = _record(
    {
        "apiVersion": st.sampled_from(
            ["v1", "apps/v1", "apiextensions.k8s.io/v1", "example.com/v1"]
        ),
        "kind": st.sampled_from(
            ["ConfigMap", "Deployment", "Namespace", "CustomResourceDefinition", "Widget"]
        ),
        "metadata": _record(
            {"name": st.one_of(NAMES, st.integers())},
            optional={"namespace": st.one_of(NAMES, st.none()), "labels": ANY},
        ),
    },
    optional={"data": ANY, "spec": ANY},
)
CLUSTERS = st.lists(
    st.builds(
        repos.cluster, st.sampled_from(["c1", "c2", "c3"]), env=LABEL_VALUES, region=LABEL_VALUES
    ),
    max_size=3,
)


def _load(data: bytes) -> FleetSpec | None:
    """The spec, or None if loading raised a SpecError (anything else fails the test)."""
    try:
        return loading.load(data)
    except errors.SpecError as error:
        problems = error.problems
    assert problems
    return None


@SETTINGS
@given(data=st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    _load(data)
    parsed = manifests.parse_bundle(BundleSource("a"), [SourceFile("a/m.yaml", data)])
    assert parsed.manifests or parsed.problems


@SETTINGS
@given(value=ANY)
def test_random_yaml(value: Any) -> None:
    _load(yaml.safe_dump(value).encode())


@SETTINGS
@given(fleet=FLEET, documents=st.lists(st.one_of(MANIFEST, ANY), max_size=4), clusters=CLUSTERS)
def test_random_fleets_load_and_render(
    fleet: dict[str, Any], documents: list[Any], clusters: list[Cluster]
) -> None:
    spec = _load(yaml.safe_dump(fleet).encode())
    if spec is None:
        return
    assert list(SCHEMA.iter_errors(fleet)) == [], "the loader accepts what the schema refuses"
    data = yaml.safe_dump_all(documents).encode()
    files = {source: [SourceFile(f"{source.path}/m.yaml", data)] for source in spec.sources()}
    render = rendering.render_fleet(spec=spec, clusters=clusters, files=files)
    assert set(render.states) == {cluster.name for cluster in clusters}
    for state in render.states.values():
        for bundle in state.bundles:
            assert bundle.blocked or bundle.objects
    for problem in render.problems:
        assert problem.location.file
        if problem.cluster is not None:
            assert problem.bundle is not None
            assert problem.target is not None
