"""The emulated control plane: what a real cluster does on its own after a write.

Every committed write goes through `store` or `remove` here, which store it and then
react the way Kubernetes' controllers would:

- a new Namespace gets the `default` ServiceAccount and the `kube-root-ca.crt`
  ConfigMap; a deleted one turns `Terminating` and, `namespace_delay` seconds later,
  loses its content and disappears;
- a CustomResourceDefinition is accepted and `Established` at once, and its kinds are
  served (and stop being served, with their objects gone, when it is deleted);
- a Deployment, StatefulSet, DaemonSet or Job reports a finished rollout
  `rollout_delay` seconds after each change of its spec (`workloads.completed_status`).

Reactions that take time are cluster-owned timers, never tasks; status writes are
made as `kube-controller-manager` on the `status` subresource, so they carry
managedFields and reach watches like any other write.
"""

from __future__ import annotations

import uuid
from typing import Any

from fleet.sim import clusters, ownership, resources, storage, workloads

SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
ROOT_CA = "kube-root-ca.crt"
_ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)
_SIMULATED_CA = "-----BEGIN CERTIFICATE-----\nfleet-sim\n-----END CERTIFICATE-----\n"
APISERVER = "kube-apiserver"


def new_metadata(cluster: clusters.VirtualCluster, metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata of an object being created: the fields only the server sets."""
    return {
        **metadata,
        "uid": str(uuid.UUID(int=cluster.random.getrandbits(128), version=4)),
        "creationTimestamp": cluster.now(),
    }


def bootstrap(cluster: clusters.VirtualCluster) -> None:
    """The namespaces every cluster starts with."""
    for name in SYSTEM_NAMESPACES:
        namespace = {
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": new_metadata(
                cluster, {"name": name, "labels": {"kubernetes.io/metadata.name": name}}
            ),
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }
        store(cluster, resources.NAMESPACES, namespace, before=None)


def store(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    obj: dict[str, Any],
    *,
    before: dict[str, Any] | None,
) -> storage.StoredObject:
    """Commit a create or an update, then react to it."""
    stored = cluster.store.write(rtype.storage_key, obj)
    key = rtype.storage_key
    if key == resources.NAMESPACES.storage_key and before is None:
        _populate_namespace(cluster, obj["metadata"]["name"])
    elif key == resources.CRDS.storage_key:
        _serve_crd(cluster, obj, created=before is None)
    elif key in workloads.ROLLED_OUT:
        generation = obj["metadata"].get("generation")
        if before is None or before["metadata"].get("generation") != generation:
            _schedule_rollout(cluster, rtype, obj)
    return stored


def remove(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, obj: dict[str, Any]
) -> storage.StoredObject:
    """Commit a deletion, then react to it."""
    metadata = obj["metadata"]
    stored = cluster.store.remove(rtype.storage_key, obj)
    cluster.timers.cancel(_timer_key(rtype, metadata.get("namespace") or "", metadata["name"]))
    if rtype.storage_key == resources.CRDS.storage_key:
        _retire_crd(cluster, metadata["name"])
    return stored


def write_status(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    obj: dict[str, Any],
    status: dict[str, Any],
    *,
    manager: str,
) -> storage.StoredObject | None:
    """Replace `obj`'s status as a controller does (status subresource); None if unchanged."""
    if obj.get("status") == status:
        return None
    updated = ownership.update(
        old=obj, new={**obj, "status": status}, manager=manager, now=cluster.now(),
        subresource=resources.STATUS,
    )  # fmt: skip
    return cluster.store.write(rtype.storage_key, updated)


# -- namespaces ---------------------------------------------------------------------------


def _populate_namespace(cluster: clusters.VirtualCluster, namespace: str) -> None:
    account = {
        "kind": "ServiceAccount",
        "apiVersion": "v1",
        "metadata": new_metadata(cluster, {"name": "default", "namespace": namespace}),
    }
    cluster.store.write(resources.SERVICEACCOUNTS.storage_key, account)
    root_ca = {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": new_metadata(
            cluster,
            {
                "name": ROOT_CA,
                "namespace": namespace,
                "annotations": {"kubernetes.io/description": _ROOT_CA_DESCRIPTION},
            },
        ),
        "data": {"ca.crt": _SIMULATED_CA},
    }
    root_ca = ownership.update(
        old=None, new=root_ca, manager=workloads.CONTROLLER_MANAGER, now=cluster.now()
    )
    cluster.store.write(resources.CONFIGMAPS.storage_key, root_ca)


def terminate_namespace(
    cluster: clusters.VirtualCluster, namespace: dict[str, Any]
) -> storage.StoredObject:
    """Start deleting a namespace: Terminating now; content and namespace gone later.

    As with the namespace controller, the content goes a little after the delete (so
    `kubectl delete -f` of a namespace and its objects still finds the objects), and
    new content is refused meanwhile.
    """
    name = namespace["metadata"]["name"]
    terminating = {
        **namespace,
        "metadata": {**namespace["metadata"], "deletionTimestamp": cluster.now(),
                     "deletionGracePeriodSeconds": 0},
        "status": {**(namespace.get("status") or {}), "phase": "Terminating"},
    }  # fmt: skip
    stored = cluster.store.write(resources.NAMESPACES.storage_key, terminating)
    key = _timer_key(resources.NAMESPACES, "", name)
    cluster.timers.schedule(
        key, cluster.settings.namespace_delay, lambda: _finish_namespace(cluster, name)
    )
    return stored


def _finish_namespace(cluster: clusters.VirtualCluster, name: str) -> None:
    stored = cluster.store.get(resources.NAMESPACES.storage_key, "", name)
    if stored is None:
        return
    for storage_key, content in cluster.store.in_namespace(name):
        rtype = _rtype_for(cluster, storage_key)
        if rtype is not None:
            remove(cluster, rtype, content.load(rtype))
    namespace = stored.load(resources.NAMESPACES)
    namespace["spec"] = {**(namespace.get("spec") or {}), "finalizers": []}
    remove(cluster, resources.NAMESPACES, namespace)


def _rtype_for(cluster: clusters.VirtualCluster, storage_key: str) -> resources.ResourceType | None:
    return next((r for r in cluster.catalog.all() if r.storage_key == storage_key), None)


def is_terminating(cluster: clusters.VirtualCluster, namespace: str) -> bool | None:
    """Whether `namespace` is being deleted; None when it does not exist."""
    stored = cluster.store.get(resources.NAMESPACES.storage_key, "", namespace)
    if stored is None:
        return None
    return b'"deletionTimestamp"' in stored.body


# -- custom resource definitions ----------------------------------------------------------


def _serve_crd(cluster: clusters.VirtualCluster, crd: dict[str, Any], *, created: bool) -> None:
    name = crd["metadata"]["name"]
    if crd["metadata"].get("deletionTimestamp"):
        return
    rows = resources.from_crd(crd)
    if rows != cluster.catalog.crd_rows(name):
        cluster.catalog = cluster.catalog.with_crd(name, rows)
    names = crd["spec"]["names"]
    accepted = {k: names[k] for k in ("plural", "singular", "shortNames", "kind", "listKind",
                                       "categories") if k in names}  # fmt: skip
    accepted.setdefault("singular", names["kind"].lower())
    accepted.setdefault("listKind", f"{names['kind']}List")
    storage_version = next(
        (v["name"] for v in crd["spec"]["versions"] if v.get("storage")),
        rows[0].version if rows else "",
    )
    previous = crd.get("status") or {}
    now = cluster.now()
    conditions = [
        {"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
         "reason": "NoConflicts", "message": "no conflicts found"},
        {"type": "Established", "status": "True", "lastTransitionTime": now,
         "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
    ]  # fmt: skip
    if not created and previous.get("conditions"):
        conditions = previous["conditions"]
    stored_versions = list(previous.get("storedVersions") or [])
    if storage_version and storage_version not in stored_versions:
        stored_versions.append(storage_version)
    status = {
        "conditions": conditions,
        "acceptedNames": accepted,
        "storedVersions": stored_versions,
    }
    write_status(cluster, resources.CRDS, crd, status, manager=APISERVER)


def _retire_crd(cluster: clusters.VirtualCluster, name: str) -> None:
    rows = cluster.catalog.crd_rows(name)
    cluster.catalog = cluster.catalog.with_crd(name, ())
    if not rows:
        return
    rtype = rows[0]
    for stored in cluster.store.objects(rtype.storage_key):
        remove(cluster, rtype, stored.load(rtype))


# -- workloads ----------------------------------------------------------------------------


def _timer_key(rtype: resources.ResourceType, namespace: str, name: str) -> tuple[str, str, str]:
    return rtype.storage_key, namespace, name


def _schedule_rollout(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, obj: dict[str, Any]
) -> None:
    metadata = obj["metadata"]
    namespace, name = metadata.get("namespace") or "", metadata["name"]
    cluster.timers.schedule(
        _timer_key(rtype, namespace, name),
        cluster.settings.rollout_delay,
        lambda: _complete_rollout(cluster, rtype, namespace, name),
    )


def _complete_rollout(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, namespace: str, name: str
) -> None:
    stored = cluster.store.get(rtype.storage_key, namespace, name)
    if stored is None:
        return
    obj = stored.load(rtype)
    status = workloads.completed_status(rtype.storage_key, obj, now=cluster.now())
    if status is not None:
        write_status(cluster, rtype, obj, status, manager=workloads.CONTROLLER_MANAGER)
