"""fleet.sim: a Kubernetes API simulator that serves many virtual clusters from one process.

It stands alone (it imports no other part of fleet) because it plays the part of the
clusters: fleet must work against it exactly as it works against a real API server.
"""
