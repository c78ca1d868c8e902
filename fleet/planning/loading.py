"""Loading `fleet.yaml`: from its bytes to a `FleetSpec`, or to every problem in it.

The checks are written out by hand rather than delegated to a JSON Schema validator
because the messages are the product: each names the line and column, the key path
(``bundles[1].targets[0].clusterSelector``), what was expected, and for an unknown key or
value the closest known one. Checking goes on after a problem, so that one run reports
everything; only then are the problems raised together as one `SpecError`.
`fleet.schema.json` describes the same format for editors, and a test keeps the two in
step.

Beyond types, the loader checks what only makes sense across the file: names unique,
`dependsOn` naming bundles that exist and forming no cycle, policies' rules valid, and a
bundle path that stays inside the repository (relative, no ``..``), so that nothing
rendering receives can point outside it.
"""

from __future__ import annotations

import graphlib
import re
from typing import Any

from fleet.planning import checking, naming, parsing, substituting
from fleet.planning.parsing import Path
from fleet.planning.specs import (
    API_VERSION,
    KIND,
    Bundle,
    Drift,
    FleetSpec,
    Operator,
    Patch,
    PatchTarget,
    PatchType,
    Policy,
    Requirement,
    Selector,
    Target,
)
from fleet.structs import errors
from fleet.structs.objects import BundleName
from fleet.structs.problems import Location, Problem, did_you_mean

_REVISION = re.compile(r"[0-9a-f]{7,40}")
_JSON_PATCH_OPS = ("add", "remove", "replace", "move", "copy", "test")
_RULES = ("denyKinds", "requireLabels", "requireLimits", "forbidPrivileged", "forbidHostNamespaces")


def load(data: bytes, *, path: str = "fleet.yaml") -> FleetSpec:
    """The fleet spec in ``data`` (the bytes of ``path``), checked.

    Raises `errors.SpecError` with every problem found, each with its file, line and
    column. Nothing else is raised, whatever ``data`` holds.
    """
    parsed = parsing.parse(data, source=Location(path), record_all=True)
    if parsed.problems:
        raise errors.SpecError(parsed.problems, path=path)
    if len(parsed.documents) != 1:
        count = len(parsed.documents)
        where = parsed.documents[1].location if count > 1 else Location(path, 1, 1)
        message = f"expected one YAML document holding a {KIND}, found {count}"
        raise errors.SpecError([Problem(where, message)], path=path)
    checker = _FleetChecker(parsed.documents[0])
    spec = checker.fleet(path)
    if checker.problems or spec is None:
        raise errors.SpecError(sorted(checker.problems, key=Problem.sort_key), path=path)
    return spec


class _FleetChecker(checking.Checker):
    """The `fleet.yaml` format, key by key."""

    def fleet(self, path: str) -> FleetSpec | None:
        root = self.fields(
            (),
            self.document.value,
            required=("apiVersion", "kind", "bundles"),
            optional=("policies",),
        )
        if root is None:
            return None
        if "apiVersion" in root and self.text(("apiVersion",), root["apiVersion"]) not in (
            None,
            API_VERSION,
        ):
            self.fail(("apiVersion",), f"apiVersion must be {API_VERSION!r}")
        if "kind" in root and self.text(("kind",), root["kind"]) not in (None, KIND):
            self.fail(("kind",), f"kind must be {KIND!r}")
        bundles = {
            at: bundle
            for at, item in (
                self.items(("bundles",), root["bundles"], required=True)
                if "bundles" in root
                else []
            )
            if (bundle := self.bundle(at, item)) is not None
        }
        policies = {
            at: policy
            for at, item in self.items(("policies",), root.get("policies", []), required=False)
            if (policy := self.policy(at, item)) is not None
        }
        self.unique((((*at, "name"), bundle.name) for at, bundle in bundles.items()), "bundle")
        self.unique((((*at, "name"), policy.name) for at, policy in policies.items()), "policy")
        self.dependencies(root.get("bundles"))
        return FleetSpec(
            path=path, bundles=tuple(bundles.values()), policies=tuple(policies.values())
        )

    def bundle(self, path: Path, value: Any) -> Bundle | None:
        entry = self.fields(
            path,
            value,
            required=("name", "path", "targets"),
            optional=("namespace", "labels", "params", "dependsOn", "drift"),
        )
        if entry is None:
            return None
        name = self.name((*path, "name"), entry.get("name"))
        bundle_path = self.bundle_path((*path, "path"), entry.get("path"))
        target_entries = (
            self.items((*path, "targets"), entry["targets"], required=True)
            if "targets" in entry
            else []
        )
        targets = {at: target for at, item in target_entries if (target := self.target(at, item))}
        self.unique((((*at, "name"), target.name) for at, target in targets.items()), "target")
        namespace = (
            self.name((*path, "namespace"), entry["namespace"]) if "namespace" in entry else None
        )
        depends_on = [
            BundleName(item)
            for item in self.texts((*path, "dependsOn"), entry.get("dependsOn", []))
        ]
        drift = (
            self.choice((*path, "drift"), entry["drift"], Drift)
            if "drift" in entry
            else Drift.CORRECT
        )
        labels = self.labels((*path, "labels"), entry.get("labels", {}))
        params = self.params((*path, "params"), entry.get("params", {}))
        if (
            name is None
            or bundle_path is None
            or len(targets) != len(target_entries)
            or drift is None
        ):
            return None
        return Bundle(
            name=BundleName(name),
            path=bundle_path,
            location=self.document.where(path),
            targets=tuple(targets.values()),
            namespace=namespace,
            labels=labels,
            params=params,
            depends_on=tuple(depends_on),
            drift=drift,
        )

    def bundle_path(self, path: Path, value: Any) -> str | None:
        text = self.text(path, value)
        if text is None:
            return None
        parts = [part for part in text.split("/") if part not in ("", ".")]
        if text.startswith("/") or "\\" in text or "\0" in text or ":" in text.split("/")[0]:
            self.fail(
                path, f"bundle path {text!r} must be relative to the repository root, with '/'"
            )
        elif ".." in parts:
            self.fail(path, f"bundle path {text!r} must stay inside the repository (no '..')")
        elif not parts:
            self.fail(path, "bundle path must name a directory below the repository root")
        else:
            return "/".join(parts)
        return None

    def params(self, path: Path, value: Any) -> dict[str, str]:
        hint = " (parameters are strings: quote the value)"
        params = self.text_map(path, value, hint=hint)
        for key in params:
            self.checked((*path, key), key, naming.parameter_problem)
        return params

    def target(self, path: Path, value: Any) -> Target | None:
        entry = self.fields(
            path,
            value,
            required=("name", "clusterSelector"),
            optional=("params", "revision", "patches"),
        )
        if entry is None:
            return None
        name = self.name((*path, "name"), entry.get("name"))
        selector = self.selector((*path, "clusterSelector"), entry.get("clusterSelector"))
        revision = None
        if "revision" in entry:
            revision = self.text((*path, "revision"), entry["revision"], hint=" (quote it)")
            if revision is not None and not _REVISION.fullmatch(revision):
                at = (*path, "revision")
                self.fail(
                    at, f"{checking.describe(at)} must be a commit: 7 to 40 lower-case hex digits"
                )
                revision = None
        patch_entries = self.items((*path, "patches"), entry.get("patches", []), required=False)
        patches = [patch for item in patch_entries if (patch := self.patch(*item)) is not None]
        params = self.params((*path, "params"), entry.get("params", {}))
        if name is None or selector is None or len(patches) != len(patch_entries):
            return None
        return Target(
            name=name,
            cluster_selector=selector,
            location=self.document.where(path),
            params=params,
            revision=revision,
            patches=tuple(patches),
        )

    def selector(self, path: Path, value: Any) -> Selector | None:
        entry = self.fields(path, value, optional=("matchLabels", "matchExpressions"))
        if entry is None:
            return None
        requirements = [
            Requirement(key, Operator.IN, frozenset([label]))
            for key, label in self.labels(
                (*path, "matchLabels"), entry.get("matchLabels", {})
            ).items()
        ]
        expressions = self.items(
            (*path, "matchExpressions"), entry.get("matchExpressions", []), required=False
        )
        for at, item in expressions:
            requirement = self.requirement(at, item)
            if requirement is None:
                return None
            requirements.append(requirement)
        return Selector(tuple(requirements))

    def requirement(self, path: Path, value: Any) -> Requirement | None:
        entry = self.fields(path, value, required=("key", "operator"), optional=("values",))
        if entry is None:
            return None
        key = self.checked(
            (*path, "key"), self.text((*path, "key"), entry.get("key")), naming.label_key_problem
        )
        operator = self.choice((*path, "operator"), entry.get("operator"), Operator)
        values = self.texts((*path, "values"), entry.get("values", []))
        for index, label in enumerate(values):
            self.checked((*path, "values", index), label, naming.label_value_problem)
        if operator in (Operator.IN, Operator.NOT_IN) and not values:
            self.fail(path, f"operator {operator} needs at least one value")
        if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST) and values:
            self.fail((*path, "values"), f"operator {operator} takes no values")
        if key is None or operator is None:
            return None
        return Requirement(key, operator, frozenset(values))

    def patch(self, path: Path, value: Any) -> Patch | None:
        entry = self.fields(path, value, required=("target",), optional=tuple(PatchType))
        if entry is None:
            return None
        target = self.patch_target((*path, "target"), entry.get("target"))
        kinds = [kind for kind in PatchType if kind in entry]
        if len(kinds) != 1:
            self.fail(
                path, f"a patch needs exactly one of {PatchType.MERGE!r} and {PatchType.JSON!r}"
            )
            return None
        kind = kinds[0]
        body_path = (*path, kind.value)
        if kind is PatchType.MERGE and not isinstance(entry[kind], dict):
            self.wrong_type(body_path, entry[kind], "a mapping (the partial object)")
            return None
        if kind is PatchType.JSON and not self.json_patch(body_path, entry[kind]):
            return None
        if target is None:
            return None
        body = substituting.template(self.document, body_path)
        return Patch(target=target, type=kind, body=body, location=self.document.where(path))

    def patch_target(self, path: Path, value: Any) -> PatchTarget | None:
        entry = self.fields(path, value, required=("kind", "name"), optional=("group", "namespace"))
        if entry is None:
            return None
        found = {key: self.text((*path, key), item) for key, item in entry.items()}
        kind, name = found.get("kind"), found.get("name")
        if kind is None or name is None:
            return None
        return PatchTarget(
            kind=kind,
            name=name,
            group=found.get("group"),
            namespace=found.get("namespace"),
        )

    def json_patch(self, path: Path, value: Any) -> bool:
        """Whether ``value`` is a list of well-formed RFC 6902 operations."""
        before = len(self.problems)
        for at, item in self.items(path, value, required=True):
            operation = self.fields(at, item, required=("op", "path"), optional=("value", "from"))
            if operation is None:
                continue
            op = self.text((*at, "op"), operation.get("op"))
            if op is not None and op not in _JSON_PATCH_OPS:
                self.fail(
                    (*at, "op"), f"unknown operation {op!r}{did_you_mean(op, _JSON_PATCH_OPS)}"
                )
            for key in ("path", "from"):
                pointer = self.text((*at, key), operation[key]) if key in operation else ""
                if pointer and not pointer.startswith("/"):
                    self.fail(
                        (*at, key),
                        f"{checking.describe((*at, key))} must be a JSON pointer starting with '/'",
                    )
            if op in ("add", "replace", "test") and "value" not in operation:
                self.fail(at, f"operation {op!r} needs a 'value'")
            if op in ("move", "copy") and "from" not in operation:
                self.fail(at, f"operation {op!r} needs a 'from'")
        return len(self.problems) == before

    def policy(self, path: Path, value: Any) -> Policy | None:
        entry = self.fields(
            path, value, required=("name",), optional=("clusterSelector", "bundleSelector", *_RULES)
        )
        if entry is None:
            return None
        name = self.name((*path, "name"), entry.get("name"))
        if not any(rule in entry for rule in _RULES):
            self.fail(path, f"a policy needs at least one rule: {', '.join(_RULES)}")
        cluster_selector = self.selector(
            (*path, "clusterSelector"), entry.get("clusterSelector", {})
        )
        bundle_selector = self.selector((*path, "bundleSelector"), entry.get("bundleSelector", {}))
        deny_kinds = self.texts((*path, "denyKinds"), entry.get("denyKinds", []))
        for index, kind in enumerate(deny_kinds):
            if not kind or kind.startswith(".") or kind.endswith("."):
                self.fail(
                    (*path, "denyKinds", index), "a denied kind is written Kind or Kind.group"
                )
        require_labels = self.texts((*path, "requireLabels"), entry.get("requireLabels", []))
        for index, key in enumerate(require_labels):
            self.checked((*path, "requireLabels", index), key, naming.label_key_problem)
        flags = {rule: self.flag((*path, rule), entry.get(rule, False)) for rule in _RULES[2:]}
        if name is None or cluster_selector is None or bundle_selector is None:
            return None
        return Policy(
            name=name,
            location=self.document.where(path),
            cluster_selector=cluster_selector,
            bundle_selector=bundle_selector,
            deny_kinds=frozenset(deny_kinds),
            require_labels=tuple(require_labels),
            require_limits=flags["requireLimits"],
            forbid_privileged=flags["forbidPrivileged"],
            forbid_host_namespaces=flags["forbidHostNamespaces"],
        )

    def dependencies(self, entries: Any) -> None:
        """Every `dependsOn` names another bundle, and no chain of them comes back.

        This reads the entries as written, so that a bundle with another problem still
        has its `dependsOn` checked and still counts as a name that exists.
        """
        if not isinstance(entries, list):
            return
        named = {
            BundleName(entry["name"]): ("bundles", index)
            for index, entry in reversed(list(enumerate(entries)))
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        }
        graph: dict[BundleName, set[BundleName]] = {name: set() for name in named}
        for name, at in named.items():
            dependencies = entries[at[1]].get("dependsOn")
            for index, dependency in enumerate(
                dependencies if isinstance(dependencies, list) else []
            ):
                item = (*at, "dependsOn", index)
                if not isinstance(dependency, str):
                    continue
                if dependency == name:
                    self.fail(item, f"bundle {name!r} depends on itself")
                elif dependency not in graph:
                    hint = did_you_mean(dependency, named)
                    self.fail(
                        item, f"{checking.describe(item)} names no bundle: {dependency!r}{hint}"
                    )
                else:
                    graph[name].add(BundleName(dependency))
        for cycle in _cycles(graph):
            self.fail(
                (*named[cycle[0]], "dependsOn"),
                f"dependsOn cycle: {' -> '.join([*cycle, cycle[0]])}",
            )


def _cycles(graph: dict[BundleName, set[BundleName]]) -> list[list[BundleName]]:
    """Cycles in ``graph`` (bundle -> what it depends on), each reported once, then broken.

    `graphlib` finds them without recursion, so a long chain of bundles cannot exhaust
    the stack.
    """
    cycles: list[list[BundleName]] = []
    while True:
        try:
            tuple(graphlib.TopologicalSorter(graph).static_order())
        except graphlib.CycleError as error:
            # Each node of the reported cycle is depended on by the next one.
            found: list[BundleName] = error.args[1][:-1]
            graph[found[1 % len(found)]].discard(found[0])
            cycles.append(found[::-1])
        else:
            return cycles
