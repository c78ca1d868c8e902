"""Fixtures of the engine's tests: whole controllers against `fleet.sim` (see harness.py)."""
