"""Benchmarks rewrite their own section of a page and nothing else."""

from pathlib import Path

from benchmarks import reporting

BEGIN = "<!-- figures: benchmarks/demo.py (begin) -->"
END = "<!-- figures: benchmarks/demo.py (end) -->"


def test_figures_replace_their_section_only(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    other = (
        "<!-- figures: benchmarks/other.py (begin) -->\nkept\n"
        "<!-- figures: benchmarks/other.py (end) -->"
    )
    page.write_text(f"# Page\n\n{BEGIN}\nold\n{END}\n\n{other}\n\nAfter.\n")
    reporting.rewrite_section(page, "demo", "new figures")
    assert page.read_text() == f"# Page\n\n{BEGIN}\nnew figures\n{END}\n\n{other}\n\nAfter.\n"


def test_a_page_without_the_section_gets_it_appended(tmp_path: Path) -> None:
    bare = tmp_path / "bare.md"
    bare.write_text("# Bare\n")
    reporting.rewrite_section(bare, "demo", "figures")
    assert bare.read_text() == f"# Bare\n\n{BEGIN}\nfigures\n{END}\n"


def test_machine_line_names_cores_memory_and_python() -> None:
    line = reporting.machine()
    assert " cores, " in line
    assert " GiB RAM, Python 3." in line


def test_versions_name_fleet_its_commit_and_each_package() -> None:
    line = reporting.versions("aiohttp")
    assert line.startswith("fleet 0.")
    assert ", aiohttp " in line
