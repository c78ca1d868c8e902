"""Answering one Kubernetes API request for one virtual cluster, over aiohttp.

This is the thin HTTP edge of the simulator: it turns query parameters, headers and
the body into the arguments of `reading`, `writing` and `watching`, counts the
request by verb, and turns results into responses. Everything it raises is an
`ApiError`, which the server turns into a `Status` body; the verbs themselves know
nothing about HTTP, which is why tests can call them directly.

The field manager of a write is the `fieldManager` parameter or, as the apiserver
does, the user agent up to its first "/" (kubectl 1.32 sends `kubectl/v1.32.4 ...`,
so a `kubectl scale` is recorded as manager `kubectl`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from aiohttp import web

from fleet.sim import (
    applying,
    clusters,
    counting,
    decoding,
    deleting,
    discovery,
    openapi,
    protobuf,
    reading,
    resources,
    routing,
    scaling,
    selectors,
    statuses,
    storage,
    tables,
    watching,
    writing,
)
from fleet.sim.counting import Verb
from fleet.sim.routing import Addressed

JSON = "application/json"
YAML = "application/yaml"
WRITE_TIMEOUT = 30.0
"""Seconds a watch event may take to reach a client before the watch is cut."""
BODY_TIMEOUT = 60.0
"""Seconds a client has to send a request body."""
_TRUE = ("true", "1")


def json_response(
    body: bytes, *, status: int = 200, warnings: tuple[str, ...] = ()
) -> web.Response:
    response = web.Response(body=body, status=status, content_type=JSON)
    for warning in warnings:
        escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{escaped}"')
    return response


def error_response(error: statuses.ApiError) -> web.Response:
    response = json_response(storage.dumps(error.status()), status=error.code)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed `limit` bytes.

    A client gets BODY_TIMEOUT seconds to send it, as the apiserver's request timeout.
    """
    if request.content_length is not None and request.content_length > limit:
        raise statuses.too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            while chunk := await request.content.read(65536):
                size += len(chunk)
                if size > limit:
                    raise statuses.too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise statuses.timeout(
            f"request did not complete within {BODY_TIMEOUT:g}s", retry_after=0
        ) from None
    return b"".join(chunks)


def field_manager(request: web.Request) -> str:
    manager = request.query.get("fieldManager")
    if manager is None:
        manager = request.headers.get("User-Agent", "").split("/", 1)[0]
    if len(manager) > 128:
        raise statuses.bad_request("fieldManager: Too long: may not be more than 128 bytes")
    return manager


def _dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise statuses.bad_request(
                f'dryRun: Unsupported value: "{value}": supported values: "All"'
            )
    return bool(values)


def _write_options(request: web.Request, *, apply: bool = False) -> writing.WriteOptions:
    validation = request.query.get("fieldValidation", writing.Validation.WARN)
    if validation not in tuple(writing.Validation):
        raise statuses.bad_request(
            f'fieldValidation: Unsupported value: "{validation}": supported values: '
            '"Ignore", "Strict", "Warn"'
        )
    force = request.query.get("force", "false").lower() in _TRUE
    manager = field_manager(request)
    if apply:
        manager = request.query.get("fieldManager", "")
    return writing.WriteOptions(
        manager=manager,
        dry_run=_dry_run(request),
        force=force,
        validation=writing.Validation(validation),
    )


def _list_query(request: web.Request, namespace: str | None) -> reading.ListQuery:
    query = request.query
    limit_text = query.get("limit", "0") or "0"
    try:
        limit = int(limit_text)
    except ValueError:
        raise statuses.bad_request(f"invalid limit: {limit_text!r}") from None
    return reading.ListQuery(
        namespace=namespace,
        labels=selectors.parse_labels(query.get("labelSelector")),
        fields=selectors.parse_fields(query.get("fieldSelector")),
        limit=max(limit, 0),
        continue_token=query.get("continue", ""),
        resource_version=query.get("resourceVersion", ""),
        resource_version_match=query.get("resourceVersionMatch", ""),
    )


async def _discovery(cluster: clusters.VirtualCluster, target: routing.Target) -> web.Response:
    cluster.counters.count(Verb.DISCOVERY)
    catalog = cluster.catalog
    document: Any
    match target.what:
        case Addressed.VERSION:
            document = discovery.KUBERNETES_VERSION
        case Addressed.CORE_VERSIONS:
            document = discovery.core_versions()
        case Addressed.GROUPS:
            document = discovery.group_list(catalog)
        case Addressed.GROUP:
            document = discovery.group(catalog, target.group)
        case Addressed.RESOURCES:
            document = discovery.resource_list(catalog, target.group, target.version)
        case Addressed.OPENAPI_ROOT:
            return json_response(openapi.root(catalog))
        case Addressed.OPENAPI_DOCUMENT:
            body = openapi.group_version_document(catalog, target.document)
            if body is None:
                raise statuses.path_not_found()
            return json_response(body)
        case _:
            raise statuses.path_not_found()
    if document is None:
        raise statuses.path_not_found()
    return json_response(storage.dumps(document))


def _resource(cluster: clusters.VirtualCluster, target: routing.Target) -> resources.ResourceType:
    rtype = cluster.catalog.resource(target.group, target.version, target.plural)
    if rtype is None:
        raise statuses.path_not_found()
    if target.namespace is not None and not rtype.namespaced:
        raise statuses.path_not_found()
    if rtype.namespaced and target.namespace is None and target.name:
        raise statuses.path_not_found()
    if target.subresource and target.subresource not in rtype.subresources:
        raise statuses.path_not_found()
    return rtype


async def handle(
    cluster: clusters.VirtualCluster, request: web.Request, target: routing.Target
) -> web.StreamResponse:
    """Answer one authenticated request addressed to `cluster`."""
    if target.what is Addressed.HEALTH:
        return web.Response(text="ok")
    if target.what is not Addressed.OBJECTS:
        if request.method != "GET":
            raise statuses.method_not_allowed(method=request.method, what=request.path)
        return await _discovery(cluster, target)
    rtype = _resource(cluster, target)
    if request.method == "GET":
        return await _read(cluster, request, rtype, target)
    outcome = await _write(cluster, request, rtype, target)
    return json_response(outcome.body, status=outcome.code, warnings=outcome.warnings)


async def _read(
    cluster: clusters.VirtualCluster,
    request: web.Request,
    rtype: resources.ResourceType,
    target: routing.Target,
) -> web.StreamResponse:
    printer = _printer(cluster, request, rtype) if target.subresource != resources.SCALE else None
    if target.is_collection:
        if request.query.get("watch", "").lower() in _TRUE:
            cluster.counters.count(Verb.WATCH)
            return await _watch(cluster, request, rtype, target.namespace, printer)
        cluster.counters.count(Verb.LIST)
        query = _list_query(request, target.namespace)
        if printer is None:
            return json_response(reading.list_objects(cluster, rtype, query))
        found = reading.page(cluster, rtype, query)
        return json_response(printer([o.load(rtype) for o in found.objects], found.metadata))
    cluster.counters.count(Verb.GET)
    stored = reading.get(cluster, rtype, namespace=target.namespace or "", name=target.name)
    if target.subresource == resources.SCALE:
        return json_response(storage.dumps(scaling.document(stored.load(rtype))))
    if printer is not None:
        return json_response(printer([stored.load(rtype)], {}))
    return json_response(stored.document(rtype))


Printer = Callable[[list[dict[str, Any]], dict[str, object]], bytes]
"""Objects and list metadata to a JSON Table."""


def _printer(
    cluster: clusters.VirtualCluster, request: web.Request, rtype: resources.ResourceType
) -> Printer | None:
    """How to answer as a Table, when the client asked for one (kubectl get)."""
    if not tables.wants_table(request.headers.get("Accept", "")):
        return None
    crd = None
    if rtype.custom:
        stored = cluster.store.get(resources.CRDS.storage_key, "", rtype.storage_key)
        crd = stored.load(resources.CRDS) if stored is not None else None
    columns = tables.columns_for(rtype, crd)
    headers = True

    def print_table(objects: list[dict[str, Any]], metadata: dict[str, object]) -> bytes:
        nonlocal headers
        printed = tables.table(
            columns, objects, now=cluster.clock(), metadata=metadata, headers=headers
        )
        headers = False  # a watch sends the column definitions with its first event only
        return storage.dumps(printed)

    return print_table


async def _write(
    cluster: clusters.VirtualCluster,
    request: web.Request,
    rtype: resources.ResourceType,
    target: routing.Target,
) -> writing.Outcome:
    namespace = target.namespace or ""
    method = request.method
    limit = cluster.settings.max_body_bytes
    if method == "POST" and target.is_collection and not target.subresource:
        if rtype.namespaced and target.namespace is None:
            raise statuses.method_not_allowed(method=method, what=request.path)
        content_type = _body_type(request)
        body = await read_body(request, limit)
        options = _write_options(request)
        _count(cluster, Verb.CREATE, options.dry_run)
        decoded = _decode(body, content_type)
        outcome = writing.create(cluster, rtype, namespace=namespace, body=decoded.value,
                                 options=options, duplicates=decoded.duplicates)  # fmt: skip
    elif method == "PUT" and not target.is_collection:
        content_type = _body_type(request)
        body = await read_body(request, limit)
        options = _write_options(request)
        _count(cluster, Verb.UPDATE, options.dry_run)
        decoded = _decode(body, content_type)
        outcome = writing.replace(
            cluster, rtype, namespace=namespace, name=target.name, body=decoded.value,
            options=options, subresource=target.subresource, duplicates=decoded.duplicates,
        )  # fmt: skip
    elif method == "PATCH" and not target.is_collection:
        outcome = await _patch(cluster, request, rtype, target, limit)
    elif method == "DELETE" and not target.is_collection and not target.subresource:
        body = await read_body(request, limit)
        delete_options = _delete_options(request, body)
        _count(cluster, Verb.DELETE, delete_options.dry_run)
        outcome = deleting.delete(cluster, rtype, namespace=namespace, name=target.name,
                                 options=delete_options)  # fmt: skip
    else:
        raise statuses.method_not_allowed(method=method, what=request.path)
    return outcome


def _count(cluster: clusters.VirtualCluster, verb: Verb, dry_run: bool) -> None:
    cluster.counters.count(counting.Verb.DRY_RUN if dry_run else verb)


def _decode(body: bytes, content_type: str = JSON) -> decoding.Decoded:
    try:
        if content_type == YAML:
            return decoding.Decoded(decoding.decode_yaml(body))
        if content_type == protobuf.MEDIA_TYPE:
            return decoding.Decoded(protobuf.decode(body))
        return decoding.decode_json(body)
    except decoding.DecodeError as error:
        raise statuses.bad_request(str(error)) from None
    except protobuf.ProtobufError as error:
        raise statuses.ApiError(
            code=415, reason="UnsupportedMediaType", message=str(error)
        ) from None


_BODY_TYPES = (JSON, YAML, protobuf.MEDIA_TYPE)


def _body_type(request: web.Request) -> str:
    """The media type of a create or update body: JSON, YAML, or protobuf of a few kinds."""
    content_type = request.headers.get("Content-Type", JSON).split(";")[0].strip() or JSON
    if content_type not in _BODY_TYPES:
        raise statuses.unsupported_media_type(content_type, accepted=_BODY_TYPES)
    return content_type


async def _patch(
    cluster: clusters.VirtualCluster,
    request: web.Request,
    rtype: resources.ResourceType,
    target: routing.Target,
    limit: int,
) -> writing.Outcome:
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
    try:
        patch_type = writing.PatchType(content_type)
    except ValueError:
        raise statuses.unsupported_media_type(
            content_type, accepted=tuple(writing.PatchType)
        ) from None
    body = await read_body(request, limit)
    namespace = target.namespace or ""
    if patch_type is writing.PatchType.APPLY:
        if target.subresource:
            raise statuses.method_not_allowed(method="APPLY", what=request.path)
        options = _write_options(request, apply=True)
        _count(cluster, Verb.APPLY, options.dry_run)
        return applying.apply(cluster, rtype, namespace=namespace, name=target.name, body=body,
                             options=options)  # fmt: skip
    options = _write_options(request)
    _count(cluster, Verb.PATCH, options.dry_run)
    return writing.patch(
        cluster, rtype, namespace=namespace, name=target.name, patch_type=patch_type,
        body=body, options=options, subresource=target.subresource,
    )  # fmt: skip


def _delete_options(request: web.Request, body: bytes) -> deleting.DeleteOptions:
    dry_run = _dry_run(request)
    uid = resource_version = None
    if body.strip():
        options = _decode(body).value
        if not isinstance(options, dict):
            raise statuses.bad_request("the body of a delete must be DeleteOptions")
        if options.get("dryRun"):
            if options["dryRun"] != ["All"]:
                raise statuses.bad_request('dryRun: Unsupported value: supported values: "All"')
            dry_run = True
        preconditions = options.get("preconditions") or {}
        if isinstance(preconditions, dict):
            uid = preconditions.get("uid")
            resource_version = preconditions.get("resourceVersion")
    return deleting.DeleteOptions(dry_run=dry_run, uid=uid, resource_version=resource_version)


def _rendering(
    printer: Printer, rtype: resources.ResourceType
) -> Callable[[storage.StoredObject], bytes]:
    """Watch events as one-row Tables."""

    def render(obj: storage.StoredObject) -> bytes:
        return printer([obj.load(rtype)], {"resourceVersion": str(obj.resource_version)})

    return render


async def _watch(
    cluster: clusters.VirtualCluster,
    request: web.Request,
    rtype: resources.ResourceType,
    namespace: str | None,
    printer: Printer | None,
) -> web.StreamResponse:
    query = request.query
    timeout_text = query.get("timeoutSeconds", "")
    try:
        timeout = float(timeout_text or 0)
    except ValueError:
        raise statuses.bad_request(f"invalid timeoutSeconds: {timeout_text!r}") from None
    if timeout <= 0:  # as with the apiserver, 0 (or nothing) means its own default
        timeout = watching.default_timeout(cluster.random)
    bookmarks = query.get("allowWatchBookmarks", "").lower() in _TRUE
    store = cluster.store
    response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
    try:
        watch = watching.open_watch(
            store, rtype, namespace=namespace,
            labels=selectors.parse_labels(query.get("labelSelector")),
            fields=selectors.parse_fields(query.get("fieldSelector")),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
            send_initial_events=query.get("sendInitialEvents", "").lower() in _TRUE,
            bookmarks=bookmarks, queue_limit=cluster.settings.watch_queue_limit,
            render=None if printer is None else _rendering(printer, rtype),
        )  # fmt: skip
    except storage.TooOld as error:
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            async with asyncio.timeout(WRITE_TIMEOUT):
                await response.write(watching.error_line(statuses.expired(str(error))))
                await response.write_eof()
        return response
    try:
        await response.prepare(request)

        async def write(line: bytes) -> None:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await response.write(line)

        ending = await watching.stream(
            watch, write=write, current_version=lambda: store.resource_version,
            lifetime=timeout, bookmarks=bookmarks,
            bookmark_interval=cluster.settings.bookmark_interval,
            drop_after=cluster.faults.drop_watches_after,
        )  # fmt: skip
    except (TimeoutError, ConnectionResetError):
        ending = watching.Ending.DROPPED
    finally:
        store.unsubscribe(rtype.storage_key, watch)
    if ending in (watching.Ending.DROPPED, watching.Ending.CLOSED) and request.transport:
        request.transport.abort()
        return response
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        async with asyncio.timeout(WRITE_TIMEOUT):
            await response.write_eof()
    return response
