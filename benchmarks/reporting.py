"""What every benchmark reports with its figures: the machine, process readings, and the
page of docs/ that shows them.

Each script owns one section of a page, between two HTML comments that name the script,
so that rerunning one script replaces its own figures and leaves the rest of the page
(prose, other scripts' figures) as it was. Quick runs, which the test suite makes to
keep the scripts working, never touch the docs.
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import fleet

DOCS = Path(__file__).resolve().parent.parent / "docs"
BENCHMARKS_PAGE = DOCS / "benchmarks.md"


def machine() -> str:
    """Cores, memory and Python of this machine, for the line under each table."""
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return (
        f"{os.cpu_count()} cores, {memory_kib / 1024 / 1024:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.machine()}"
    )


def versions(*packages: str) -> str:
    """fleet's version and commit, and the versions of ``packages``, for a figure's line."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=DOCS.parent, capture_output=True,
            text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        commit = "no git"
    found = [f"fleet {fleet.__version__} ({commit})"]
    found += [f"{name} {metadata.version(name)}" for name in packages]
    return ", ".join(found)


def rss_mib(pid: int) -> float:
    """Resident memory of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rewrite_section(page: Path, script: str, text: str) -> None:
    """Replace the section of ``page`` that belongs to ``script`` (or append it)."""
    begin = f"<!-- figures: benchmarks/{script}.py (begin) -->"
    end = f"<!-- figures: benchmarks/{script}.py (end) -->"
    current = page.read_text() if page.exists() else ""
    section = f"{begin}\n{text}\n{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        page.write_text(head + section + rest.split(end, 1)[1])
    else:
        page.write_text(current.rstrip("\n") + "\n\n" + section + "\n")


def publish(script: str, text: str, *, quick: bool) -> None:
    """Print ``text``; a full run (not ``quick``) also puts it on the benchmarks page."""
    print(text)
    if not quick:
        rewrite_section(BENCHMARKS_PAGE, script, text)
