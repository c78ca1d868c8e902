"""The example fleet of `clusters/` converges on simulated clusters of every environment:
CRDs before the resources that use them, namespaces before their content, the
observe-only monitoring bundle on prod only, and policies that let it all through."""

from __future__ import annotations

from pathlib import Path

from tests.engine import harness, repos


async def test_the_example_fleet_converges(tmp_path: Path) -> None:
    async with harness.running(tmp_path, files=repos.example(), clusters=6) as run:
        await run.converged()
        for name in run.names:
            view = run.view(name)
            expected = ["namespaces", "podinfo", "widget-crds", "widgets"]
            if view.labels["env"] == "prod":
                expected.append("monitoring")
            assert [b.name for b in view.bundles] == expected
            assert {b.state for b in view.bundles} == {"ready"}, view.bundles
