"""The Kubernetes adapter: cluster inventory, one API client per cluster, informers.

The only package that imports kubernetes-asyncio; no type of it leaves this package.
"""
