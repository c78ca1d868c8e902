"""Delete: preconditions, finalizers, namespaces, and what the answer is.

Most objects go at once, and the answer is a success `Status` naming them -- except
for the kinds whose delete returns the object (`ResourceType.returns_deleted_object`).
Objects with finalizers are only marked (`deletionTimestamp`) and go when an update
removes their last finalizer (see `writing`), and a namespace turns Terminating and is
emptied by its controller (`controllers.terminate_namespace`), so both answer with the
object as it now is. `propagationPolicy` and grace periods are accepted and ignored:
there is no garbage collector and there are no pods.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.sim import clusters, controllers, resources, statuses, storage, writing


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    dry_run: bool = False
    uid: str | None = None
    resource_version: str | None = None


def delete(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    *,
    namespace: str,
    name: str,
    options: DeleteOptions,
) -> writing.Outcome:
    """DELETE of one object: the object (some kinds) or a success Status."""
    stored = writing.existing(cluster, rtype, namespace, name)
    obj = stored.load(rtype)
    metadata = obj["metadata"]
    for what, given, actual in (
        ("UID", options.uid, metadata.get("uid")),
        ("ResourceVersion", options.resource_version, metadata.get("resourceVersion")),
    ):
        if given and given != actual:
            raise statuses.conflict(
                resource=rtype.plural, group=rtype.group, name=name,
                why=f"Precondition failed: {what} in precondition: {given}, {what} in object "
                f"meta: {actual}",
            )  # fmt: skip
    pending = bool(metadata.get("deletionTimestamp"))
    if rtype is resources.NAMESPACES or metadata.get("finalizers"):
        # Namespaces and objects with finalizers are marked, not removed, and say so.
        if options.dry_run or pending:
            return writing.Outcome(200, stored.document(rtype))
        if rtype is resources.NAMESPACES:
            return writing.Outcome(
                200, controllers.terminate_namespace(cluster, obj).document(rtype)
            )
        marked = {**obj, "metadata": {**metadata, "deletionTimestamp": cluster.now(),
                                      "deletionGracePeriodSeconds": 0}}  # fmt: skip
        return writing.Outcome(
            200, controllers.store(cluster, rtype, marked, before=obj).document(rtype)
        )
    if not options.dry_run:
        stored = controllers.remove(cluster, rtype, obj)
    if rtype.returns_deleted_object:
        return writing.Outcome(200, stored.document(rtype))
    status = statuses.success(
        name=name, group=rtype.group, resource=rtype.plural, uid=str(metadata.get("uid", ""))
    )
    return writing.Outcome(200, storage.dumps(status))
