"""The history adapter: syncs, drift and revisions in PostgreSQL, or in memory.

The only package that imports asyncpg.
"""
