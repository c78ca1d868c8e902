"""Records the diffing fixtures: real managedFields, from fleet.sim and the real kubectl.

    .venv/bin/python -m tests.planning.recording

Diffing reads `managedFields`, whose shape (``k:{...}`` keys with defaulted key fields,
``v:`` set members, one entry per manager, operation and subresource) is easy to get
subtly wrong by hand. So the objects the diffing tests read are recorded, not written:
for each scenario of ``fixtures/diffing/scenarios.yaml`` this starts a simulator, does
the scenario's steps with kubectl (fleet's apply is ``kubectl apply --server-side
--field-manager=fleet --force-conflicts``, the other steps are what a person or another
controller does) and writes the object after each step to
``fixtures/diffing/recorded/<scenario>.yaml``. The tests only read those files: recording needs
kubectl and takes a few seconds per scenario, a test run needs neither.

Run with ``--edit FILE`` it is the editor that ``kubectl edit`` starts: it applies the
JSON patch in ``$FLEET_EDIT`` to the object in FILE.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from fleet.planning import patching

FOLDER = Path(__file__).parent / "fixtures" / "diffing"
RECORDED = FOLDER / "recorded"
HEADER = (
    "# Recorded by `python -m tests.planning.recording` from fleet.sim and kubectl, with the\n"
    "# steps of scenarios.yaml: the object after each step. Do not edit; record again.\n"
)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def scenarios() -> dict[str, Any]:
    """The scenarios, by name (shared by the tests: copy before changing what it returns)."""
    loaded: dict[str, Any] = yaml.load((FOLDER / "scenarios.yaml").read_text(), Loader=_LOADER)
    return loaded


@functools.cache
def recorded(scenario: str) -> dict[str, Any]:
    """The objects recorded for a scenario, by step (shared too: copy them)."""
    text = (RECORDED / f"{scenario}.yaml").read_text()
    loaded: dict[str, Any] = yaml.load(text, Loader=_LOADER)
    return loaded


def manifest_of(steps: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The manifest applied at step ``name`` (a step may apply an earlier step's again)."""
    step = next(step for step in steps if step["name"] == name)
    applied = step["apply"]
    return manifest_of(steps, applied) if isinstance(applied, str) else dict(applied)


async def record(name: str, scenario: dict[str, Any], home: Path) -> dict[str, Any]:
    """The object after each step of one scenario, on a fresh simulator."""
    # Imported here: the tests import this module for its scenarios, not for a simulator.
    from tests.support import simulator
    from tests.support.kubectl import Kubectl

    target = scenario["object"]
    namespaced = ["-n", target["namespace"]] if "namespace" in target else []
    # The controllers stay still: status changes only when a step says so.
    async with simulator.running(clusters=1, tls=True, rollout_delay=3600) as sim:
        await sim.write_files(home / "out")
        kubectl = Kubectl(home / "out" / "sim-000.kubeconfig", home)

        async def run(*args: str, env: dict[str, str] | None = None) -> None:
            result = await kubectl(*args, env=env)
            if result.code != 0:
                raise RuntimeError(f"{name}: kubectl {' '.join(args)}: {result.err}")

        if "namespace" in target:
            await run("create", "namespace", target["namespace"])
        recorded: dict[str, Any] = {}
        for step in scenario["steps"]:
            if "apply" in step:
                manager = step.get("manager", "fleet")
                path = home / f"{step['name']}.json"
                path.write_text(json.dumps(manifest_of(scenario["steps"], step["name"])))
                force = ["--force-conflicts"] if manager == "fleet" or step.get("force") else []
                await run(
                    "apply", "--server-side", f"--field-manager={manager}", *force, "-f", str(path)
                )
            elif "kubectl" in step:
                await run(*step["kubectl"], *namespaced)
            elif "edit" in step:
                editor = f"{sys.executable} -m tests.planning.recording --edit"
                env = {
                    "EDITOR": editor,
                    "FLEET_EDIT": json.dumps(step["edit"]),
                    "PYTHONPATH": str(Path(__file__).parents[2]),
                }
                await run("edit", f"{target['kind']}/{target['name']}", *namespaced, env=env)
            else:
                path = home / f"{step['name']}.json"
                path.write_text(json.dumps(step["status"]))
                await run(
                    "patch",
                    target["kind"],
                    target["name"],
                    *namespaced,
                    "--subresource=status",
                    "--type=merge",
                    f"--patch-file={path}",
                    "--field-manager=kube-controller-manager",
                )
            shown = await kubectl(
                "get",
                target["kind"],
                target["name"],
                *namespaced,
                "-o",
                "json",
                "--show-managed-fields",
            )
            recorded[step["name"]] = json.loads(shown.out)
        return recorded


def edit(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    edited = patching.json_patch(document, json.loads(os.environ["FLEET_EDIT"]))
    path.write_text(yaml.safe_dump(edited, sort_keys=False))


async def main() -> None:
    for name, scenario in scenarios().items():
        with tempfile.TemporaryDirectory() as home:
            recorded = await record(name, scenario, Path(home))
        text = yaml.safe_dump(recorded, sort_keys=False, width=100)
        (RECORDED / f"{name}.yaml").write_text(HEADER + text)
        print(f"{name}: {', '.join(recorded)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--edit"]:
        edit(Path(sys.argv[2]))
    else:
        asyncio.run(main())
