"""Value types shared by every layer: names, object keys, errors and settings.

This is the bottom layer. It imports nothing else from fleet, and nothing here does I/O,
so that every other layer (and the pure planning code) can depend on it freely.
Protocols that the engine uses to reach an adapter also live here, so that the engine
never imports an adapter and an adapter never imports the engine.
"""
