# Every target sets up what it needs: on a fresh machine `make demo` and `make test`
# are the whole installation. The virtualenv is rebuilt when the dependencies change.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

.PHONY: demo test check lint types contracts pytest bench bench-quick clean

$(READY): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(READY)

demo: $(READY)
	$(BIN)/fleet demo

# `make test` is the whole check, as CI runs it: style, types, layer contracts, tests.
test: check

check: lint types contracts pytest

lint: $(READY)
	$(BIN)/ruff check fleet tests benchmarks
	$(BIN)/ruff format --check fleet tests benchmarks

types: $(READY)
	$(BIN)/mypy

contracts: $(READY)
	$(BIN)/lint-imports

pytest: $(READY)
	$(BIN)/pytest

# The full figures (rewrites docs/benchmarks.md and docs/simulator.md; about an hour);
# `make bench BENCH_ARGS=fanout` runs one script.
bench: $(READY)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# Every benchmark's smoke run, in a few minutes; the docs are left alone.
bench-quick: $(READY)
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
