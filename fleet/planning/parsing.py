"""Reading YAML into plain JSON values, keeping the positions that messages need.

`yaml.safe_load` is not enough here, for three reasons:

- Positions. A missing parameter is found when rendering for one cluster, long after
  parsing, and its message must still name the line and column of the string. So values
  are converted from PyYAML's nodes here, recording where each one (in `fleet.yaml`) or
  each `${...}` string (in manifests) stood.
- Nothing a user writes may crash or stall the process. PyYAML's C composer recurses on
  nesting and crashes outright on a document nested a hundred thousand deep, so nesting
  is first measured on the event stream (which is not recursive) and bounded. Aliases
  can expand exponentially ("billion laughs"), so their expansion has a budget, and an
  alias that contains itself is refused.
- Kubernetes semantics. Duplicate keys are errors (PyYAML silently keeps the last);
  values must be JSON (a YAML timestamp stays the string it was written as, as in
  Kubernetes' own YAML reader; binary, sets and custom tags are refused; a mapping key is
  the text it was written as, so `on:` stays `"on"`).

Every problem is collected with its position and the conversion goes on where it can,
so that one run reports everything wrong in a file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import yaml

from fleet.structs.problems import Location, Problem

MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences accepted; real manifests stay far below."""

MAX_ALIAS_VALUES = 100_000
"""Values that aliases may add to one file by repeating what an anchor holds."""

Path: TypeAlias = tuple[str | int, ...]
"""Where a value sits in a document: keys and list indexes from the root."""

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_CONSTRUCTORS: dict[str, Callable[[yaml.ScalarNode], Any]] = {
    "null": _SCALARS.construct_yaml_null,
    "bool": _SCALARS.construct_yaml_bool,
    "int": _SCALARS.construct_yaml_int,
    "float": _SCALARS.construct_yaml_float,
}


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document as JSON values, with the positions that were recorded.

    ``positions`` holds the position of each value (and ``keys`` of each mapping key)
    by path; which values are recorded depends on how the file was parsed.
    """

    value: Any = field(repr=False)
    location: Location
    positions: dict[Path, Location] = field(repr=False)
    keys: dict[Path, Location] = field(repr=False)

    def where(self, path: Path) -> Location:
        """The position of the value at ``path``, or of its nearest recorded parent."""
        while path and path not in self.positions:
            path = path[:-1]
        return self.positions.get(path, self.location)

    def where_key(self, path: Path) -> Location:
        """The position of the key that leads to ``path`` (for unknown-key messages)."""
        return self.keys.get(path) or self.where(path)


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a file held: its documents (empty ones skipped) and the problems found."""

    documents: tuple[Document, ...]
    problems: tuple[Problem, ...]


class _BeyondLimitError(Exception):
    """The file is beyond a limit; what was found so far is reported."""


def parse(data: bytes, *, source: Location, record_all: bool) -> Parsed:
    """Parse every document of a YAML (or JSON) file.

    ``source`` names the file (and revision) for positions. With ``record_all`` every
    value's position is recorded (for `fleet.yaml`, where any value may be wrong); without
    it only strings that hold ``${`` are (for manifests, which are large and where only
    substitution needs a position after parsing).
    """
    problems: list[Problem] = []
    if not _nesting_is_bounded(data, source=source, problems=problems):
        return Parsed(documents=(), problems=tuple(problems))
    converter = _Converter(source=source, record_all=record_all, problems=problems)
    documents: list[Document] = []
    try:
        for root in yaml.compose_all(data, Loader=_LOADER):
            if root is None or (isinstance(root, yaml.ScalarNode) and root.tag == _TAG + "null"):
                continue
            documents.append(converter.document(root))
    except yaml.YAMLError as error:
        problems.append(_yaml_problem(error, data=data, source=source))
    except _BeyondLimitError:
        pass
    return Parsed(documents=tuple(documents), problems=tuple(problems))


def _nesting_is_bounded(data: bytes, *, source: Location, problems: list[Problem]) -> bool:
    depth = 0
    try:
        for event in yaml.parse(data, Loader=_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    where = _at(source, event.start_mark)
                    problems.append(Problem(where, f"nested deeper than {MAX_DEPTH} levels"))
                    return False
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as error:
        problems.append(_yaml_problem(error, data=data, source=source))
        return False
    return True


def _at(source: Location, mark: Any) -> Location:
    return Location(source.file, mark.line + 1, mark.column + 1, source.revision)


def _yaml_problem(error: yaml.YAMLError, *, data: bytes, source: Location) -> Problem:
    # PyYAML's own text quotes the offending line (a snippet), which could be a Secret's
    # value; only its description of the problem and the positions are used.
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        message = error.problem or error.context or "invalid YAML"
        if error.context and error.problem and error.context_mark is not None:
            message += f" ({error.context} at line {error.context_mark.line + 1})"
        where = _at(source, mark) if mark is not None else source
        return Problem(where, f"invalid YAML: {message}")
    if isinstance(error, yaml.reader.ReaderError):
        line = data[: error.position].count(b"\n") + 1
        where = Location(source.file, line, None, source.revision)
        return Problem(where, f"invalid YAML: character #x{error.character:04x}: {error.reason}")
    return Problem(source, "invalid YAML")


class _Converter:
    """Nodes to JSON values, for one file; holds that file's alias budget."""

    def __init__(self, *, source: Location, record_all: bool, problems: list[Problem]) -> None:
        self.source = source
        self.record_all = record_all
        self.problems = problems
        self.seen: set[int] = set()
        self.visits = 0
        self.positions: dict[Path, Location] = {}
        self.keys: dict[Path, Location] = {}

    def document(self, root: yaml.Node) -> Document:
        self.positions, self.keys = {}, {}
        value = self.value(root, path=(), open_nodes=set())
        location = self.at(root)
        self.positions.setdefault((), location)
        return Document(value, location, self.positions, self.keys)

    def at(self, node: yaml.Node) -> Location:
        return _at(self.source, node.start_mark)

    def problem(self, node: yaml.Node, message: str) -> None:
        self.problems.append(Problem(self.at(node), message))

    def value(self, node: yaml.Node, *, path: Path, open_nodes: set[int]) -> Any:
        self.count(node)
        if self.record_all:
            self.positions[path] = self.at(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path=path)
        if id(node) in open_nodes:
            self.problem(node, "an alias refers to a node that contains it")
            return None
        if len(path) >= MAX_DEPTH:
            self.problem(node, f"aliases nest deeper than {MAX_DEPTH} levels")
            return None
        open_nodes.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode) and node.tag == _TAG + "seq":
                return [
                    self.value(item, path=(*path, index), open_nodes=open_nodes)
                    for index, item in enumerate(node.value)
                ]
            if isinstance(node, yaml.MappingNode) and node.tag == _TAG + "map":
                return self.mapping(node, path=path, open_nodes=open_nodes)
        finally:
            open_nodes.discard(id(node))
        self.problem(node, f"unsupported YAML tag {node.tag!r}")
        return None

    def count(self, node: yaml.Node) -> None:
        # A node met again is an alias being expanded: that is what the budget limits.
        self.visits += 1
        self.seen.add(id(node))
        if self.visits - len(self.seen) > MAX_ALIAS_VALUES:
            self.problem(node, f"aliases expand to more than {MAX_ALIAS_VALUES} values")
            raise _BeyondLimitError

    def scalar(self, node: yaml.ScalarNode, *, path: Path) -> Any:
        kind = node.tag.removeprefix(_TAG)
        if kind in ("str", "timestamp"):
            if not self.record_all and "${" in node.value:
                self.positions[path] = self.at(node)
            return node.value
        construct = _CONSTRUCTORS.get(kind)
        if construct is None:
            self.problem(node, f"unsupported YAML tag {node.tag!r}")
            return None
        value = construct(node)
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(node, "infinity and NaN are not JSON numbers")
            return None
        return value

    def mapping(self, node: yaml.MappingNode, *, path: Path, open_nodes: set[int]) -> Any:
        result: dict[str, Any] = {}
        merged: list[yaml.Node] = []
        first_seen: dict[str, Location] = {}
        entries: list[tuple[str, yaml.Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merged.extend(self.merge_sources(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.count(key_node)
                self.problem(key_node, "a mapping key must be a string")
                continue
            key = key_node.value
            if key in first_seen:
                line = first_seen[key].line
                self.problem(key_node, f"duplicate key {key!r} (first at line {line})")
                continue
            first_seen[key] = self.at(key_node)
            entries.append((key, value_node))
        # Merged mappings (`<<: *defaults`) give way to the keys written here, and an
        # earlier one in `<<: [*a, *b]` to none after it: YAML's merge-key rule.
        for source in reversed(merged):
            merged_value = self.value(source, path=path, open_nodes=open_nodes)
            if isinstance(merged_value, dict):
                result.update(merged_value)
        if self.record_all:
            self.positions[path] = self.at(node)
            self.keys.update({(*path, key): first_seen[key] for key, _ in entries})
        for key, value_node in entries:
            result[key] = self.value(value_node, path=(*path, key), open_nodes=open_nodes)
        return result

    def merge_sources(self, node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        if isinstance(node, yaml.SequenceNode) and all(
            isinstance(item, yaml.MappingNode) for item in node.value
        ):
            return list(node.value)
        self.problem(node, "a merge key (<<) takes a mapping or a list of mappings")
        return []
