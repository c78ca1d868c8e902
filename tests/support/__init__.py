"""Test helpers shared by several feature folders (fake clock, simulator fixtures, ...)."""
