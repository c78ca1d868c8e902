"""fleet: a GitOps controller for many Kubernetes clusters, in one asyncio process.

The package is layered (see docs/architecture.md); `.importlinter` holds the rules.
"""

__version__ = "0.1.0"
