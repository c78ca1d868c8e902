"""Planning: the fleet spec, targeting, rendering, kind ordering and diff.

Pure: no `await`, no I/O, no clock. Given the same inputs it returns the same plan,
which is what makes it table-testable and safe to run for every cluster on every commit.
"""
