"""Logging: one line per record on standard error, which is what a container runtime
collects and what a person at a terminal reads.

Lines start with the time (UTC, ISO 8601), the level and the component, then the
message, which by fleet's own rule starts with where (``cluster eu-1: ...``). Records
never carry a credential: the parts that handle them log names and places only.
"""

from __future__ import annotations

import logging
import sys
import time

from fleet.structs import errors

LEVELS = ("debug", "info", "warning", "error")

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure(level: str) -> None:
    """Send fleet's records (and warnings of libraries) to stderr at ``level``."""
    chosen = level.strip().lower()
    if chosen not in LEVELS:
        raise errors.UserError(f"must be one of {', '.join(LEVELS)}, not {level!r}",
                               where="--log-level")  # fmt: skip
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(FORMAT, datefmt="%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("fleet").setLevel(chosen.upper())
