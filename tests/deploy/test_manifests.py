"""deploy/kubernetes: applied by the real kubectl (server-side, dry run first) to a
simulated management cluster, and checked for what running fleet safely needs."""

from __future__ import annotations

from typing import Any

from tests.deploy.conftest import MANIFESTS, Kubectl, documents, find

APPLIED = [  # in file order: the namespace first, so one command installs everything
    "namespace/fleet-system serverside-applied",
    "serviceaccount/fleet serverside-applied",
    "role.rbac.authorization.k8s.io/fleet-leader-election serverside-applied",
    "rolebinding.rbac.authorization.k8s.io/fleet-leader-election serverside-applied",
    "deployment.apps/fleet serverside-applied",
    "service/fleet serverside-applied",
]


async def test_one_command_installs_everything_on_a_fresh_cluster(kubectl: Kubectl) -> None:
    applied = await kubectl("apply", "--server-side", "-f", str(MANIFESTS))
    assert applied.code == 0, applied
    assert applied.out.splitlines() == APPLIED
    rolled = await kubectl("get", "deployment", "fleet", "-n", "fleet-system", "-o", "name")
    assert rolled.out.strip() == "deployment.apps/fleet"


async def test_manifests_apply_server_side_dry_run_then_for_real(kubectl: Kubectl) -> None:
    namespace = await kubectl("apply", "--server-side", "-f", str(MANIFESTS / "00-namespace.yaml"))
    assert namespace.code == 0, namespace
    for path in (MANIFESTS, MANIFESTS / "examples"):
        dry = await kubectl("apply", "--server-side", "--dry-run=server", "-f", str(path))
        assert dry.code == 0, dry
        assert all(line.endswith("(server dry run)") for line in dry.out.splitlines()), dry
    listed = await kubectl(
        "get", "deployments,services,serviceaccounts", "-n", "fleet-system", "-o", "name"
    )
    assert listed.out.split() == ["serviceaccount/default"]  # a dry run stores nothing
    applied = await kubectl("apply", "--server-side", "-f", str(MANIFESTS))
    assert applied.code == 0, applied
    assert applied.out.splitlines() == APPLIED
    again = await kubectl("apply", "--server-side", "-f", str(MANIFESTS))
    assert again.code == 0, again
    stored = await kubectl("get", "deployment", "fleet", "-n", "fleet-system", "-o", "yaml")
    assert "readOnlyRootFilesystem: true" in stored.out
    assert "path: /readyz" in stored.out


def _deployment() -> dict[str, Any]:
    return find(documents(MANIFESTS), "Deployment", "fleet")


def test_every_object_is_in_fleet_system_and_labelled() -> None:
    for obj in documents(MANIFESTS) + documents(MANIFESTS / "examples"):
        metadata = obj["metadata"]
        assert metadata["labels"]["app.kubernetes.io/name"] == "fleet", metadata["name"]
        if obj["kind"] != "Namespace":
            assert metadata["namespace"] == "fleet-system", metadata["name"]


def test_the_pod_runs_unprivileged_with_a_read_only_root() -> None:
    pod = _deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["enableServiceLinks"] is False
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/var/lib/fleet"]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    env = {e["name"]: e for e in container["env"]}
    assert env["FLEET_GIT_STATE_DIR"]["value"].startswith("/var/lib/fleet/")


def test_probes_resources_and_one_controller_at_a_time() -> None:
    deployment = _deployment()
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    service = find(documents(MANIFESTS), "Service", "fleet")
    assert service["spec"]["ports"][0]["port"] == 8080


def test_secrets_come_from_secret_references_only() -> None:
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    for name in (
        "FLEET_API_TOKEN",
        "FLEET_WEBHOOK_SECRET",
        "FLEET_DATABASE_URL",
        "FLEET_GIT_PASSWORD",
    ):
        assert "value" not in env[name]
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "fleet"
    assert env["FLEET_API_LISTEN"]["value"] == "0.0.0.0:8080"
    assert not [o for o in documents(MANIFESTS) if o["kind"] == "Secret"]  # examples only


def test_rbac_is_the_lease_and_nothing_else() -> None:
    objects = documents(MANIFESTS)
    role = find(objects, "Role", "fleet-leader-election")
    assert {resource for rule in role["rules"] for resource in rule["resources"]} == {"leases"}
    assert not [o for o in objects if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    binding = find(objects, "RoleBinding", "fleet-leader-election")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "fleet", "namespace": "fleet-system"}
    ]
    pod = _deployment()["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "fleet"
