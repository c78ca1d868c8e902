"""The inventory: which clusters fleet manages, how each is reached, and its labels.

Credentials never live in the fleet repository, so the inventory is a file of its own
(the format `fleet sim --out` writes), or one kubeconfig whose contexts are the clusters:

    clusters:
      - name: eu-1
        kubeconfig: eu-1.kubeconfig      # relative to this file
        context: admin@eu-1              # optional: the kubeconfig's current-context
        labels: {env: prod, region: eu-west}
      - name: local
        inCluster: true                  # the cluster fleet runs in

A fleet is many clusters, and one mistyped entry must not stop the others, so `load`
checks everything and returns the good clusters together with every problem, each
naming the file, the line and the cluster; only a file that cannot be read as an
inventory at all raises. Loading reads files, so callers run it in a thread.

Each cluster's access is reduced to a minimal kubeconfig (its context, cluster and
user) with a fingerprint, so that a reload can tell which clusters must reconnect, and
so that a change to one context of a shared kubeconfig reconnects only that cluster.
The kubeconfig holds credentials: it is never part of a repr, an error or a log line,
and YAML errors are reported by position only (PyYAML's own messages quote the line).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fleet.structs import errors
from fleet.structs.clusters import Cluster
from fleet.structs.objects import ClusterName
from fleet.structs.problems import Location, Problem, did_you_mean

ENTRY_KEYS = ("name", "kubeconfig", "context", "inCluster", "labels")
TOP_KEYS = ("clusters",)

_CLUSTER_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.:@/]{0,251}[A-Za-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_QUALIFIED_RULE = "at most 63 characters: alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"  # noqa: E501


@dataclass(frozen=True, slots=True)
class Access:
    """How one cluster is reached: a kubeconfig context, or the cluster fleet runs in.

    ``config`` is a kubeconfig with only this cluster's context, cluster and user, and
    ``base`` the directory its relative paths are relative to. It holds credentials, so
    it is left out of repr and comparison; ``fingerprint`` stands for it.
    """

    kubeconfig: Path | None
    context: str | None
    config: Mapping[str, Any] = field(repr=False, compare=False)
    base: Path | None = field(repr=False, compare=False)
    fingerprint: str = ""

    @property
    def in_cluster(self) -> bool:
        return self.kubeconfig is None

    @classmethod
    def inside(cls) -> Access:
        return cls(kubeconfig=None, context=None, config={}, base=None, fingerprint="in-cluster")

    def __str__(self) -> str:
        if self.kubeconfig is None:
            return "in-cluster"
        return f"{self.kubeconfig} context {self.context}"


@dataclass(frozen=True, slots=True)
class ClusterEntry:
    """One usable cluster of the inventory: name and labels, and how to reach it."""

    cluster: Cluster
    access: Access

    @property
    def name(self) -> ClusterName:
        return self.cluster.name


@dataclass(frozen=True, slots=True)
class Inventory:
    """What one load found: the usable clusters, every problem, and the files it read.

    ``refused`` names the clusters that were listed but have problems; a reload leaves
    such a cluster as it was rather than dropping it over a typo.
    """

    path: Path
    entries: tuple[ClusterEntry, ...]
    problems: tuple[Problem, ...]
    files: tuple[Path, ...]
    refused: frozenset[ClusterName] = frozenset()

    def __repr__(self) -> str:
        return (
            f"Inventory({self.path}: {len(self.entries)} clusters, {len(self.problems)} problems)"
        )


def load(path: Path) -> Inventory:
    """Read and check an inventory (or a kubeconfig of many contexts); blocking I/O.

    Raises `InventoryError` only when the file as a whole is unusable.
    """
    root, loader = _compose(path)
    if not isinstance(root, yaml.MappingNode):
        raise errors.InventoryError("must be a mapping with a 'clusters' list", where=str(path))
    keys = {_text(key): value for key, value in root.value}
    if "contexts" in keys or _text(keys.get("kind")) == "Config":
        return _from_kubeconfig(path, loader.construct_document(root))
    return _Reader(path, loader).inventory(root)


def kubeconfig_access(path: Path, context: str | None) -> Access:
    """The access through one context (or the current one) of one kubeconfig, with the
    same checks as an inventory's entries; blocking I/O. `UserError` naming the file."""
    try:
        return _Kubeconfig.read(path).resolve(context)
    except _UnusableError as error:
        raise errors.UserError(error.message, where=str(path)) from None


def _compose(path: Path) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise errors.InventoryError(f"cannot be read: {_reason(error)}", where=str(path)) from None
    loader = yaml.SafeLoader(text)
    try:
        return loader.get_single_node(), loader
    except yaml.YAMLError as error:
        raise errors.InventoryError(_yaml_problem(error), where=_yaml_where(path, error)) from None
    finally:
        loader.dispose()


def _reason(error: OSError | UnicodeDecodeError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8"
    return error.strerror or type(error).__name__


def _yaml_problem(error: yaml.YAMLError) -> str:
    # Only the parser's own words, never the snippet of the file it quotes after them.
    problem = getattr(error, "problem", None) or "malformed"
    return f"not valid YAML: {problem}"


def _yaml_where(path: Path, error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    return f"{path}:{mark.line + 1}" if mark is not None else str(path)


def _text(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


class _Reader:
    """Walks the inventory's YAML nodes, so that every problem has its line."""

    def __init__(self, path: Path, loader: yaml.SafeLoader) -> None:
        self.path = path
        self.loader = loader
        self.problems: list[Problem] = []
        self.kubeconfigs: dict[Path, _Kubeconfig | str] = {}

    def problem(self, node: yaml.Node, message: str, cluster: str | None = None) -> None:
        line = node.start_mark.line + 1
        location = Location(str(self.path), line)
        self.problems.append(
            Problem(location, message, cluster=ClusterName(cluster) if cluster else None)
        )

    def value(self, node: yaml.Node) -> Any:
        return self.loader.construct_object(node, deep=True)

    def inventory(self, root: yaml.MappingNode) -> Inventory:
        clusters: yaml.Node | None = None
        for key, value in root.value:
            name = _text(key)
            if name == "clusters":
                clusters = value
            else:
                self.problem(key, f"unknown key {name!r}{did_you_mean(str(name), TOP_KEYS)}")
        if not isinstance(clusters, yaml.SequenceNode):
            raise errors.InventoryError("needs a 'clusters' list", where=str(self.path))
        found: dict[str, tuple[yaml.Node, ClusterEntry | None]] = {}
        refused: set[str] = set()
        for item in clusters.value:
            named = self.entry(item)
            if named is None:
                continue
            name, entry = named
            if name in found:
                first = found[name][0].start_mark.line + 1
                self.problem(item, f"cluster {name!r} is also listed at line {first}", name)
                refused.add(name)
                continue
            found[name] = (item, entry)
            if entry is None:
                refused.add(name)
        entries = tuple(
            entry for name, (_, entry) in found.items() if entry is not None and name not in refused
        )
        # Kubeconfigs that could not be read are followed too: fixing one is a change.
        files = (self.path, *self.kubeconfigs)
        return Inventory(
            path=self.path,
            entries=tuple(sorted(entries, key=lambda e: e.name)),
            problems=tuple(sorted(self.problems, key=Problem.sort_key)),
            files=files,
            refused=frozenset(ClusterName(n) for n in refused),
        )

    def entry(self, item: yaml.Node) -> tuple[str, ClusterEntry | None] | None:
        """The entry's name and, when nothing is wrong with it, the entry."""
        if not isinstance(item, yaml.MappingNode):
            self.problem(item, "a cluster must be a mapping with at least a 'name'")
            return None
        nodes: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in item.value:
            nodes[str(_text(key))] = (key, value)
        name_node = nodes.get("name", (item, None))[1]
        name = self.value(name_node) if name_node is not None else None
        if not isinstance(name, str) or not _CLUSTER_NAME.fullmatch(name):
            self.problem(
                name_node or item,
                f"a cluster needs a 'name': up to 253 letters, digits and '-_.:@/', starting"
                f" and ending with a letter or digit, not {name!r}",
            )
            return None
        before = len(self.problems)
        for key_name, (key, _) in nodes.items():
            if key_name not in ENTRY_KEYS:
                hint = did_you_mean(key_name, ENTRY_KEYS)
                self.problem(key, f"unknown key {key_name!r}{hint}", name)
        labels = self.labels(nodes.get("labels"), name)
        access = self.access(item, nodes, name)
        if access is None and len(self.problems) > before + 1 and "kubeconfig" not in nodes:
            # "needs 'kubeconfig'" only repeats an unknown key such as 'kubeconfg'.
            self.problems.pop()
        if access is None or labels is None or len(self.problems) > before:
            return name, None
        return name, ClusterEntry(Cluster(ClusterName(name), labels), access)

    def labels(
        self, pair: tuple[yaml.Node, yaml.Node] | None, cluster: str
    ) -> dict[str, str] | None:
        if pair is None:
            return {}
        key_node, node = pair
        if isinstance(node, yaml.ScalarNode) and self.value(node) is None:
            return {}
        if not isinstance(node, yaml.MappingNode):
            self.problem(key_node, "labels must be a mapping of label keys to values", cluster)
            return None
        labels: dict[str, str] = {}
        good = True
        for key, value in node.value:
            label, text = self.value(key), self.value(value)
            message = _label_problem(label, text)
            if message:
                self.problem(key, message, cluster)
                good = False
            else:
                labels[label] = text
        return labels if good else None

    def access(
        self, item: yaml.Node, nodes: Mapping[str, tuple[yaml.Node, yaml.Node]], cluster: str
    ) -> Access | None:
        try:
            return self._access(item, nodes)
        except _EntryError as error:
            self.problem(error.node, error.message, cluster)
            return None

    def _access(self, item: yaml.Node, nodes: Mapping[str, tuple[yaml.Node, yaml.Node]]) -> Access:
        values = {key: self.value(value) for key, (_, value) in nodes.items() if key in ENTRY_KEYS}
        in_cluster, kubeconfig, context = (
            values.get("inCluster"), values.get("kubeconfig"), values.get("context"))  # fmt: skip
        if in_cluster not in (None, True, False):
            raise _EntryError(nodes["inCluster"][1], "inCluster must be true or false")
        if context is not None and not isinstance(context, str):
            raise _EntryError(nodes["context"][1], "context must be a string")
        if in_cluster:
            if kubeconfig is not None or context is not None:
                raise _EntryError(
                    item, "give either inCluster or kubeconfig (and context), not both"
                )
            return Access.inside()
        if not isinstance(kubeconfig, str) or not kubeconfig:
            raise _EntryError(item, "needs 'kubeconfig: <path>' (or 'inCluster: true')")
        path = self.path.parent / Path(kubeconfig).expanduser()
        if path not in self.kubeconfigs:
            try:
                self.kubeconfigs[path] = _Kubeconfig.read(path)
            except _UnusableError as error:
                self.kubeconfigs[path] = error.message
        parsed = self.kubeconfigs[path]
        try:
            if isinstance(parsed, str):
                raise _UnusableError(parsed)
            return parsed.resolve(context)
        except _UnusableError as error:
            raise _EntryError(
                nodes["kubeconfig"][1], f"kubeconfig {kubeconfig}: {error.message}"
            ) from None


class _EntryError(Exception):
    """One problem with an entry, at a node of the inventory."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


class _UnusableError(Exception):
    """Why a kubeconfig, or a context in it, cannot be used."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _label_problem(key: object, value: object) -> str | None:
    """What Kubernetes would refuse in one label (apimachinery's IsQualifiedName and
    IsValidLabelValue); the same rules as `fleet.planning.naming`, which this layer
    may not import."""
    if not isinstance(key, str):
        return f"label key {key!r} must be a string"
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"label key {key!r} has an invalid prefix: it must be a DNS subdomain"
    if len(name) > 63 or not _QUALIFIED.fullmatch(name):
        return f"label key {key!r} is invalid: {_QUALIFIED_RULE}"
    if not isinstance(value, str):
        return f"label {key!r} must have a string value (quote it), not {value!r}"
    if len(value) > 63 or (value and not _QUALIFIED.fullmatch(value)):
        return f"label {key!r} has an invalid value {value!r}: {_QUALIFIED_RULE}"
    return None


class _Kubeconfig:
    """One kubeconfig file, parsed, and the checks that resolve a context in it."""

    def __init__(self, path: Path, document: Mapping[str, Any]) -> None:
        self.path = path
        self.document = document

    @classmethod
    def read(cls, path: Path) -> _Kubeconfig:
        """The parsed file; `_UnusableError` saying why it cannot be used."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise _UnusableError(f"cannot be read: {_reason(error)}") from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise _UnusableError(f"{_yaml_problem(error)}{at}") from None
        if not isinstance(document, dict):
            raise _UnusableError("is not a kubeconfig (not a mapping)")
        return cls(path, document)

    def named(self, section: str) -> dict[str, Mapping[str, Any]]:
        entries = self.document.get(section) or []
        found: dict[str, Mapping[str, Any]] = {}
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    found[entry["name"]] = entry
        return found

    def resolve(self, context: str | None) -> Access:
        """The access through ``context`` (or the current one), or `_UnusableError`."""
        contexts = self.named("contexts")
        chosen = context or self.document.get("current-context")
        if not isinstance(chosen, str) or not chosen:
            raise _UnusableError("has no current-context; name one with 'context:'")
        entry = contexts.get(chosen)
        if entry is None:
            raise _UnusableError(f"has no context {chosen!r}{did_you_mean(chosen, contexts)}")
        body = entry.get("context")
        if not isinstance(body, dict) or not isinstance(body.get("cluster"), str):
            raise _UnusableError(f"context {chosen!r} names no cluster")
        cluster = self.named("clusters").get(body["cluster"])
        if cluster is None:
            raise _UnusableError(
                f"context {chosen!r} names cluster {body['cluster']!r}, which it does not define"
            )
        server = (cluster.get("cluster") or {}).get("server")
        if not isinstance(server, str) or not server.startswith(("https://", "http://")):
            raise _UnusableError(f"cluster {body['cluster']!r} has no http(s) server URL")
        users = []
        if body.get("user") is not None:
            user = self.named("users").get(str(body["user"]))
            if user is None:
                raise _UnusableError(
                    f"context {chosen!r} names user {body['user']!r}, which it does not define"
                )
            users.append(user)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": users,
            "contexts": [entry],
            "current-context": chosen,
        }
        base = self.path.parent.resolve()
        digest = hashlib.sha256(
            json.dumps([config, str(base)], sort_keys=True, default=str).encode()
        )
        return Access(
            kubeconfig=self.path,
            context=chosen,
            config=config,
            base=base,
            fingerprint=digest.hexdigest(),
        )


def _from_kubeconfig(path: Path, document: Any) -> Inventory:
    """Every context of one kubeconfig is a cluster of that name, without labels."""
    kubeconfig = _Kubeconfig(path, document)
    entries, problems, refused = [], [], set()
    for name in kubeconfig.named("contexts"):
        try:
            if not _CLUSTER_NAME.fullmatch(name):
                raise _UnusableError(
                    "cannot be a cluster name: up to 253 letters, digits and '-_.:@/'"
                )
            resolved = kubeconfig.resolve(name)
        except _UnusableError as error:
            message = f"context {name!r}: {error.message}"
            problems.append(Problem(Location(str(path)), message, cluster=ClusterName(name)))
            refused.add(ClusterName(name))
        else:
            entries.append(ClusterEntry(Cluster(ClusterName(name)), resolved))
    if not entries and not problems:
        raise errors.InventoryError("is a kubeconfig without contexts", where=str(path))
    return Inventory(
        path=path,
        entries=tuple(sorted(entries, key=lambda e: e.name)),
        problems=tuple(problems),
        files=(path,),
        refused=frozenset(refused),
    )
