"""`python -m benchmarks`: list the benchmark scripts, or run some or all of them.

    python -m benchmarks --list              the scripts, with the first line of each docstring
    python -m benchmarks                     every script with its defaults (what `make bench` does)
    python -m benchmarks --quick             every script's smoke run (`make bench-quick`; no docs)
    python -m benchmarks simulator --quick   one script, with its own arguments

A script is any module of this package with a `main(argv) -> int` function, so a new
benchmark is a new module and needs no registration here.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

import benchmarks


def scripts() -> dict[str, ModuleType]:
    """Every benchmark module by name."""
    found = {}
    for info in pkgutil.iter_modules(benchmarks.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        if callable(getattr(module, "main", None)):
            found[info.name] = module
    return found


def _summary(module: ModuleType) -> str:
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    available = scripts()
    if args[:1] in (["--list"], ["-l"], ["--help"], ["-h"]):
        for name, module in sorted(available.items()):
            print(f"{name:20} {_summary(module)}")
        return 0
    if args not in ([], ["--quick"]) and args[0].startswith("-"):
        print(f"unknown option {args[0]!r}; try --list", file=sys.stderr)
        return 2
    if args and args != ["--quick"]:
        name, rest = args[0], args[1:]
        if name not in available:
            print(f"no benchmark {name!r}; try --list", file=sys.stderr)
            return 2
        runner: Callable[[list[str]], int] = available[name].main
        return runner(rest)
    status = 0
    for name, module in sorted(available.items()):
        print(f"## {name}", flush=True)
        status = max(status, module.main(list(args)))
    return status


if __name__ == "__main__":
    sys.exit(main())
