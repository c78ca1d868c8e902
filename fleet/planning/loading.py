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
    spec = checker.fleet()
    if checker.problems or spec is None:
        raise errors.SpecError(sorted(checker.problems, key=Problem.sort_key), path=path)
    return spec


class _FleetChecker(checking.Checker):
    """The `fleet.yaml` format, key by key.

    A problem makes a builder return None (or leave a part out), and checking goes on;
    since `load` raises when any problem was found, a partly built spec never escapes.
    """

    def fleet(self) -> FleetSpec | None:
        root = self.fields(
            (),
            self.document.value,
            required=("apiVersion", "kind", "bundles"),
            optional=("policies",),
        )
        if root is None:
            return None
        self.get(root, (), "apiVersion", lambda at, value: self.constant(at, value, API_VERSION))
        self.get(root, (), "kind", lambda at, value: self.constant(at, value, KIND))
        bundles = self.get(
            root, (), "bundles", lambda at, value: self.each(at, value, self.bundle, required=True)
        )
        policies = self.get(
            root, (), "policies", lambda at, value: self.each(at, value, self.policy)
        )
        self.unique(("bundles",), root.get("bundles"), "bundle")
        self.unique(("policies",), root.get("policies"), "policy")
        self.dependencies(root.get("bundles"))
        return FleetSpec(bundles=tuple(bundles or ()), policies=tuple(policies or ()))

    def constant(self, path: Path, value: Any, expected: str) -> None:
        if self.text(path, value) not in (None, expected):
            self.fail(path, f"{checking.describe(path)} must be {expected!r}")

    def bundle(self, path: Path, value: Any) -> Bundle | None:
        entry = self.fields(
            path,
            value,
            required=("name", "path", "targets"),
            optional=("namespace", "labels", "params", "dependsOn", "drift"),
        )
        if entry is None:
            return None
        name = self.get(entry, path, "name", self.name)
        bundle_path = self.get(entry, path, "path", self.bundle_path)
        targets = self.get(
            entry,
            path,
            "targets",
            lambda at, value: self.each(at, value, self.target, required=True),
        )
        self.unique((*path, "targets"), entry.get("targets"), "target")
        namespace = self.get(entry, path, "namespace", self.name)
        labels = self.get(entry, path, "labels", self.labels) or {}
        params = self.get(entry, path, "params", self.params) or {}
        depends_on = self.get(entry, path, "dependsOn", self.texts) or []
        drift = self.get(entry, path, "drift", lambda at, value: self.choice(at, value, Drift))
        if name is None or bundle_path is None or targets is None:
            return None
        return Bundle(
            name=BundleName(name),
            path=bundle_path,
            location=self.document.where(path),
            targets=tuple(targets),
            namespace=namespace,
            labels=labels,
            params=params,
            depends_on=tuple(BundleName(dependency) for dependency in depends_on),
            drift=drift or Drift.CORRECT,
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
        params = self.text_map(path, value, hint=" (parameters are strings: quote the value)")
        for key in params:
            self.checked((*path, key), key, naming.parameter_problem, at_key=True)
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
        name = self.get(entry, path, "name", self.name)
        selector = self.get(entry, path, "clusterSelector", self.selector)
        revision = self.get(entry, path, "revision", self.revision)
        patches = self.get(
            entry, path, "patches", lambda at, value: self.each(at, value, self.patch)
        )
        params = self.get(entry, path, "params", self.params) or {}
        if name is None or selector is None:
            return None
        return Target(
            name=name,
            cluster_selector=selector,
            location=self.document.where(path),
            params=params,
            revision=revision,
            patches=tuple(patches or ()),
        )

    def revision(self, path: Path, value: Any) -> str | None:
        revision = self.text(path, value, hint=" (quote it)")
        if revision is not None and not _REVISION.fullmatch(revision):
            self.fail(
                path, f"{checking.describe(path)} must be a commit: 7 to 40 lower-case hex digits"
            )
            return None
        return revision

    def selector(self, path: Path, value: Any) -> Selector | None:
        entry = self.fields(path, value, optional=("matchLabels", "matchExpressions"))
        if entry is None:
            return None
        labels = self.get(entry, path, "matchLabels", self.labels) or {}
        expressions = (
            self.get(
                entry,
                path,
                "matchExpressions",
                lambda at, value: self.each(at, value, self.requirement),
            )
            or []
        )
        matching = [
            Requirement(key, Operator.IN, frozenset([label])) for key, label in labels.items()
        ]
        return Selector((*matching, *expressions))

    def requirement(self, path: Path, value: Any) -> Requirement | None:
        entry = self.fields(path, value, required=("key", "operator"), optional=("values",))
        if entry is None:
            return None
        key = self.get(
            entry,
            path,
            "key",
            lambda at, value: self.checked(at, self.text(at, value), naming.label_key_problem),
        )
        operator = self.get(
            entry, path, "operator", lambda at, value: self.choice(at, value, Operator)
        )
        values = self.get(entry, path, "values", self.texts) or []
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
        entry = self.fields(
            path, value, required=("target",), optional=[kind.value for kind in PatchType]
        )
        if entry is None:
            return None
        target = self.get(entry, path, "target", self.patch_target)
        kinds = [kind for kind in PatchType if kind in entry]
        if len(kinds) != 1:
            choices = f"{PatchType.MERGE.value!r} and {PatchType.JSON.value!r}"
            self.fail(path, f"a patch needs exactly one of {choices}")
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
        kind, name, group, namespace = (
            self.get(entry, path, key, self.text) for key in ("kind", "name", "group", "namespace")
        )
        if kind is None or name is None:
            return None
        return PatchTarget(kind=kind, name=name, group=group, namespace=namespace)

    def json_patch(self, path: Path, value: Any) -> bool:
        """Whether ``value`` is a list of well-formed RFC 6902 operations."""
        before = len(self.problems)
        for at, item in self.items(path, value, required=True):
            operation = self.fields(at, item, required=("op", "path"), optional=("value", "from"))
            if operation is None:
                continue
            op = self.get(operation, at, "op", self.text)
            if op is not None and op not in _JSON_PATCH_OPS:
                self.fail(
                    (*at, "op"), f"unknown operation {op!r}{did_you_mean(op, _JSON_PATCH_OPS)}"
                )
            for key in ("path", "from"):
                self.get(operation, at, key, self.pointer)
            if op in ("add", "replace", "test") and "value" not in operation:
                self.fail(at, f"operation {op!r} needs a 'value'")
            if op in ("move", "copy") and "from" not in operation:
                self.fail(at, f"operation {op!r} needs a 'from'")
        return len(self.problems) == before

    def pointer(self, path: Path, value: Any) -> None:
        pointer = self.text(path, value)
        if pointer and not pointer.startswith("/"):
            self.fail(path, f"{checking.describe(path)} must be a JSON pointer starting with '/'")

    def policy(self, path: Path, value: Any) -> Policy | None:
        entry = self.fields(
            path, value, required=("name",), optional=("clusterSelector", "bundleSelector", *_RULES)
        )
        if entry is None:
            return None
        name = self.get(entry, path, "name", self.name)
        if not any(rule in entry for rule in _RULES):
            self.fail(path, f"a policy needs at least one rule: {', '.join(_RULES)}")
        cluster_selector = self.get(entry, path, "clusterSelector", self.selector)
        bundle_selector = self.get(entry, path, "bundleSelector", self.selector)
        deny_kinds = self.get(entry, path, "denyKinds", self.texts) or []
        for index, kind in enumerate(deny_kinds):
            if not kind or kind.startswith(".") or kind.endswith("."):
                self.fail(
                    (*path, "denyKinds", index), "a denied kind is written Kind or Kind.group"
                )
        require_labels = self.get(entry, path, "requireLabels", self.texts) or []
        for index, key in enumerate(require_labels):
            self.checked((*path, "requireLabels", index), key, naming.label_key_problem)
        flags = {rule: self.get(entry, path, rule, self.flag) or False for rule in _RULES[2:]}
        if name is None:
            return None
        return Policy(
            name=name,
            location=self.document.where(path),
            cluster_selector=cluster_selector or Selector(),
            bundle_selector=bundle_selector or Selector(),
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
