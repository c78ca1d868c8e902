"""Server-side defaults of the built-in kinds, as a real apiserver fills them in.

What comes back from a real cluster is never exactly what was sent: a Deployment gains
`strategy`, `revisionHistoryLimit` and a dozen pod-template fields, a Service gains a
`clusterIP`, a Secret's `stringData` becomes base64 `data`, quantities are normalised.
A GitOps controller that compares desired with live objects must cope with all of
that without seeing drift, so the simulator reproduces the defaults that matter (not
every one the apiserver has; docs/simulator.md lists the gaps). Defaulted fields are
owned by no field manager, as in Kubernetes.

Functions never change their input: they return new dicts along the paths they fill
in and share everything else, because the object they receive may share subtrees with
the stored object it will be compared with.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

from fleet.sim import quantities, resources

Obj = dict[str, Any]


def _fill(mapping: Any, defaults: Mapping[str, Any]) -> Obj:
    base = mapping if isinstance(mapping, dict) else {}
    missing = {k: v for k, v in defaults.items() if k not in base}
    return {**base, **missing} if missing else base


def _resources(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    result = dict(value)
    for part in ("requests", "limits"):
        amounts = value.get(part)
        if isinstance(amounts, dict):
            result[part] = {name: quantities.canonical(v) for name, v in amounts.items()}
    return result


def _pull_policy(image: Any) -> str:
    if not isinstance(image, str) or "@" in image:
        return "IfNotPresent"
    name = image.rsplit("/", 1)[-1]
    tag = name.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _container(container: Any) -> Any:
    if not isinstance(container, dict):
        return container
    result = _fill(
        container,
        {
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": _pull_policy(container.get("image")),
        },
    )
    result = {**result, "resources": _resources(result.get("resources", {}))}
    ports = result.get("ports")
    if isinstance(ports, list):
        result["ports"] = [
            _fill(p, {"protocol": "TCP"}) if isinstance(p, dict) else p for p in ports
        ]
    return result


def _pod_spec(spec: Any, *, restart_policy: str | None) -> Any:
    if not isinstance(spec, dict):
        return spec
    defaults: dict[str, Any] = {
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "securityContext": {},
        "schedulerName": "default-scheduler",
    }
    if restart_policy:
        defaults["restartPolicy"] = restart_policy
    result = _fill(spec, defaults)
    for name in ("containers", "initContainers"):
        if isinstance(result.get(name), list):
            result = {**result, name: [_container(c) for c in result[name]]}
    return result


def _template(spec: Obj, *, restart_policy: str | None = "Always") -> Obj:
    template = spec.get("template")
    if not isinstance(template, dict):
        return spec
    pod_spec = _pod_spec(template.get("spec"), restart_policy=restart_policy)
    return {**spec, "template": {**template, "spec": pod_spec}}


def _spec(obj: Obj, change: Callable[[Obj], Obj]) -> Obj:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    return {**obj, "spec": change(spec)}


def _deployment(spec: Obj) -> Obj:
    spec = _fill(spec, {"replicas": 1, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600})
    strategy = _fill(spec.get("strategy"), {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        rolling = _fill(strategy.get("rollingUpdate"), {"maxUnavailable": "25%", "maxSurge": "25%"})
        strategy = {**strategy, "rollingUpdate": rolling}
    return _template({**spec, "strategy": strategy})


def _statefulset(spec: Obj) -> Obj:
    spec = _fill(
        spec,
        {
            "replicas": 1,
            "podManagementPolicy": "OrderedReady",
            "revisionHistoryLimit": 10,
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
        },
    )
    strategy = _fill(spec.get("updateStrategy"), {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        strategy = {
            **strategy,
            "rollingUpdate": _fill(strategy.get("rollingUpdate"), {"partition": 0}),
        }
    return _template({**spec, "updateStrategy": strategy})


def _daemonset(spec: Obj) -> Obj:
    spec = _fill(spec, {"revisionHistoryLimit": 10})
    strategy = _fill(spec.get("updateStrategy"), {"type": "RollingUpdate"})
    if strategy.get("type") == "RollingUpdate":
        rolling = _fill(strategy.get("rollingUpdate"), {"maxUnavailable": 1, "maxSurge": 0})
        strategy = {**strategy, "rollingUpdate": rolling}
    return _template({**spec, "updateStrategy": strategy})


def _job(obj: Obj) -> Obj:
    uid = obj["metadata"].get("uid", "")
    name = obj["metadata"].get("name", "")

    def change(spec: Obj) -> Obj:
        spec = _fill(
            spec,
            {
                "parallelism": 1,
                "completions": 1,
                "backoffLimit": 6,
                "completionMode": "NonIndexed",
                "suspend": False,
                "podReplacementPolicy": "TerminatingOrFailed",
            },
        )
        # The job controller finds its pods by the job's uid, so the apiserver writes
        # a selector and template labels that the manifest never had.
        if not spec.get("manualSelector") and uid:
            spec = {
                **spec,
                "selector": _fill(
                    spec.get("selector"),
                    {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                ),
            }
            template = spec.get("template")
            if isinstance(template, dict):
                metadata = template.get("metadata")
                labels = metadata.get("labels") if isinstance(metadata, dict) else None
                labels = _fill(
                    labels,
                    {
                        "batch.kubernetes.io/controller-uid": uid,
                        "batch.kubernetes.io/job-name": name,
                        "controller-uid": uid,
                        "job-name": name,
                    },
                )
                metadata = _fill(metadata, {})
                spec = {
                    **spec,
                    "template": {**template, "metadata": {**metadata, "labels": labels}},
                }
        return _template(spec, restart_policy=None)

    return _spec(obj, change)


def _service(obj: Obj, allocate_ip: Callable[[], str]) -> Obj:
    def change(spec: Obj) -> Obj:
        spec = _fill(spec, {"type": "ClusterIP", "sessionAffinity": "None"})
        ports = spec.get("ports")
        if isinstance(ports, list):
            spec = {
                **spec,
                "ports": [
                    _fill(p, {"protocol": "TCP", "targetPort": p.get("port")})
                    if isinstance(p, dict)
                    else p
                    for p in ports
                ],
            }
        if spec["type"] == "ExternalName":
            return spec
        if not spec.get("clusterIP"):
            spec = {**spec, "clusterIP": allocate_ip()}
        return _fill(
            spec,
            {
                "clusterIPs": [spec["clusterIP"]],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            },
        )

    return _spec(obj, change)


def _secret(obj: Obj) -> Obj:
    result = _fill(obj, {"type": "Opaque"})
    string_data = result.get("stringData")
    if isinstance(string_data, dict):
        data = dict(result["data"]) if isinstance(result.get("data"), dict) else {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        result = {k: v for k, v in result.items() if k != "stringData"}
        result["data"] = data
    return result


def _namespace(obj: Obj) -> Obj:
    metadata = obj["metadata"]
    labels = _fill(metadata.get("labels"), {"kubernetes.io/metadata.name": metadata["name"]})
    return {
        **obj,
        "metadata": {**metadata, "labels": labels},
        "spec": _fill(obj.get("spec"), {"finalizers": ["kubernetes"]}),
    }


def _crd(obj: Obj) -> Obj:
    return _spec(obj, lambda spec: _fill(spec, {"conversion": {"strategy": "None"}}))


_BY_KIND: dict[str, Callable[[Obj], Obj]] = {
    "deployments.apps": lambda obj: _spec(obj, _deployment),
    "statefulsets.apps": lambda obj: _spec(obj, _statefulset),
    "daemonsets.apps": lambda obj: _spec(obj, _daemonset),
    "jobs.batch": _job,
    "secrets": _secret,
    "namespaces": _namespace,
    "customresourcedefinitions.apiextensions.k8s.io": _crd,
}


def apply(rtype: resources.ResourceType, obj: Obj, *, allocate_ip: Callable[[], str]) -> Obj:
    """`obj` with the apiserver's defaults for its kind filled in (a new dict if any).

    Raises `quantities.QuantityError` (a ValueError) for a malformed resource quantity.
    """
    if rtype.custom:
        return obj
    if rtype.storage_key == "services":
        return _service(obj, allocate_ip)
    fill = _BY_KIND.get(rtype.storage_key)
    return fill(obj) if fill is not None else obj
