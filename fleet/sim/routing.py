"""Request paths of the Kubernetes API, parsed into what they address.

The apiserver's URL space is regular enough to parse by hand, and a parser with one
result type keeps the handlers free of string slicing:

    /api/v1/<plural>[/<name>[/<subresource>]]
    /api/v1/namespaces/<ns>/<plural>[/<name>[/<subresource>]]
    /apis/<group>/<version>/... the same shapes
    /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>   (discovery)
    /openapi/v3, /openapi/v3/<api/v1 | apis/<group>/<version>>, /version, /healthz ...

`/api/v1/namespaces/<name>/status` is the status of a namespace, not a collection
named "status" (the apiserver resolves the same ambiguity the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Addressed(StrEnum):
    VERSION = "version"
    HEALTH = "health"
    CORE_VERSIONS = "core versions"
    GROUPS = "groups"
    GROUP = "group"
    RESOURCES = "resources"
    OPENAPI_ROOT = "openapi root"
    OPENAPI_DOCUMENT = "openapi document"
    OBJECTS = "objects"
    UNKNOWN = "unknown"


_HEALTH = ("healthz", "livez", "readyz")
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True, slots=True)
class Target:
    """What a path addresses; for OBJECTS, a collection or one object (`name`)."""

    what: Addressed
    group: str = ""
    version: str = ""
    plural: str = ""
    namespace: str | None = None
    name: str = ""
    subresource: str = ""
    document: str = ""

    @property
    def is_collection(self) -> bool:
        return self.what is Addressed.OBJECTS and not self.name


UNKNOWN = Target(Addressed.UNKNOWN)


_FIXED = {
    ("version",): Target(Addressed.VERSION),
    ("openapi", "v3"): Target(Addressed.OPENAPI_ROOT),
    ("api",): Target(Addressed.CORE_VERSIONS),
    ("apis",): Target(Addressed.GROUPS),
}


def parse(path: str) -> Target:
    """The target of a path relative to the cluster's root (`/api/v1/...`)."""
    parts = tuple(p for p in path.split("/") if p)
    if parts in _FIXED:
        return _FIXED[parts]
    if parts[:1] and parts[0] in _HEALTH:
        return Target(Addressed.HEALTH)
    if parts[:2] == ("openapi", "v3"):
        return Target(Addressed.OPENAPI_DOCUMENT, document="/".join(parts[2:]))
    if parts[:1] == ("api",):
        return _objects("", parts[1], parts[2:])
    if parts[:1] == ("apis",):
        return _groups(parts[1:])
    return UNKNOWN


def _groups(parts: tuple[str, ...]) -> Target:
    if len(parts) == 1:
        return Target(Addressed.GROUP, group=parts[0])
    return _objects(parts[0], parts[1], parts[2:])


def _objects(group: str, version: str, rest: tuple[str, ...]) -> Target:
    if not rest:
        return Target(Addressed.RESOURCES, group=group, version=version)
    namespace: str | None = None
    if (
        rest[0] == "namespaces"
        and len(rest) >= 3
        and not (group == "" and len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES)
    ):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return UNKNOWN
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    return Target(
        Addressed.OBJECTS,
        group=group,
        version=version,
        plural=plural,
        namespace=namespace,
        name=name,
        subresource=subresource,
    )
