"""The `fleet` command.

Each subcommand lives in its own module with two functions: `add_parser(subparsers)`
declares its flags, and the handler it registers runs it. This module only assembles
them and turns a `UserError` into one line on stderr and exit status 2, so that nothing
a user can get wrong ends in a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

import fleet
from fleet.cli import demo, render, run, sim, status, sync, validate
from fleet.structs import errors

SUBCOMMANDS: tuple[ModuleType, ...] = (run, demo, status, sync, validate, render, sim)
"""Modules that each add one subcommand, in the order `--help` lists them."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet",
        description="A GitOps controller for many Kubernetes clusters.",
    )
    parser.add_argument("--version", action="version", version=f"fleet {fleet.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        status: int = handler(args)
    except errors.UserError as error:
        print(f"fleet: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status
