"""The reconcile engine: work queue, rate limiters, cluster sync, staged apply, prune,
health and drift.

It reaches clusters, Git and the history store only through the protocols in
`fleet.structs`, so it runs the same against the simulator, a real API server, or the
fakes of its tests.
"""
