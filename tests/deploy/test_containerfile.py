"""deploy/Containerfile, read as instructions (there is no container engine here to
build it): the base, a non-root numeric user that matches the Deployment, the package
installed with pip, and `fleet run` as the exec-form entrypoint."""

from __future__ import annotations

import json
import re

from tests.deploy.conftest import DEPLOY, MANIFESTS, documents, find

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    text = (DEPLOY / "Containerfile").read_text()
    logical, found = "", []
    for line in text.splitlines():
        if not logical and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        logical += line.rstrip()
        if logical.endswith("\\"):
            logical = logical[:-1] + " "
            continue
        keyword, _, arguments = logical.strip().partition(" ")
        found.append((keyword.upper(), " ".join(arguments.split())))
        logical = ""
    return found


def final_stage() -> list[Instruction]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def test_the_image_is_python_3_11_slim() -> None:
    bases = [arguments for keyword, arguments in instructions() if keyword == "FROM"]
    assert bases == ["python:3.11-slim AS build", "python:3.11-slim"]


def test_it_runs_as_the_non_root_user_the_deployment_expects() -> None:
    users = [arguments for keyword, arguments in final_stage() if keyword == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    uid, _, gid = users[-1].partition(":")
    assert re.fullmatch(r"[1-9][0-9]*", uid), "USER must be numeric for runAsNonRoot"
    pod = find(documents(MANIFESTS), "Deployment", "fleet")["spec"]["template"]["spec"]
    assert int(uid) == pod["securityContext"]["runAsUser"]
    assert int(gid) == pod["securityContext"]["runAsGroup"]


def test_the_package_is_installed_with_pip_from_pinned_wheels() -> None:
    runs = [arguments for keyword, arguments in instructions() if keyword == "RUN"]
    assert any("pip wheel" in run and "--constraint constraints.txt" in run for run in runs)
    assert any(
        run.startswith("pip install --no-cache-dir --no-index") for run in final_stage_runs()
    )


def final_stage_runs() -> list[str]:
    return [arguments for keyword, arguments in final_stage() if keyword == "RUN"]


def test_the_entrypoint_is_fleet_run_in_exec_form() -> None:
    entrypoints = [arguments for keyword, arguments in final_stage() if keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0]) == ["fleet", "run"]


def test_configuration_suits_a_container_and_holds_no_secret() -> None:
    env = " ".join(arguments for keyword, arguments in final_stage() if keyword == "ENV")
    assert "FLEET_API_LISTEN=0.0.0.0:8080" in env
    assert not re.search(r"TOKEN|SECRET|PASSWORD|DATABASE_URL", env)
    exposed = [arguments for keyword, arguments in final_stage() if keyword == "EXPOSE"]
    assert exposed == ["8080"]
