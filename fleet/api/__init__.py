"""Interfaces: the JSON status API, the Git webhook receiver, `/metrics` and the dashboard.

Served by aiohttp. Read endpoints are open on the bind address (127.0.0.1 by default);
anything that changes state needs the bearer token from settings.
"""
