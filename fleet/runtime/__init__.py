"""Wiring: builds the controller from `Settings`, runs it, and shuts it down gracefully.

The only layer that knows every concrete adapter; it hands them to the engine as the
protocols of `fleet.structs`.
"""
