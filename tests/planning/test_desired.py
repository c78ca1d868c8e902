"""What rendering hands on: informative reprs, and never a Secret's data in one."""

from __future__ import annotations

import re

from fleet.planning import manifests, rendering
from fleet.planning.desired import FleetRender
from fleet.planning.specs import BundleSource
from fleet.structs import errors
from fleet.structs.objects import ClusterName
from fleet.structs.problems import Location, Problem
from fleet.structs.sources import SourceFile
from tests.planning import repos

SECRET = (
    b"apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: web}\n"
    b"stringData: {password: 'hunter2-${cluster.name}', other: '${missing}'}\n"
)


def _render_secret() -> FleetRender:
    spec, files = repos.load(repos.REPOS / "basic")
    files[BundleSource("base")].append(SourceFile("base/secret.yaml", SECRET))
    return rendering.render_fleet(
        spec=spec, clusters=[repos.cluster("dev-1", env="dev")], files=files
    )


def test_reprs_name_things_and_counts_not_contents() -> None:
    _spec, files = repos.load(repos.REPOS / "basic")
    render = repos.render(repos.REPOS / "basic", repos.cluster("dev-1", env="dev"))
    state = render.states[ClusterName("dev-1")]
    base = state.bundles[0]
    assert repr(render) == "FleetRender(1 clusters, 0 problems)"
    assert re.fullmatch(
        r"DesiredState\(dev-1, 2 bundles, 0 blocked, sha256:[0-9a-f]{12}\)", repr(state)
    )
    assert re.fullmatch(
        r"DesiredBundle\(base, target all, 2 objects, sha256:[0-9a-f]{12}\)", repr(base)
    )
    assert repr(base.objects[0]) == "DesiredObject(Namespace web, from base/namespace.yaml:1:1)"
    parsed = manifests.parse_bundle(BundleSource("base"), files[BundleSource("base")])
    assert repr(parsed) == "ParsedBundle(base, 2 manifests, 0 problems)"
    assert repr(parsed.manifests[0].template) == "Template(0 placeholders)"


def test_a_secret_never_shows_in_reprs_or_problems() -> None:
    render = _render_secret()
    state = render.states[ClusterName("dev-1")]
    problems = [str(problem) for problem in state.problems]
    assert problems == [
        "base/secret.yaml:4:58: [cluster dev-1, bundle base, target all]"
        " parameter 'missing' is not defined"
    ]
    texts = [repr(render), repr(state), *map(repr, state.bundles), *problems]
    texts += [repr(o) for bundle in state.bundles for o in bundle.objects]
    assert not [text for text in texts if "hunter2" in text]


def test_a_blocked_bundle_has_problems_and_no_objects() -> None:
    state = _render_secret().states[ClusterName("dev-1")]
    base, web = state.bundles
    assert base.blocked
    assert base.objects == ()
    assert not web.blocked
    assert repr(base).startswith("DesiredBundle(base, target all, 1 problems, sha256:")


def test_problems_read_like_a_compilers() -> None:
    where = Location("apps/web/a.yaml", 3, 7, revision="4b1c0de")
    problem = Problem(where, "no", bundle="web", cluster="eu-1", target="prod")  # type: ignore[arg-type]
    assert str(problem) == "apps/web/a.yaml@4b1c0de:3:7: [cluster eu-1, bundle web, target prod] no"
    assert str(Problem(Location("apps/web"), "empty")) == "apps/web: empty"
    error = errors.SpecError(
        [problem, Problem(Location("fleet.yaml", 2), "bad")], path="fleet.yaml"
    )
    assert str(error).splitlines() == [
        "fleet.yaml: 2 problems",
        f"  {problem}",
        "  fleet.yaml:2: bad",
    ]
