"""Tracing and metric helpers: the `fleet.sync` span and the Prometheus registry."""
