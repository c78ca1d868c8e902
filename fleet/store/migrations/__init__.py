"""Numbered SQL files, applied in order by `fleet.store.migrating` (package data, not code).

A file is never edited once released: a change to the schema is a new file with the next
number, so that every database reaches the same schema by the same steps.
"""
