"""The OpenAPI v3 documents kubectl needs, and nothing more.

kubectl 1.32 validates with `--validate=strict` by default. Before a create, apply or
diff it fetches `/openapi/v3` and then the document of the object's group-version
(`/openapi/v3/apis/apps/v1?hash=...`), looks for the PATCH operation whose
`x-kubernetes-group-version-kind` is the object's kind, and checks that it declares
the `fieldValidation` query parameter. If it does, kubectl leaves validation to the
server and sends `fieldValidation=Strict`; if the documents are missing, it falls
back to `/openapi/v2` (protobuf) and client-side schema validation, and fails here.

So each group-version document lists, for every kind, its item path with a PATCH
operation, the GVK extension and the query parameters -- no schemas. kubectl's
`explain` needs schemas and does not work against the simulator. The root lists
`serverRelativeURL`s without the cluster's `/clusters/<name>` prefix, because
client-go resolves them against the configured server URL. Catalogs never change in
place, so the documents of a catalog are computed once and cached.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from fleet.sim import resources, storage

_PATCH_PARAMETERS = ["dryRun", "fieldManager", "fieldValidation", "force"]


def _path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.lru_cache(maxsize=256)
def group_version_document(catalog: resources.Catalog, path: str) -> bytes | None:
    """The document for `api/v1` or `apis/<group>/<version>`, or None if not served."""
    parts = path.split("/")
    if parts[:1] == ["api"] and len(parts) == 2:
        group, version = "", parts[1]
    elif parts[:1] == ["apis"] and len(parts) == 3:
        group, version = parts[1], parts[2]
    else:
        return None
    rows = catalog.in_group_version(group, version)
    if not rows:
        return None
    paths: dict[str, Any] = {}
    for row in rows:
        prefix = f"/{_path(row.group, row.version)}"
        scope = "/namespaces/{namespace}" if row.namespaced else ""
        gvk = {"group": row.group, "version": row.version, "kind": row.kind}
        parameters = [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in _PATCH_PARAMETERS
        ]
        paths[f"{prefix}{scope}/{row.plural}/{{name}}"] = {
            "patch": {
                "operationId": f"patch{row.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "parameters": parameters,
                "responses": {"200": {"description": "OK"}},
            }
        }
    document = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }
    return storage.dumps(document)


@functools.lru_cache(maxsize=64)
def root(catalog: resources.Catalog) -> bytes:
    """`/openapi/v3`: every served group-version, with a hash of its document."""
    paths = {}
    for group, versions in catalog.groups().items():
        for version in versions:
            path = _path(group, version)
            document = group_version_document(catalog, path) or b""
            digest = hashlib.sha512(document).hexdigest()[:64].upper()
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return storage.dumps({"paths": paths})
