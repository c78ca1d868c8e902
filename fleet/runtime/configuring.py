"""Settings from command-line flags and ``FLEET_*`` environment variables.

There is one mapping, and it is derived rather than written: every field of every group
of `Settings` is one option, with the flag ``--<group>-<field>`` and the variable
``FLEET_<GROUP>_<FIELD>`` (``git.poll_interval``: ``--git-poll-interval``,
``FLEET_GIT_POLL_INTERVAL``). A new settings group, or a new field, is therefore
loadable, documented in ``--help`` (from the field's docstring) and listed in
docs/configuration.md without an edit here. Two small tables add what people type most
(``--repo``, ``--listen``, ``--workers``) and the few variable names that differ from
the rule (``FLEET_DATABASE_URL``, ``FLEET_WORKERS``, and the Git credentials that
`fleet.sources` also reads).

A flag wins over the environment, the environment over the default. Values are
converted here rather than by argparse, so a flag and a variable fail with the same
message, which names the flag or the variable that held the bad value (never the value
of a secret). The groups then check their own rules; an error there is renamed to the
flag or variable too, so the first words of the message say what to change.

Secrets may be given as flags (issue #7 asks for ``--database-url``), but the help
says to prefer the variable: a command line is visible to every user of the machine.
An empty variable counts as unset, so a manifest can blank a value out.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import itertools
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from fleet.structs import errors
from fleet.structs.settings import Secret

PREFIX = "FLEET_"

SHORT_FLAGS: Mapping[str, str] = {
    "git.url": "--repo",
    "git.branch": "--branch",
    "git.poll_interval": "--poll-interval",
    "queue.workers": "--workers",
    "history.database_url": "--database-url",
    "api.listen": "--listen",
    "clients.inventory": "--inventory",
    "leader.enabled": "--leader-elect",
}
"""Extra, shorter flags for the settings people set most (issue #7's names)."""

VARIABLES: Mapping[str, str] = {
    "queue.workers": "FLEET_WORKERS",
    "history.database_url": "FLEET_DATABASE_URL",
    "git.http_username": "FLEET_GIT_USERNAME",
    "git.http_password": "FLEET_GIT_PASSWORD",
    "clients.inventory": "FLEET_INVENTORY",
}
"""Variables named otherwise than ``FLEET_<GROUP>_<FIELD>``: short names for common
settings, and the Git credentials under the names `fleet.sources.remotes` reads too."""

_METAVARS = {
    "an integer": "N",
    "a number": "NUMBER",
    "true or false": "BOOL",
    "a path": "PATH",
    "a secret": "SECRET",
    "a list": "A,B",
    "text": "TEXT",
}
"""What ``--help`` shows for each kind of value."""

T = TypeVar("T")
Convert = Callable[[str], object]


@dataclasses.dataclass(frozen=True, slots=True)
class Option:
    """One setting as the command line and the environment name it."""

    group: str
    field: str
    flags: tuple[str, ...]
    variable: str
    convert: Convert
    expects: str  # what a value looks like, for messages and --help
    default: object
    help: str
    secret: bool

    @property
    def setting(self) -> str:
        return f"{self.group}.{self.field}"


def options(into: type[Any]) -> tuple[Option, ...]:
    """Every option of an aggregate of settings groups (`Settings`), in field order.

    Raises TypeError for a field whose type has no conversion from text: a new kind of
    field needs a line in `_converter`, and the configuring tests find it first.
    """
    found = []
    for group_field in dataclasses.fields(into):
        group_type = typing.get_type_hints(into)[group_field.name]
        hints = typing.get_type_hints(group_type)
        docs = _field_docs(group_type)
        defaults = group_type()
        for field in dataclasses.fields(group_type):
            setting = f"{group_field.name}.{field.name}"
            convert, expects, secret = _converter(setting, hints[field.name])
            canonical = f"--{group_field.name}-{field.name}".replace("_", "-")
            short = SHORT_FLAGS.get(setting)
            found.append(
                Option(
                    group=group_field.name,
                    field=field.name,
                    flags=(short, canonical) if short else (canonical,),
                    variable=VARIABLES.get(setting)
                    or f"{PREFIX}{group_field.name}_{field.name}".upper(),
                    convert=convert,
                    expects=expects,
                    default=getattr(defaults, field.name),
                    help=docs.get(field.name, ""),
                    secret=secret,
                )
            )
    return tuple(found)


def add_arguments(parser: argparse.ArgumentParser, *, into: type[Any]) -> None:
    """Add every option of ``into`` to ``parser``, one argument group per settings group."""
    sections: dict[str, Any] = {}
    for option in options(into):
        if option.group not in sections:
            group_type = typing.get_type_hints(into)[option.group]
            summary = (inspect.getdoc(group_type) or "").split("\n", 1)[0]
            sections[option.group] = parser.add_argument_group(f"{option.group}: {summary}")
        text = " ".join(option.help.split())
        shown = "none" if option.default is None else _shown(option.default)
        text += f" [{option.variable}; default {shown}]"
        if option.secret:
            text += " Prefer the variable: flags show in `ps`."
        # A switch given alone (`--leader-elect`) means true; `--leader-elect false` works too.
        switch = {"nargs": "?", "const": "true"} if option.expects == "true or false" else {}
        sections[option.group].add_argument(
            *option.flags,
            dest=option.setting,
            default=None,
            metavar=_METAVARS.get(option.expects.removesuffix(" or nothing"), "VALUE"),
            help=text.replace("%", "%%"),
            **switch,
        )


def load(args: argparse.Namespace | None, environ: Mapping[str, str], *, into: type[T]) -> T:
    """The settings that flags (given to `add_arguments`) and variables ask for.

    Raises `errors.UserError` naming the flag or variable of a bad value.
    """
    given: dict[str, dict[str, object]] = {}
    sources: dict[str, str] = {}
    for option in options(into):
        text, source = _given(option, args, environ)
        if text is None:
            continue
        try:
            value = option.convert(text)
        except ValueError:
            shown = "" if option.secret else f" {text!r}"
            raise errors.UserError(
                f"expected {option.expects}, got{shown or ' an invalid value'}", where=source
            ) from None
        given.setdefault(option.group, {})[option.field] = value
        sources[option.setting] = source
    groups = {}
    for group_field in dataclasses.fields(into):  # type: ignore[arg-type]
        group_type = typing.get_type_hints(into)[group_field.name]
        try:
            groups[group_field.name] = group_type(**given.get(group_field.name, {}))
        except errors.UserError as error:
            if error.where in sources:
                raise errors.UserError(error.message, where=sources[error.where]) from None
            raise
    return into(**groups)


def _given(
    option: Option, args: argparse.Namespace | None, environ: Mapping[str, str]
) -> tuple[str | None, str]:
    flagged = getattr(args, option.setting, None) if args is not None else None
    if flagged is not None:
        return str(flagged), option.flags[0]
    return environ.get(option.variable) or None, option.variable


def _converter(setting: str, hint: Any) -> tuple[Convert, str, bool]:
    """How to read a field of type ``hint`` from text: the function, what it expects, and
    whether the value is a secret."""
    optional = False
    if isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint):
        rest = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(rest) == 1:
            hint, optional = rest[0], True
    simple: dict[Any, tuple[Convert, str]] = {
        str: (str, "text"),
        int: (_integer, "an integer"),
        float: (_number, "a number"),
        bool: (_boolean, "true or false"),
        Path: (Path, "a path"),
        Secret: (Secret, "a secret"),
        tuple[str, ...]: (_words, "a list"),
    }
    if hint not in simple:
        raise TypeError(f"{setting}: no conversion from text to {hint!r}; add one to _converter")
    convert, expects = simple[hint]
    if optional:
        return _or_none(convert), f"{expects} or nothing", hint is Secret
    return convert, expects, hint is Secret


def _or_none(convert: Convert) -> Convert:
    """For a field that may be None: an empty value (``--ssh-key-file ''``) is None."""
    return lambda text: convert(text) if text.strip() else None


def _integer(text: str) -> int:
    return int(text.strip())


def _number(text: str) -> float:
    return float(text.strip())


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(",") if word.strip())


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value) or "none"
    return str(value)


@functools.cache
def _field_docs(group_type: type) -> Mapping[str, str]:
    """The docstring under each field of a settings group, read from its source.

    Attribute docstrings are not kept at run time; the source is the one place they are
    written, so ``--help`` and the docs say exactly what the code says.
    """
    module = sys.modules[group_type.__module__]
    tree = ast.parse(inspect.getsource(module))
    docs: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == group_type.__name__:
            body: Sequence[ast.stmt] = node.body
            for statement, following in itertools.pairwise(body):
                if (
                    isinstance(statement, ast.AnnAssign)
                    and isinstance(statement.target, ast.Name)
                    and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                ):
                    docs[statement.target.id] = inspect.cleandoc(following.value.value)
    return docs
