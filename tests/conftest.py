"""Fixtures shared by every feature folder. Each folder has its own conftest.py too."""
