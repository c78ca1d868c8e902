"""The example fleet in clusters/ loads, renders cleanly for every kind of cluster, and
matches the published JSON Schema, as does every valid fixture; the schema refuses what
the loader refuses, wherever JSON Schema can tell."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

from fleet.structs.objects import ClusterName
from tests.planning import repos


@pytest.fixture(scope="module")
def schema() -> jsonschema.Draft202012Validator:
    text = resources.files("fleet.planning").joinpath("fleet.schema.json").read_text()
    document = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


@pytest.mark.parametrize(
    "root", [repos.EXAMPLE, *(repos.REPOS / name for name in ("basic", "problems", "policies"))]
)
def test_the_schema_accepts_every_valid_fleet(
    schema: jsonschema.Draft202012Validator, root: Any
) -> None:
    document = yaml.safe_load((root / "fleet.yaml").read_text())
    assert [error.message for error in schema.iter_errors(document)] == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"apiVersion": "fleet.dev/v1"}, "'fleet.dev/v1alpha1' was expected"),
        ({"bundles": []}, "should be non-empty"),
        ({"bundle": []}, "Additional properties are not allowed ('bundle' was unexpected)"),
        ({"policies": [{"name": "empty"}]}, "is not valid under any of the given schemas"),
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(
    schema: jsonschema.Draft202012Validator, change: dict[str, Any], complaint: str
) -> None:
    document = {**yaml.safe_load((repos.EXAMPLE / "fleet.yaml").read_text()), **change}
    assert complaint in next(error.message for error in schema.iter_errors(document))


@pytest.mark.parametrize(
    ("bundle", "key", "value"),
    [
        ("path", "path", "../outside"),
        ("drift", "drift", "revert"),
        ("namespace", "namespace", "Not_A_Name"),
    ],
)
def test_the_schema_checks_bundle_fields(
    schema: jsonschema.Draft202012Validator, bundle: str, key: str, value: str
) -> None:
    document = yaml.safe_load((repos.EXAMPLE / "fleet.yaml").read_text())
    document["bundles"][1][key] = value
    assert list(schema.iter_errors(document))


CLUSTERS = [
    ("dev-eu", {"env": "dev", "region": "eu-west"}, 15),
    ("staging-us", {"env": "staging", "region": "us-east"}, 15),
    ("prod-eu", {"env": "prod", "region": "eu-west"}, 20),
    ("prod-ap", {"env": "prod", "region": "ap-south"}, 20),
]


@pytest.mark.parametrize(("name", "labels", "count"), CLUSTERS)
def test_the_example_renders_without_problems(
    name: str, labels: dict[str, str], count: int
) -> None:
    state = repos.render(repos.EXAMPLE, repos.cluster(name, **labels)).states[ClusterName(name)]
    assert [str(problem) for problem in state.problems] == []
    assert sum(len(bundle.objects) for bundle in state.bundles) == count


def test_the_example_differs_per_environment_by_parameters_and_patches() -> None:
    render = repos.render(
        repos.EXAMPLE,
        repos.cluster("dev-eu", env="dev", region="eu-west"),
        repos.cluster("prod-eu", env="prod", region="eu-west"),
    )

    def podinfo(cluster: str, kind: str) -> Any:
        bundle = render.states[ClusterName(cluster)].bundle("podinfo")
        assert bundle is not None
        return next(o.manifest for o in bundle.objects if o.key.kind == kind)

    dev, prod = podinfo("dev-eu", "Deployment"), podinfo("prod-eu", "Deployment")
    assert dev["spec"]["replicas"] == 1
    assert prod["spec"]["replicas"] == 3
    assert dev["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":6.7.1")
    assert prod["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":6.7.0")
    assert (
        prod["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
        == "256Mi"
    )
    assert podinfo("dev-eu", "ConfigMap")["data"]["PODINFO_UI_MESSAGE"] == (
        "Hello from a dev cluster (dev-eu, eu-west)"
    )
    monitoring = [state.bundle("monitoring") is not None for state in render.states.values()]
    assert monitoring == [False, True]


@pytest.mark.parametrize("case", repos.cases("spec-errors"))
def test_the_schema_refuses_each_wrong_fleet_it_can_tell(
    schema: jsonschema.Draft202012Validator, case: dict[str, Any]
) -> None:
    if case.get("schema") == "not YAML":
        with pytest.raises(yaml.YAMLError):
            yaml.safe_load(case["fleet"])
        return
    refused = bool(list(schema.iter_errors(yaml.safe_load(case["fleet"]))))
    assert refused is (case.get("schema") != "accepts")
