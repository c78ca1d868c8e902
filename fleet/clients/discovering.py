"""Discovery for one cluster: where each kind is served, and its scope, fetched lazily.

fleet needs discovery for the handful of kinds its bundles contain, not for the forty
group-versions a cluster serves, so it asks for one group-version document at a time
(``/api/v1``, ``/apis/<group>/<version>``: the legacy discovery every API server
serves) when a kind of it is first needed, and keeps the answer. An idle cluster
therefore costs no discovery request at all.

A kind missing from a cached document refreshes that document once before the answer
is "not served": a CRD applied earlier in the same sync must be usable at once. Callers
asking for the same group-version at the same time share one request. Every refresh
that changes a document bumps `generation` and wakes `changed()`, which is how an
informer waiting for a custom kind learns that its CRD has arrived.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Mapping

from fleet.clients.metering import Verb
from fleet.clients.requesting import ApiSession, Call
from fleet.structs import errors
from fleet.structs.kube import Resource
from fleet.structs.objects import GroupVersionKind, ObjectKey

GroupVersion = tuple[str, str]


def document_path(group: str, version: str) -> str:
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


def collection_path(resource: Resource) -> str:
    """Where every object of a kind is listed and watched: across all namespaces."""
    gvk = resource.gvk
    return f"{document_path(gvk.group, gvk.version)}/{resource.plural}"


def object_path(resource: Resource, key: ObjectKey, *, cluster: str) -> str:
    """Where one object is applied and deleted; `ApiError` 400 if a namespace is missing."""
    gvk = resource.gvk
    base = document_path(gvk.group, gvk.version)
    if resource.namespaced:
        if not key.namespace:
            raise errors.ApiError(
                f"{key}: {gvk.kind} is namespaced, and the object names no namespace",
                cluster=cluster, code=400, reason="BadRequest",
            )  # fmt: skip
        base += f"/namespaces/{urllib.parse.quote(key.namespace, safe='')}"
    return f"{base}/{resource.plural}/{urllib.parse.quote(key.name, safe='')}"


class Discovery:
    """The discovery documents of one cluster that fleet has needed so far."""

    def __init__(self, session: ApiSession) -> None:
        self._session = session
        self._documents: dict[GroupVersion, Mapping[str, Resource]] = {}
        self._fetches: dict[GroupVersion, int] = {}
        self._locks: dict[GroupVersion, asyncio.Lock] = {}
        self.generation = 0
        self._changed = asyncio.Event()

    def cached(self, gvk: GroupVersionKind) -> Resource | None:
        """What is known about ``gvk`` without asking the server."""
        return self._documents.get((gvk.group, gvk.version), {}).get(gvk.kind)

    async def lookup(self, gvk: GroupVersionKind) -> Resource | None:
        """``gvk``'s resource, or None if the server does not serve it (after one refresh)."""
        found = self.cached(gvk)
        if found is None:
            await self.refresh(gvk.group, gvk.version)
            found = self.cached(gvk)
        return found

    async def resource(self, gvk: GroupVersionKind) -> Resource:
        """``gvk``'s resource; `ApiError` 404 if the server does not serve it."""
        found = await self.lookup(gvk)
        if found is None:
            raise errors.ApiError(
                f"the server does not serve {gvk} (is its CustomResourceDefinition installed?)",
                cluster=self._session.cluster,
                code=404,
                reason="NotFound",
            )
        return found

    async def refresh(self, group: str, version: str) -> None:
        """Fetch one group-version document again (shared with concurrent callers)."""
        key = (group, version)
        seen = self._fetches.get(key, 0)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if self._fetches.get(key, 0) != seen:
                return  # someone fetched it while this caller waited: that answer is newer
            document = await self._fetch(group, version)
            self._fetches[key] = seen + 1
        if document != self._documents.get(key):
            self._documents[key] = document
            self.generation += 1
            self._changed.set()
            self._changed = asyncio.Event()

    async def changed(self, since: int) -> None:
        """Return once `generation` has moved past ``since``."""
        while self.generation <= since:
            await self._changed.wait()

    async def _fetch(self, group: str, version: str) -> Mapping[str, Resource]:
        path = document_path(group, version)
        call = Call(Verb.DISCOVERY, "GET", path, what=f"discovery of {path}", safe=True)
        try:
            document = await self._session.call(call)
        except errors.ApiError as error:
            if error.code == 404:
                return {}  # the group-version is not served (yet)
            raise
        found = {}
        for item in document.get("resources") or []:
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str) or "/" in name:
                continue  # subresources (deployments/status) are not kinds of their own
            gvk = GroupVersionKind(group, version, str(item.get("kind")))
            found[gvk.kind] = Resource(
                gvk=gvk, plural=name, namespaced=bool(item.get("namespaced"))
            )
        return found

    def __repr__(self) -> str:
        known = ", ".join(f"{g or 'core'}/{v}" for g, v in sorted(self._documents))
        return f"Discovery({self._session.cluster}: {known or 'nothing yet'})"
