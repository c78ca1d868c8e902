"""Server-side apply: `PATCH` with `application/apply-patch+yaml`.

The merge and the field ownership are `ownership.apply`'s; this module is the request
around it: the body must name its kind, a field manager is required, a
resourceVersion in the body is a precondition, and an apply to a missing object
creates it. An apply whose merge changes nothing answers with the stored object and
writes nothing, which is the common case for a controller that applies what is
already there. Conflicts become the apiserver's 409 `Status`, with one
`FieldManagerConflict` cause per field.
"""

from __future__ import annotations

from fleet.sim import clusters, decoding, ownership, resources, statuses, writing


def apply(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    *,
    namespace: str,
    name: str,
    body: bytes,
    options: writing.WriteOptions,
) -> writing.Outcome:
    """PATCH with `application/apply-patch+yaml`: create or merge by field ownership."""
    if not options.manager:
        raise statuses.bad_request("PATCH request is invalid: fieldManager is required for apply "
                                   "requests")  # fmt: skip
    try:
        config = decoding.decode_yaml(body)
    except decoding.DecodeError as error:
        raise statuses.bad_request(str(error)) from None
    config, warnings = writing.admit(
        rtype, config, namespace=namespace, name=name, options=options, require_type=True
    )
    stored = cluster.store.get(rtype.storage_key, namespace, name)
    live = stored.load(rtype) if stored is not None else None
    if live is not None:
        writing.check_version(rtype, name, config["metadata"].get("resourceVersion"), live)
    elif config["metadata"].get("resourceVersion"):
        raise statuses.not_found(resource=rtype.plural, group=rtype.group, name=name)
    try:
        merged = ownership.apply(
            live=live, config=config, manager=options.manager, force=options.force,
            now=cluster.now(),
        )  # fmt: skip
    except ownership.ConflictError as error:
        causes = [statuses.Cause("FieldManagerConflict", f"conflict with {c.owner}", c.field)
                  for c in error.conflicts]  # fmt: skip
        raise statuses.ApiError(
            code=409, reason="Conflict", message=str(error), causes=causes
        ) from None
    except ownership.InvalidObjectError as error:
        raise statuses.invalid(
            kind=rtype.kind, group=rtype.group, name=name,
            causes=[statuses.Cause("FieldValueInvalid", str(error))],
        ) from None  # fmt: skip
    if stored is None or live is None:
        return writing.create_admitted(
            cluster, rtype, merged, options=options, warnings=warnings, applied=True
        )
    if merged is live:
        return writing.Outcome(200, stored.document(rtype), warnings)
    return writing.update_admitted(
        cluster, rtype, stored, live, merged, options=options, warnings=warnings, applied=True
    )
