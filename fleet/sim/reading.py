"""Get and list, with selectors, resourceVersion semantics and `limit`/`continue` paging.

Lists follow the apiserver's contract, which informers depend on:
- the list's `metadata.resourceVersion` is the cluster's current one, so a watch from
  it misses nothing;
- `resourceVersion` unset or `"0"` lists the current state; `N` with
  `resourceVersionMatch=NotOlderThan` (or no match and no limit) also lists the
  current state, and an `N` the cluster has not reached yet is a 504 `Timeout`;
  `Exact` (or a limit with an `N`) lists the collection as it was at `N`, or 410;
- a page ends with a `continue` token holding the list's resourceVersion and the
  last key; the next page is read from the same snapshot, so pages are consistent
  while writes go on. A token older than the event window is 410 `Expired`.
Items of built-in kinds carry no kind and apiVersion, as a real list's do; items of
custom resources carry them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from fleet.sim import clusters, resources, selectors, statuses, storage

_CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted "
    "between the time the first chunk was returned and now may show up in the list."
)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The query parameters of a list request."""

    namespace: str | None = None
    labels: selectors.LabelSelector = selectors.EVERYTHING
    fields: selectors.FieldSelector = selectors.NO_FIELDS
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


def get(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, *, namespace: str, name: str
) -> storage.StoredObject:
    stored = cluster.store.get(rtype.storage_key, namespace, name)
    if stored is None:
        raise statuses.not_found(resource=rtype.plural, group=rtype.group, name=name)
    return stored


def parse_version(text: str, *, what: str = "resourceVersion") -> int:
    try:
        value = int(text)
    except ValueError:
        raise statuses.bad_request(f"invalid {what}: {text!r}") from None
    if value < 0:
        raise statuses.bad_request(f"invalid {what}: {text!r}")
    return value


def encode_continue(resource_version: int, namespace: str, name: str) -> str:
    token = {"v": "meta.k8s.io/v1", "rv": resource_version, "start": f"{namespace}/{name}\x00"}
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, tuple[str, str]]:
    """The snapshot resourceVersion and the key after which the next page starts."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
        version = decoded["rv"]
        namespace, _, name = decoded["start"].rstrip("\x00").partition("/")
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise statuses.bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion "
            "(version meta.k8s.io/v1)"
        ) from None
    if not isinstance(version, int) or version < 0:
        raise statuses.bad_request("continue key is not valid: invalid resource version")
    return version, (namespace, name)


def _snapshot(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, query: ListQuery
) -> tuple[int, list[storage.StoredObject], tuple[str, str] | None]:
    store = cluster.store
    if query.continue_token:
        if query.resource_version not in ("", "0"):
            raise statuses.bad_request(
                "specifying resource version is not allowed when using continue"
            )
        version, after = decode_continue(query.continue_token)
        if version < store.oldest_resumable:
            raise statuses.expired(_CONTINUE_EXPIRED)
        return version, store.snapshot(rtype.storage_key, query.namespace, version), after
    if query.resource_version in ("", "0"):
        return store.resource_version, store.objects(rtype.storage_key, query.namespace), None
    version = parse_version(query.resource_version)
    if version > store.resource_version:
        raise statuses.timeout(
            f"Too large resource version: {version}, current: {store.resource_version}"
        )
    exact = query.resource_version_match == "Exact" or (
        not query.resource_version_match and query.limit > 0
    )
    if not exact:
        return store.resource_version, store.objects(rtype.storage_key, query.namespace), None
    if version < store.oldest_resumable:
        raise statuses.expired(f"too old resource version: {version} ({store.oldest_resumable})")
    return version, store.snapshot(rtype.storage_key, query.namespace, version), None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its objects and the list's metadata (version, continue)."""

    objects: list[storage.StoredObject]
    metadata: dict[str, object]


def list_objects(
    cluster: clusters.VirtualCluster, rtype: resources.ResourceType, query: ListQuery
) -> bytes:
    """The list document (JSON) for one page of a collection."""
    found = page(cluster, rtype, query)
    # Items of built-in kinds carry no kind and apiVersion; custom resources' items do.
    if rtype.custom:
        items = [o.document(rtype) for o in found.objects]
    else:
        items = [o.body for o in found.objects]
    head = (
        f'{{"kind":"{rtype.list_kind}","apiVersion":"{rtype.api_version}","metadata":'.encode()
        + storage.dumps(found.metadata)
    )
    return head + b',"items":[' + b",".join(items) + b"]}"


def page(cluster: clusters.VirtualCluster, rtype: resources.ResourceType, query: ListQuery) -> Page:
    """The objects of one page of a collection, and the list metadata to send with them."""
    if query.resource_version_match not in ("", "Exact", "NotOlderThan"):
        raise statuses.bad_request(
            f"resourceVersionMatch: Unsupported value: {query.resource_version_match!r}"
        )
    if query.resource_version_match and not query.resource_version:
        raise statuses.bad_request(
            "resourceVersionMatch is forbidden unless resourceVersion is provided"
        )
    version, objects, after = _snapshot(cluster, rtype, query)
    chosen = [
        o
        for o in objects
        if (after is None or (o.namespace, o.name) > after)
        and query.fields.matches(o.namespace, o.name)
        and query.labels.matches(o.labels)
    ]
    metadata: dict[str, object] = {"resourceVersion": str(version)}
    if query.limit and len(chosen) > query.limit:
        last = chosen[query.limit - 1]
        remaining = len(chosen) - query.limit
        chosen = chosen[: query.limit]
        metadata["continue"] = encode_continue(version, last.namespace, last.name)
        if query.labels is selectors.EVERYTHING and query.fields is selectors.NO_FIELDS:
            metadata["remainingItemCount"] = remaining
    return Page(chosen, metadata)
