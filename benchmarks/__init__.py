"""Benchmarks: scripts that measure fleet and its simulator, print a table, and rewrite
the figures in docs/. They are never timed assertions: the test suite only runs their
quick mode to keep them working.
"""
