"""deploy/kubernetes agrees with `LeaderSettings`: the Role grants exactly what the
elector does to its Lease, and the Deployment turns leader election on with the pod's
name and namespace."""

from __future__ import annotations

from fleet.structs.settings import LeaderSettings
from tests.deploy.conftest import MANIFESTS, documents, find


def test_the_role_grants_get_create_update_on_the_lease_only() -> None:
    defaults = LeaderSettings()
    role = find(documents(MANIFESTS), "Role", "fleet-leader-election")
    assert role["metadata"]["namespace"] == defaults.namespace
    granted = set()
    for rule in role["rules"]:
        assert rule["apiGroups"] == ["coordination.k8s.io"]
        assert rule["resources"] == ["leases"]
        names = tuple(rule.get("resourceNames", ()))
        assert names in ((), (defaults.lease_name,))
        granted |= {(verb, names) for verb in rule["verbs"]}
    # create cannot be limited to a name: the object does not exist yet.
    assert granted == {("create", ()), ("get", ("fleet",)), ("update", ("fleet",))}


def test_the_deployment_elects_under_the_pod_name_in_its_namespace() -> None:
    deployment = find(documents(MANIFESTS), "Deployment", "fleet")
    pod = deployment["spec"]["template"]["spec"]
    assert pod.get("automountServiceAccountToken", True) is True  # in-cluster access
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["FLEET_LEADER_ENABLED"]["value"] == "true"
    assert env["FLEET_LEADER_IDENTITY"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    namespace = env["FLEET_LEADER_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"]
    assert namespace == "metadata.namespace"
    assert "FLEET_LEADER_KUBECONFIG" not in env
