"""Policies: each rule, and which clusters and bundles a policy applies to."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from fleet.planning import loading, policies
from fleet.structs.objects import ClusterName, ObjectKey
from tests.planning import repos

POLICIES = repos.REPOS / "policies"

WEB = "app/workloads.yaml:1:1"
NIGHTLY = "app/workloads.yaml:20:1"
BASELINE = [
    f"{WEB}: [cluster {{}}, bundle app, target all] Deployment.apps app/web:"
    " container 'web' is privileged (policy 'baseline', rule forbidPrivileged)",
    f"{WEB}: [cluster {{}}, bundle app, target all] Deployment.apps app/web:"
    " init container 'setup' has no memory limit (policy 'baseline', rule requireLimits)",
    f"{WEB}: [cluster {{}}, bundle app, target all] Deployment.apps app/web:"
    " the Pod template sets hostNetwork: true (policy 'baseline', rule forbidHostNamespaces)",
    f"{NIGHTLY}: [cluster {{}}, bundle app, target all] CronJob.batch app/nightly:"
    " container 'job' has no cpu or memory limit (policy 'baseline', rule requireLimits)",
    f"{NIGHTLY}: [cluster {{}}, bundle app, target all] CronJob.batch app/nightly:"
    " the Pod template sets hostPID: true (policy 'baseline', rule forbidHostNamespaces)",
]
PROD_ONLY = [
    f"{NIGHTLY}: [cluster {{}}, bundle app, target all] CronJob.batch app/nightly:"
    " label 'team' is required (policy 'prod-only', rule requireLabels)",
    "app/workloads.yaml:34:1: [cluster {}, bundle app, target all] Job.batch app/once:"
    " kind Job.batch is denied (policy 'prod-only', rule denyKinds)",
    "app/workloads.yaml:47:1: [cluster {}, bundle app, target all] ClusterRoleBinding"
    ".rbac.authorization.k8s.io admin: kind ClusterRoleBinding.rbac.authorization.k8s.io"
    " is denied (policy 'prod-only', rule denyKinds)",
]


@pytest.mark.parametrize(("env", "expected"), [("dev", BASELINE), ("prod", BASELINE + PROD_ONLY)])
def test_violations_name_object_policy_and_rule(env: str, expected: list[str]) -> None:
    state = repos.render(POLICIES, repos.cluster(env, env=env)).states[ClusterName(env)]
    app, _agent = state.bundles
    assert sorted(map(str, app.problems)) == sorted(line.format(env) for line in expected)
    assert app.blocked
    assert not app.objects


def test_a_bundle_selector_can_exempt_one_bundle() -> None:
    # The node agent is privileged and on the host network, and `baseline` exempts it.
    state = repos.render(POLICIES, repos.cluster("dev", env="dev")).states[ClusterName("dev")]
    agent = state.bundles[1]
    assert not agent.blocked
    assert [str(desired.key) for desired in agent.objects] == ["DaemonSet.apps kube-system/agent"]


@pytest.mark.parametrize("case", repos.cases("policy-rules"))
def test_each_rule(case: dict[str, Any]) -> None:
    document = {
        "apiVersion": "fleet.dev/v1alpha1",
        "kind": "Fleet",
        "bundles": [{"name": "a", "path": "a", "targets": [{"name": "t", "clusterSelector": {}}]}],
        "policies": [{"name": "p", **case["policy"]}],
    }
    (policy,) = loading.load(yaml.safe_dump(document).encode()).policies
    manifest = case["object"]
    key = ObjectKey.from_manifest(manifest)
    assert policies.violations(policy, key, manifest) == case["violations"]


def test_a_violation_blocks_only_its_bundle_on_its_cluster() -> None:
    # On prod, `prod-only` governs both bundles; only `app` breaks it, and only there.
    render = repos.render(
        POLICIES, repos.cluster("dev", env="dev"), repos.cluster("prod", env="prod")
    )
    blocked = {
        (state.cluster, bundle.name): bundle.blocked
        for state in render.states.values()
        for bundle in state.bundles
    }
    assert blocked == {
        ("dev", "app"): True,
        ("dev", "agent"): False,
        ("prod", "app"): True,
        ("prod", "agent"): False,
    }
    prod_rules = {
        problem.message.rsplit("rule ", 1)[1]
        for problem in render.states[ClusterName("prod")].problems
    }
    dev_rules = {
        problem.message.rsplit("rule ", 1)[1]
        for problem in render.states[ClusterName("dev")].problems
    }
    assert prod_rules - dev_rules == {"denyKinds)", "requireLabels)"}
