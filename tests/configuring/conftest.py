"""Settings loading is tested in-process: a parser with every option, and an environment
given as a dict (never the real one)."""

from __future__ import annotations

import argparse

import pytest

from fleet.runtime import configuring
from fleet.structs.settings import Settings


@pytest.fixture
def parser() -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog="fleet run")
    configuring.add_arguments(built, into=Settings)
    return built
