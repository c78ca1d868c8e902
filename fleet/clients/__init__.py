"""The Kubernetes adapter: cluster inventory, one API client per cluster, informers.

The only package that imports kubernetes-asyncio; no type of it leaves this package.
The engine sees its work through `fleet.structs.kube` (`ClusterSet`, `ClusterClient`,
`ObjectCache`); the runtime builds a `registry.ClusterRegistry` and reloads it.

- `inventories`: the inventory file (or a kubeconfig of many contexts), checked, with
  every problem per cluster.
- `connecting`: a cluster's access loaded by kubernetes-asyncio into an `Endpoint`
  (URL, shared TLS context, refreshed credentials).
- `requesting`: one aiohttp session per cluster; rate limit, timeouts, safe retries,
  `Status` answers as `ApiError`, the connection state.
- `throttling`: the token bucket and the backoff, on the injected clock.
- `discovering`: lazy, per group-version discovery, refreshed when a kind is missing.
- `caching`: the object cache with its indexes, and per-cluster event delivery.
- `informing`: list, then watch with bookmarks and resume; relist on 410; backoff.
- `kubeclient`: `KubeClient`, one cluster's tasks under one TaskGroup.
- `registry`: `ClusterRegistry`, clients started, replaced and stopped on reload.
- `metering`: Prometheus metrics and the in-process counts benchmarks read.
- `leasing`: leader election on a Lease in the management cluster (`LeaderElector`).
"""
