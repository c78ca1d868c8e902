"""Kubernetes' rules for names, label keys and label values, as fleet checks them.

A label that Kubernetes would refuse, or a bundle name that cannot become a label value,
must be refused when `fleet.yaml` is loaded, with its line, rather than by an API server
halfway through a rollout. The rules are apimachinery's (`IsDNS1123Label`,
`IsQualifiedName`, `IsValidLabelValue`). Each check returns what is wrong, or None, so
that the loader can collect every problem.
"""

from __future__ import annotations

import re

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_PARAMETER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_NAME_RULE = "alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric"


def dns_label_problem(name: str) -> str | None:
    """What makes ``name`` not an RFC 1123 label (bundle, target, policy, namespace names)."""
    if len(name) > 63:
        return f"{name!r} is longer than 63 characters"
    if not _DNS_LABEL.fullmatch(name):
        return (
            f"{name!r} is not a valid name: lower-case alphanumerics and '-', "
            "starting and ending with an alphanumeric"
        )
    return None


def label_key_problem(key: str) -> str | None:
    """What makes ``key`` not a label key: ``[prefix/]name`` as Kubernetes checks it."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"label key {key!r} has an empty prefix"
    if slash and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"label key {key!r} has an invalid prefix: it must be a DNS subdomain"
    if not name or len(name) > 63 or not _QUALIFIED_NAME.fullmatch(name):
        return f"label key {key!r} is invalid: at most 63 characters, {_NAME_RULE}"
    return None


def label_value_problem(value: str) -> str | None:
    """What makes ``value`` not a label value (which may be empty)."""
    if len(value) > 63 or (value and not _QUALIFIED_NAME.fullmatch(value)):
        return f"label value {value!r} is invalid: at most 63 characters, {_NAME_RULE}"
    return None


def parameter_problem(name: str) -> str | None:
    """What makes ``name`` not a parameter name (letters, digits and '_', not first a digit)."""
    if not _PARAMETER.fullmatch(name):
        return f"{name!r} is not a valid parameter name: letters, digits and '_', not first a digit"
    return None
