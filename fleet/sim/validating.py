"""The validation a real apiserver does on every object, as far as fleet can trip over it.

A manifest with a bad name, a label value that is not a string, or a CRD whose name
does not match its plural and group is rejected by a real cluster with `422 Invalid`.
If the simulator accepted it, fleet's own checks would be tested against a server
more lenient than production. So object metadata is checked with the apiserver's
rules and wording (RFC 1123 names, qualified label keys, 63-character label values,
256 KiB of annotations), and CRDs get the checks that decide whether their kinds can
be served. Kind-specific schemas (a Deployment's selector, a container's ports) are
not validated; docs/simulator.md says so.

The functions return `Cause`s instead of raising, so one response lists every problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from fleet.sim import resources, statuses

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(f"^{_LABEL}$")
_DNS_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")

_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    r"regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*"
    r"[a-z0-9])?)*')"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_QUALIFIED_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?"
    "[A-Za-z0-9])?')"
)
MAX_ANNOTATIONS_BYTES = 256 * 1024


def _name_errors(name: str, *, longest: int, pattern: re.Pattern[str], rule: str) -> list[str]:
    errors = []
    if len(name) > longest:
        errors.append(f"must be no more than {longest} characters")
    if not pattern.match(name):
        errors.append(rule)
    return errors


def subdomain_errors(name: str) -> list[str]:
    return _name_errors(name, longest=253, pattern=_DNS_SUBDOMAIN, rule=_SUBDOMAIN_MESSAGE)


def dns_label_errors(name: str) -> list[str]:
    return _name_errors(name, longest=63, pattern=_DNS_LABEL, rule=_LABEL_MESSAGE)


def _dns1035_errors(name: str) -> list[str]:
    return _name_errors(name, longest=63, pattern=_DNS1035, rule=_DNS1035_MESSAGE)


def _path_segment_errors(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in name]


def label_key_errors(key: str) -> list[str]:
    prefix, slash, name = key.rpartition("/")
    errors = []
    if slash and not prefix:
        errors.append("prefix part must be non-empty")
    if prefix:
        errors.extend(f"prefix part {message}" for message in subdomain_errors(prefix))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    elif not _QUALIFIED.match(name):
        errors.append(_QUALIFIED_MESSAGE)
    return errors


def label_value_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if value and not _QUALIFIED.match(value):
        errors.append(_LABEL_VALUE_MESSAGE)
    return errors


_NAME_RULES = {
    resources.NAMESPACES.storage_key: dns_label_errors,
    "services": _dns1035_errors,
    f"roles.{resources.RBAC}": _path_segment_errors,
    f"rolebindings.{resources.RBAC}": _path_segment_errors,
    f"clusterroles.{resources.RBAC}": _path_segment_errors,
    f"clusterrolebindings.{resources.RBAC}": _path_segment_errors,
}


def _invalid(field: str, value: object, message: str) -> statuses.Cause:
    shown = json.dumps(value) if isinstance(value, str) else repr(value)
    return statuses.Cause("FieldValueInvalid", f"Invalid value: {shown}: {message}", field)


def _wrong_type(field: str, expected: str) -> statuses.Cause:
    return statuses.Cause("FieldValueTypeInvalid", f"Invalid value: must be {expected}", field)


def metadata(rtype: resources.ResourceType, obj: Mapping[str, Any]) -> list[statuses.Cause]:
    """Problems with `obj`'s name, namespace, labels, annotations and finalizers."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [_wrong_type("metadata", "an object")]
    causes: list[statuses.Cause] = []
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        causes.append(
            statuses.Cause(
                "FieldValueRequired",
                "Required value: name or generateName is required",
                "metadata.name",
            )
        )
    else:
        rule = _NAME_RULES.get(rtype.storage_key, subdomain_errors)
        causes.extend(_invalid("metadata.name", name, m) for m in rule(name))
    namespace = meta.get("namespace")
    if rtype.namespaced and isinstance(namespace, str) and namespace:
        causes.extend(
            _invalid("metadata.namespace", namespace, m) for m in dns_label_errors(namespace)
        )
    causes.extend(_labels(meta.get("labels")))
    causes.extend(_annotations(meta.get("annotations")))
    finalizers = meta.get("finalizers")
    if finalizers is not None and not (
        isinstance(finalizers, list) and all(isinstance(f, str) for f in finalizers)
    ):
        causes.append(_wrong_type("metadata.finalizers", "a list of strings"))
    return causes


def _labels(labels: object) -> list[statuses.Cause]:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [_wrong_type("metadata.labels", "a map of strings")]
    causes = []
    for key, value in labels.items():
        if not isinstance(value, str):
            causes.append(_wrong_type(f"metadata.labels.{key}", "a string"))
            continue
        causes.extend(_invalid("metadata.labels", key, m) for m in label_key_errors(key))
        causes.extend(_invalid("metadata.labels", value, m) for m in label_value_errors(value))
    return causes


def _annotations(annotations: object) -> list[statuses.Cause]:
    if annotations is None:
        return []
    if not isinstance(annotations, dict):
        return [_wrong_type("metadata.annotations", "a map of strings")]
    causes = []
    size = 0
    for key, value in annotations.items():
        if not isinstance(value, str):
            causes.append(_wrong_type(f"metadata.annotations.{key}", "a string"))
            continue
        size += len(key) + len(value)
        causes.extend(_invalid("metadata.annotations", key, m) for m in label_key_errors(key))
    if size > MAX_ANNOTATIONS_BYTES:
        causes.append(
            statuses.Cause(
                "FieldValueTooLong",
                f"Too long: may not be more than {MAX_ANNOTATIONS_BYTES} bytes",
                "metadata.annotations",
            )
        )
    return causes


def crd(obj: Mapping[str, Any]) -> list[statuses.Cause]:
    """The checks that must pass before a CustomResourceDefinition's kinds can be served."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [statuses.Cause("FieldValueRequired", "Required value", "spec")]
    causes = []
    group = spec.get("group")
    if not isinstance(group, str) or "." not in group or subdomain_errors(group):
        causes.append(_invalid("spec.group", group, "should be a domain with at least one dot"))
    names = spec.get("names")
    if not isinstance(names, dict):
        causes.append(statuses.Cause("FieldValueRequired", "Required value", "spec.names"))
        names = {}
    for key in ("plural", "kind"):
        if not isinstance(names.get(key), str) or not names.get(key):
            causes.append(
                statuses.Cause("FieldValueRequired", "Required value", f"spec.names.{key}")
            )
    for key in ("singular", "listKind"):
        if key in names and not isinstance(names[key], str):
            causes.append(_wrong_type(f"spec.names.{key}", "a string"))
    for key in ("shortNames", "categories"):
        value = names.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            causes.append(_wrong_type(f"spec.names.{key}", "a list of strings"))
    plural = names.get("plural")
    name = (obj.get("metadata") or {}).get("name")
    if isinstance(plural, str) and isinstance(group, str) and name != f"{plural}.{group}":
        causes.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            statuses.Cause(
                "FieldValueNotSupported",
                f"Unsupported value: {json.dumps(spec.get('scope'))}: supported values: "
                '"Cluster", "Namespaced"',
                "spec.scope",
            )
        )
    causes.extend(_crd_versions(spec.get("versions")))
    return causes


def _crd_versions(versions: object) -> list[statuses.Cause]:
    if not isinstance(versions, list) or not versions:
        return [statuses.Cause("FieldValueRequired", "Required value", "spec.versions")]
    causes = []
    storage = 0
    for index, version in enumerate(versions):
        where = f"spec.versions[{index}]"
        if not isinstance(version, dict):
            causes.append(_wrong_type(where, "an object"))
            continue
        name = version.get("name")
        if not isinstance(name, str) or dns_label_errors(name):
            causes.append(_invalid(f"{where}.name", name, _LABEL_MESSAGE))
        if not isinstance(version.get("served", True), bool):
            causes.append(_wrong_type(f"{where}.served", "a boolean"))
        if version.get("storage") is True:
            storage += 1
        subresources = version.get("subresources")
        if subresources is not None and not isinstance(subresources, dict):
            causes.append(_wrong_type(f"{where}.subresources", "an object"))
    if storage != 1:
        causes.append(
            _invalid(
                "spec.versions", storage, "must have exactly one version marked as storage version"
            )
        )
    return causes


_OBJECT_META = frozenset({
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
})  # fmt: skip
_TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata"})
_SPEC_STATUS = frozenset({"spec", "status"})
_FIELDS_BY_KIND = {
    "configmaps": frozenset({"data", "binaryData", "immutable"}),
    "secrets": frozenset({"data", "stringData", "type", "immutable"}),
    "serviceaccounts": frozenset({"secrets", "imagePullSecrets", "automountServiceAccountToken"}),
    f"roles.{resources.RBAC}": frozenset({"rules"}),
    f"clusterroles.{resources.RBAC}": frozenset({"rules", "aggregationRule"}),
    f"rolebindings.{resources.RBAC}": frozenset({"subjects", "roleRef"}),
    f"clusterrolebindings.{resources.RBAC}": frozenset({"subjects", "roleRef"}),
}


def unknown_fields(rtype: resources.ResourceType, obj: Mapping[str, Any]) -> list[str]:
    """Fields the kind's schema does not declare, at the top level and in metadata.

    Custom resources are not checked: the simulator does not read CRD schemas.
    """
    if rtype.custom:
        return []
    known = _TOP_LEVEL | _FIELDS_BY_KIND.get(rtype.storage_key, _SPEC_STATUS)
    unknown = [key for key in obj if key not in known]
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        unknown.extend(f"metadata.{key}" for key in metadata if key not in _OBJECT_META)
    return unknown


def _path(obj: Mapping[str, Any], dotted: str) -> Any:
    node: Any = obj
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


_IMMUTABLE = {
    "deployments.apps": ("spec.selector",),
    "statefulsets.apps": ("spec.selector", "spec.serviceName"),
    "daemonsets.apps": ("spec.selector",),
    "jobs.batch": ("spec.selector", "spec.template", "spec.completions"),
    "customresourcedefinitions.apiextensions.k8s.io": ("spec.group", "spec.scope"),
}


def immutable(
    rtype: resources.ResourceType, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[statuses.Cause]:
    """Changes to fields that cannot change after creation (a selector, a Job's template)."""
    causes = []
    for dotted in _IMMUTABLE.get(rtype.storage_key, ()):
        before, after = _path(old, dotted), _path(new, dotted)
        if before != after:
            causes.append(_invalid(dotted, after, "field is immutable"))
    if rtype.storage_key == "services":
        before, after = _path(old, "spec.clusterIP"), _path(new, "spec.clusterIP")
        if before and after and before != after:
            causes.append(_invalid("spec.clusterIP", after, "field is immutable"))
    if rtype.storage_key in ("configmaps", "secrets") and old.get("immutable") is True:
        for key in ("data", "binaryData", "immutable"):
            if old.get(key) != new.get(key):
                message = "field is immutable when `immutable` is set"
                causes.append(statuses.Cause("FieldValueForbidden", f"Forbidden: {message}", key))
    return causes


def _string_map(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _list(value: object) -> bool:
    return isinstance(value, list)


def _object(value: object) -> bool:
    return isinstance(value, dict)


def _bool(value: object) -> bool:
    return isinstance(value, bool)


def _string(value: object) -> bool:
    return isinstance(value, str)


_SHAPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "object": (_object, "an object"),
    "list": (_list, "a list"),
    "string map": (_string_map, "a map of strings"),
    "bool": (_bool, "a boolean"),
    "string": (_string, "a string"),
}
_FIELD_SHAPES = {
    "configmaps": {"data": "string map", "binaryData": "string map", "immutable": "bool"},
    "secrets": {"data": "string map", "stringData": "string map", "type": "string",
                "immutable": "bool"},
    "serviceaccounts": {"secrets": "list", "imagePullSecrets": "list",
                        "automountServiceAccountToken": "bool"},
    f"roles.{resources.RBAC}": {"rules": "list"},
    f"clusterroles.{resources.RBAC}": {"rules": "list", "aggregationRule": "object"},
    f"rolebindings.{resources.RBAC}": {"subjects": "list", "roleRef": "object"},
    f"clusterrolebindings.{resources.RBAC}": {"subjects": "list", "roleRef": "object"},
}  # fmt: skip


def decoding_errors(rtype: resources.ResourceType, obj: Mapping[str, Any]) -> list[str]:
    """Top-level fields of a built-in kind that have the wrong JSON type.

    The apiserver decodes a body into the kind's Go type, so `spec: 5` or a ConfigMap
    value that is a number fails before anything else, with 400. The simulator checks
    the types of the top-level fields (which every later step relies on), not deeper.
    """
    if rtype.custom:
        return []
    shapes = {"spec": "object", "status": "object", **_FIELD_SHAPES.get(rtype.storage_key, {})}
    errors = []
    for field, shape in shapes.items():
        check, expected = _SHAPES[shape]
        if field in obj and obj[field] is not None and not check(obj[field]):
            errors.append(f"{field} must be {expected}")
    return errors
