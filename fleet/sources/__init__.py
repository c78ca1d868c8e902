"""The Git adapter: one mirror per remote URL, shared by every cluster.

The only package that imports dulwich. Its modules, from the outside in:

- `registry`: `MirrorSet`, one mirror per remote for the process, the poll loops, and
  the webhook's `trigger`;
- `mirroring`: `GitMirror` (fetch single-flight, state, head changes) and
  `TrackedBranch`, the `GitSource` the engine follows;
- `fetching`: the blocking transfer, its verification, and the ref update;
- `reading` and `sizing`: safe reads of trees and files, limits from object headers;
- `remotes`: URL identity and matching, credentials, dulwich clients, redaction;
- `publishing`: committing a tree of files (the demo, tests and benchmarks);
- `metrics`: the Prometheus series of the mirrors.
"""
