"""Label selectors, with Kubernetes' semantics, for targets and policies.

Targets choose clusters, and policies choose clusters and bundles, the way a Deployment
chooses Pods, so a platform team needs to learn nothing new: `matchLabels` and
`matchExpressions` are ANDed; `NotIn` and `DoesNotExist` match when the label is absent;
the empty selector matches everything. `matchLabels` is kept as `In` requirements with one
value each, which is what Kubernetes defines it to mean, so there is one rule to match.
"""

from __future__ import annotations

from collections.abc import Mapping

from fleet.planning.specs import Operator, Requirement, Selector


def matches(selector: Selector, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every requirement of ``selector``."""
    return all(_satisfies(requirement, labels) for requirement in selector.requirements)


def _satisfies(requirement: Requirement, labels: Mapping[str, str]) -> bool:
    present = requirement.key in labels
    match requirement.operator:
        case Operator.IN:
            return present and labels[requirement.key] in requirement.values
        case Operator.NOT_IN:
            return not present or labels[requirement.key] not in requirement.values
        case Operator.EXISTS:
            return present
        case Operator.DOES_NOT_EXIST:
            return not present
