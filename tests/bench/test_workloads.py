"""The benchmarks' fleet repositories: bundles of objects, a release as one commit."""

from __future__ import annotations

import pytest
import yaml

from benchmarks import workloads


def test_files_hold_every_bundle_and_a_parameter_for_the_release() -> None:
    workload = workloads.Workload(bundles=3, objects=10)
    files = workload.files("2.0")
    spec = yaml.safe_load(files["fleet.yaml"])
    assert [b["name"] for b in spec["bundles"]] == ["app-0", "app-1", "app-2"]
    assert {b["params"]["version"] for b in spec["bundles"]} == {"2.0"}
    documents = list(yaml.safe_load_all(files["apps/app-1/manifests.yaml"]))
    assert len(documents) == 10
    assert documents[0]["kind"] == "Namespace"
    images = [d["spec"]["template"]["spec"]["containers"][0]["image"]
              for d in documents if d["kind"] == "Deployment"]  # fmt: skip
    assert images == ["registry.example.com/deployment-1:${version}"]


def test_manifests_are_what_one_cluster_gets_with_fleets_labels() -> None:
    workload = workloads.Workload(bundles=2, objects=10)
    rendered = workload.manifests("1.1")
    assert len(rendered) == workload.per_cluster == 20
    assert all(m["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "fleet" for m in rendered)
    assert "${" not in yaml.safe_dump_all(rendered)


def test_a_workload_needs_a_bundle_and_two_objects() -> None:
    with pytest.raises(ValueError, match="a bundle and two objects"):
        workloads.Workload(bundles=0, objects=10)
