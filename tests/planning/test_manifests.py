"""Which files of a bundle are manifests, and what an empty or broken bundle reports."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.planning import manifests
from fleet.planning.specs import BundleSource
from fleet.structs.sources import SourceFile
from tests.planning import repos


@pytest.mark.parametrize("case", repos.cases("bundle-files"))
def test_manifests_and_problems_of_a_bundle(case: dict[str, Any]) -> None:
    files = [SourceFile(path, data.encode()) for path, data in case["files"].items()]
    parsed = manifests.parse_bundle(BundleSource("b"), files)
    assert [str(manifest.location) for manifest in parsed.manifests] == case["manifests"]
    assert [str(problem) for problem in parsed.problems] == case["problems"]
