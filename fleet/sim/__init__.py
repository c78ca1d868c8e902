"""fleet.sim: a Kubernetes API simulator that serves many virtual clusters from one process.

It stands alone (it imports no other part of fleet) because it plays the part of the
clusters: fleet must work against it exactly as it works against a real API server.
docs/simulator.md says what it implements and where it is simpler than Kubernetes.

How it is put together, from the wire inwards:

- `serving` (the aiohttp app, `Simulator`, `run()`), `admin` (faults and counters over
  HTTP), `credentials` (CA, tokens, kubeconfigs, inventory), `config` (`SimConfig`);
- `handling` (one API request: parameters in, response out), `routing` (paths),
  `discovery`, `openapi`, `tables` (kubectl's printing), `decoding` and `protobuf`
  (request bodies);
- the verbs: `reading` (get, list), `watching`, `writing` (create, update, patch),
  `applying` (server-side apply), `deleting`, with `patching`, `scaling`,
  `validating`, `defaulting`, `quantities` and `statuses` (errors);
- field ownership: `ownership`, `merging`, `fieldsets`, `listtypes`;
- one cluster's state: `clusters` (`VirtualCluster`), `storage` (objects, versions,
  event window), `resources` (the kinds), `controllers` (the emulated control plane),
  `workloads` (rollout status), `timers`, `faults`, `counting`.
"""
