"""The Git adapter: one mirror per remote URL, shared by every cluster.

The only package that imports dulwich.
"""
