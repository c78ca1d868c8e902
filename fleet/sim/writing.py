"""Create, update and patch, and the steps every write shares, with the apiserver's rules.

Every write walks the same steps a real apiserver takes, in the same order, because
the order is visible to clients: decode and check the body against the endpoint
(400), merge or patch, carry over what only the server may set (uid, timestamps,
status on the main resource), validate (422), fill in defaults, bump `generation`
when the spec changed, record the field manager, and then -- unless nothing changed
or the request was a dry run -- commit at the next resourceVersion. A write that
changes nothing (an apply of what is already there) is not a write: no new
resourceVersion, no watch event, like the apiserver's no-op detection, which also
ignores managedFields timestamps.

Field ownership is `ownership`'s business (server-side apply and managedFields); this
module only decides when to call it: `update` for create, update and patch (after
defaulting, so a Deployment's defaulted fields belong to whoever created it, as in
Kubernetes), `apply` for apply (before defaulting, so defaults belong to nobody; see
`applying`). `admit`, `create_admitted` and `update_admitted` are the shared steps that
`applying` uses too; deletes are `deleting`'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet.sim import (
    clusters,
    controllers,
    decoding,
    defaulting,
    listtypes,
    ownership,
    patching,
    resources,
    scaling,
    statuses,
    storage,
    validating,
)

_SERVER_METADATA = frozenset({
    "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
    "generation", "resourceVersion", "selfLink",
})  # fmt: skip


_INITIAL_STATUS: dict[str, dict[str, Any]] = {
    resources.NAMESPACES.storage_key: {"phase": "Active"},
    "services": {"loadBalancer": {}},
}


class Validation(StrEnum):
    """The `fieldValidation` query parameter."""

    STRICT = "Strict"
    WARN = "Warn"
    IGNORE = "Ignore"


class PatchType(StrEnum):
    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


@dataclass(frozen=True, slots=True)
class WriteOptions:
    manager: str
    dry_run: bool = False
    force: bool = False
    validation: Validation = Validation.WARN
    """The apiserver's default when a request does not say (kubectl says Strict)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """A successful write: the status code, the JSON body, and `Warning`s to send."""

    code: int
    body: bytes
    warnings: tuple[str, ...] = ()

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Outcome({self.code}, {len(self.body)} bytes, {len(self.warnings)} warnings)"


# -- checks shared by every write ---------------------------------------------------------


def admit(
    rtype: resources.ResourceType,
    body: Any,
    *,
    namespace: str,
    name: str | None,
    options: WriteOptions,
    duplicates: Sequence[str] = (),
    require_type: bool = False,
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The body as an object of this endpoint's kind, plus field-validation warnings."""
    obj = _typed(rtype, body, require_type=require_type)
    metadata = obj["metadata"]
    given_namespace = metadata.get("namespace") or ""
    if not rtype.namespaced:
        metadata.pop("namespace", None)
    elif given_namespace and given_namespace != namespace:
        raise statuses.bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    else:
        metadata["namespace"] = namespace
    if name is not None:
        given_name = metadata.get("name") or ""
        if given_name and given_name != name:
            raise statuses.bad_request(
                f"the name of the object ({given_name}) does not match the name on the URL ({name})"
            )
        metadata["name"] = name
    return obj, _field_validation(rtype, obj, options=options, duplicates=duplicates)


def _typed(rtype: resources.ResourceType, body: Any, *, require_type: bool) -> dict[str, Any]:
    """A copy of `body` whose kind, apiVersion and metadata are those of the endpoint."""
    if not isinstance(body, dict):
        raise statuses.bad_request("the body of the request must be a JSON or YAML object")
    for field, expected in (("apiVersion", rtype.api_version), ("kind", rtype.kind)):
        given = body.get(field)
        if given in (None, "") and require_type:
            raise statuses.bad_request(f"{field} must be set in the body of an apply request")
        if given not in (None, "") and given != expected:
            raise statuses.bad_request(
                f"the {field} in the data ({given}) does not match the expected {field} "
                f"({expected})"
            )
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise statuses.bad_request("metadata must be an object")
    obj: dict[str, Any] = {"kind": rtype.kind, "apiVersion": rtype.api_version}
    obj.update((k, v) for k, v in body.items() if k not in ("kind", "apiVersion"))
    obj["metadata"] = dict(metadata)
    errors = validating.decoding_errors(rtype, obj)
    if errors:
        raise statuses.bad_request(
            f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
            + ", ".join(errors)
        )
    return obj


def _field_validation(
    rtype: resources.ResourceType,
    obj: dict[str, Any],
    *,
    options: WriteOptions,
    duplicates: Sequence[str],
) -> tuple[str, ...]:
    """Apply `fieldValidation`: Strict refuses unknown or duplicate fields, the others drop them."""
    metadata = obj["metadata"]
    unknown = validating.unknown_fields(rtype, obj)
    problems = [f'duplicate field "{key}"' for key in duplicates]
    problems += [f'unknown field "{path}"' for path in unknown]
    if problems and options.validation is Validation.STRICT:
        raise statuses.bad_request(f"strict decoding error: {', '.join(problems)}")
    for path in unknown:  # Warn and Ignore drop what the schema does not know
        if path.startswith("metadata."):
            metadata.pop(path.removeprefix("metadata."), None)
        else:
            obj.pop(path, None)
    return tuple(problems) if options.validation is Validation.WARN else ()


def _validate(rtype: resources.ResourceType, obj: dict[str, Any], *causes: statuses.Cause) -> None:
    found = [*causes, *validating.metadata(rtype, obj)]
    if rtype is resources.CRDS:
        found.extend(validating.crd(obj))
    if found:
        name = obj["metadata"].get("name") if isinstance(obj.get("metadata"), dict) else ""
        raise statuses.invalid(
            kind=rtype.kind, group=rtype.group, name=str(name or ""), causes=found
        )


def existing(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, namespace: str, name: str
) -> storage.StoredObject:
    stored = cluster.store.get(rtype.storage_key, namespace, name)
    if stored is None:
        raise statuses.not_found(resource=rtype.plural, group=rtype.group, name=name)
    return stored


def _require_namespace(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, namespace: str, name: str
) -> None:
    terminating = controllers.is_terminating(cluster, namespace)
    if terminating is None:
        raise statuses.not_found(resource="namespaces", group="", name=namespace)
    if terminating:
        raise statuses.forbidden(
            resource=rtype.plural,
            group=rtype.group,
            name=name,
            why=f"unable to create new content in namespace {namespace} because it is being "
            "terminated",
        )


def _defaults(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, obj: dict[str, Any]
) -> dict[str, Any]:
    try:
        return defaulting.apply(rtype, obj, allocate_ip=cluster.allocate_ip)
    except ValueError as error:
        raise statuses.bad_request(str(error)) from None


def merge_key(api_version: str) -> patching.MergeKey:
    """The strategic-merge key of a list, from the same table server-side apply uses."""
    table = listtypes.for_api_version(api_version)

    def key(path: tuple[str, ...]) -> str | None:
        list_type = table.lists.get((path[-2], path[-1])) if len(path) > 1 else None
        if list_type is None or list_type.is_set:
            return None
        # The strategic key is the one key without a default (containerPort, not protocol).
        return next((k for k in list_type.keys if k not in list_type.defaults), list_type.keys[0])

    return key


def _without_times(obj: dict[str, Any]) -> dict[str, Any]:
    entries = obj["metadata"].get("managedFields")
    if not isinstance(entries, list):
        return obj
    stripped = [{k: v for k, v in e.items() if k != "time"} if isinstance(e, dict) else e
                for e in entries]  # fmt: skip
    return {**obj, "metadata": {**obj["metadata"], "managedFields": stripped}}


def _unchanged(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return old == new or _without_times(old) == _without_times(new)


def _spec_changed(rtype: resources.ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
    ignored = {"metadata", "status"} if resources.STATUS in rtype.subresources else {"metadata"}
    keys = (set(old) | set(new)) - ignored
    return any(old.get(k) != new.get(k) for k in keys)


# -- create ------------------------------------------------------------------------------


def create(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    *,
    namespace: str,
    body: Any,
    options: WriteOptions,
    duplicates: Sequence[str] = (),
) -> Outcome:
    """POST to a collection (201)."""
    obj, warnings = admit(
        rtype, body, namespace=namespace, name=None, options=options, duplicates=duplicates
    )
    metadata = obj["metadata"]
    if metadata.get("resourceVersion"):
        raise statuses.bad_request("resourceVersion should not be set on objects to be created")
    generate = metadata.get("generateName")
    if not metadata.get("name") and isinstance(generate, str) and generate:
        metadata["name"] = generate + cluster.random_suffix()
    return create_admitted(cluster, rtype, obj, options=options, warnings=warnings, applied=False)


def create_admitted(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    obj: dict[str, Any],
    *,
    options: WriteOptions,
    warnings: tuple[str, ...],
    applied: bool,
) -> Outcome:
    _validate(rtype, obj)
    metadata = obj["metadata"]
    name, namespace = metadata["name"], metadata.get("namespace") or ""
    if rtype.namespaced:
        _require_namespace(cluster, rtype, namespace, name)
    if cluster.store.get(rtype.storage_key, namespace, name) is not None:
        raise statuses.already_exists(resource=rtype.plural, group=rtype.group, name=name)
    kept = {k: v for k, v in metadata.items() if k not in _SERVER_METADATA}
    obj["metadata"] = controllers.new_metadata(cluster, kept)
    if rtype.generation:
        obj["metadata"]["generation"] = 1
    if resources.STATUS in rtype.subresources:
        obj.pop("status", None)
    # The status a new object starts with, where the apiserver writes one at once.
    initial = _INITIAL_STATUS.get(rtype.storage_key)
    if initial is not None:
        obj["status"] = dict(initial)
    obj = _defaults(cluster, rtype, obj)
    if not applied:
        obj = ownership.update(old=None, new=obj, manager=options.manager, now=cluster.now())
    return _commit(cluster, rtype, obj, before=None, options=options, warnings=warnings)


def _commit(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    obj: dict[str, Any],
    *,
    before: dict[str, Any] | None,
    options: WriteOptions,
    warnings: tuple[str, ...],
) -> Outcome:
    """Store a created or changed object (or only show it, for a dry run)."""
    code = 201 if before is None else 200
    if options.dry_run:
        return Outcome(code, storage.dumps(obj), warnings)
    metadata = obj["metadata"]
    if before is not None and metadata.get("deletionTimestamp") and not metadata.get("finalizers"):
        # The last finalizer is gone: the pending delete completes.
        return Outcome(code, controllers.remove(cluster, rtype, obj).document(rtype), warnings)
    stored = controllers.store(cluster, rtype, obj, before=before)
    return Outcome(code, stored.document(rtype), warnings)


# -- update and patch ---------------------------------------------------------------------


def replace(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    *,
    namespace: str,
    name: str,
    body: Any,
    options: WriteOptions,
    subresource: str = "",
    duplicates: Sequence[str] = (),
) -> Outcome:
    """PUT of an object or its status (200); 409 if the body's resourceVersion is stale."""
    stored = existing(cluster, rtype, namespace, name)
    if subresource == resources.SCALE:
        replicas = scaling.replicas(body, name=name)
        check_version(rtype, name, scaling.resource_version(body), stored.load(rtype))
        return _rescale(cluster, rtype, stored, replicas, options)
    obj, warnings = admit(
        rtype, body, namespace=namespace, name=name, options=options, duplicates=duplicates
    )
    old = stored.load(rtype)
    given = obj["metadata"].get("resourceVersion")
    if not given and not rtype.unconditional_update:
        cause = statuses.Cause(
            "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update",
            "metadata.resourceVersion",
        )  # fmt: skip
        # The apiserver names the resource here, not the kind: `leases.coordination.k8s.io`.
        raise statuses.invalid(kind=rtype.plural, group=rtype.group, name=name, causes=[cause])
    check_version(rtype, name, given, old)
    return update_admitted(
        cluster, rtype, stored, old, obj, options=options, warnings=warnings,
        subresource=subresource,
    )  # fmt: skip


def check_version(
    rtype: resources.ResourceType, name: str, given: Any, old: dict[str, Any]
) -> None:
    if given and given != old["metadata"]["resourceVersion"]:
        raise statuses.stale(resource=rtype.plural, group=rtype.group, name=name)


def _carry_over(
    rtype: resources.ResourceType, old: dict[str, Any], new: dict[str, Any], subresource: str
) -> dict[str, Any]:
    """What an update may not change: server metadata; status or everything but status."""
    if subresource == resources.STATUS:
        return {**old, "status": new.get("status")} if "status" in new else dict(old)
    metadata = dict(new["metadata"])
    for key in _SERVER_METADATA - {"resourceVersion"}:
        if key in old["metadata"]:
            metadata[key] = old["metadata"][key]
        else:
            metadata.pop(key, None)
    result = {**new, "metadata": metadata}
    if resources.STATUS in rtype.subresources:
        if "status" in old:
            result["status"] = old["status"]
        else:
            result.pop("status", None)
    if rtype.storage_key == "services" and isinstance(result.get("spec"), dict):
        # The apiserver keeps allocated addresses that an update leaves out.
        old_spec = old.get("spec") or {}
        spec = dict(result["spec"])
        for key in ("clusterIP", "clusterIPs"):
            if not spec.get(key) and old_spec.get(key):
                spec[key] = old_spec[key]
        result["spec"] = spec
    return result


def update_admitted(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    stored: storage.StoredObject,
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    options: WriteOptions,
    warnings: tuple[str, ...],
    subresource: str = "",
    applied: bool = False,
) -> Outcome:
    new = _carry_over(rtype, old, new, subresource)
    _validate(rtype, new, *validating.immutable(rtype, old, new))
    new = _defaults(cluster, rtype, new)
    if rtype.generation and _spec_changed(rtype, old, new):
        new["metadata"] = {
            **new["metadata"],
            "generation": old["metadata"].get("generation", 0) + 1,
        }
    if not applied:
        new = ownership.update(old=old, new=new, manager=options.manager, now=cluster.now(),
                               subresource=subresource)  # fmt: skip
    if _unchanged(old, new):
        return Outcome(200, stored.document(rtype), warnings)
    return _commit(cluster, rtype, new, before=old, options=options, warnings=warnings)


def patch(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    *,
    namespace: str,
    name: str,
    patch_type: PatchType,
    body: bytes,
    options: WriteOptions,
    subresource: str = "",
) -> Outcome:
    """PATCH with a merge, JSON or strategic merge patch (apply has its own function)."""
    if patch_type is PatchType.STRATEGIC and rtype.custom:
        raise statuses.unsupported_media_type(
            patch_type, accepted=[t for t in PatchType if t is not PatchType.STRATEGIC]
        )
    if options.force:
        raise statuses.bad_request("force is only allowed for apply patches")
    try:
        operations = decoding.decode_json(body, find_duplicates=False).value
    except decoding.DecodeError as error:
        raise statuses.bad_request(str(error)) from None
    stored = existing(cluster, rtype, namespace, name)
    old = stored.load(rtype)
    target = scaling.document(old) if subresource == resources.SCALE else old
    try:
        if patch_type is PatchType.JSON:
            patched = patching.json_patch(target, operations)
        elif patch_type is PatchType.STRATEGIC:
            patched = patching.strategic_merge_patch(
                target, operations, merge_key=merge_key(rtype.api_version)
            )
        else:
            patched = patching.merge_patch(target, operations)
    except patching.PatchError as error:
        raise statuses.ApiError(code=422, reason="Invalid", message=str(error)) from None
    if subresource == resources.SCALE:
        replicas = scaling.replicas(patched, name=name)
        check_version(rtype, name, scaling.resource_version(patched), old)
        return _rescale(cluster, rtype, stored, replicas, options)
    obj, warnings = admit(rtype, patched, namespace=namespace, name=name, options=options)
    check_version(rtype, name, obj["metadata"].get("resourceVersion"), old)
    return update_admitted(
        cluster, rtype, stored, old, obj, options=options, warnings=warnings,
        subresource=subresource,
    )  # fmt: skip


def _rescale(
    cluster: clusters.VirtualCluster,
    rtype: resources.ResourceType,
    stored: storage.StoredObject,
    replicas: int,
    options: WriteOptions,
) -> Outcome:
    old = stored.load(rtype)
    new = {**old, "spec": {**(old.get("spec") or {}), "replicas": replicas}}
    outcome = update_admitted(cluster, rtype, stored, old, new, options=options, warnings=(),
                      subresource=resources.SCALE)  # fmt: skip
    return Outcome(outcome.code, storage.dumps(scaling.document(outcome.json())))
