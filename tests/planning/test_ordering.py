"""Apply order: two stages, ranks within them, unknown kinds last, and ranks grouped."""

from __future__ import annotations

import random

import pytest

from fleet.planning import ordering
from fleet.planning.ordering import Stage
from fleet.structs.objects import ObjectKey


def key(kind: str, name: str = "a", *, group: str = "", namespace: str = "") -> ObjectKey:
    return ObjectKey(group=group, kind=kind, namespace=namespace, name=name)


CRD = key("CustomResourceDefinition", "widgets.example.com", group="apiextensions.k8s.io")
NAMESPACE = key("Namespace", "shop")
CLUSTER_ROLE = key("ClusterRole", group="rbac.authorization.k8s.io")
CLUSTER_BINDING = key("ClusterRoleBinding", group="rbac.authorization.k8s.io")
ACCOUNT = key("ServiceAccount", namespace="shop")
ROLE = key("Role", namespace="shop", group="rbac.authorization.k8s.io")
SECRET = key("Secret", namespace="shop")
CONFIG = key("ConfigMap", namespace="shop")
SERVICE = key("Service", namespace="shop")
DEPLOYMENT = key("Deployment", namespace="shop", group="apps")
JOB = key("Job", namespace="shop", group="batch")
INGRESS = key("Ingress", namespace="shop", group="networking.k8s.io")
WEBHOOK = key("ValidatingWebhookConfiguration", group="admissionregistration.k8s.io")
WIDGET = key("Widget", "b", namespace="shop", group="example.com")
GADGET = key("Gadget", "a", namespace="shop", group="example.com")
# The right kind in another group is not the kind of the table.
FAKE_DEPLOYMENT = key("Deployment", namespace="shop", group="example.com")

IN_ORDER = [
    CRD,
    NAMESPACE,
    CLUSTER_ROLE,
    CLUSTER_BINDING,
    # One rank from here to the Service: ordered by key (group, kind, namespace, name).
    CONFIG,
    SECRET,
    SERVICE,
    ACCOUNT,
    ROLE,
    DEPLOYMENT,
    JOB,
    WEBHOOK,
    INGRESS,
    FAKE_DEPLOYMENT,
    GADGET,
    WIDGET,
]


@pytest.mark.parametrize(
    ("object_key", "stage"),
    [
        (CRD, Stage.DEFINITIONS),
        (NAMESPACE, Stage.DEFINITIONS),
        (CLUSTER_ROLE, Stage.DEFINITIONS),
        (CLUSTER_BINDING, Stage.DEFINITIONS),
        (ROLE, Stage.RESOURCES),
        (DEPLOYMENT, Stage.RESOURCES),
        (WIDGET, Stage.RESOURCES),
        (key("Namespace", group="example.com"), Stage.RESOURCES),
    ],
)
def test_stage_of(object_key: ObjectKey, stage: Stage) -> None:
    assert ordering.stage_of(object_key) is stage


def test_every_definition_ranks_before_every_resource() -> None:
    definitions = [rank for rank in ordering.RANKS if rank <= ordering.DEFINITIONS]
    assert ordering.RANKS[: len(definitions)] == tuple(definitions)
    assert frozenset().union(*definitions) == ordering.DEFINITIONS
    assert ordering.RANKS[0] == {("apiextensions.k8s.io", "CustomResourceDefinition")}


def test_unknown_kinds_rank_after_every_known_one() -> None:
    assert ordering.rank_of(WIDGET) == ordering.rank_of(GADGET) == ordering.UNKNOWN_RANK
    assert ordering.rank_of(FAKE_DEPLOYMENT) == ordering.UNKNOWN_RANK
    assert all(ordering.rank_of(k) < ordering.UNKNOWN_RANK for k in IN_ORDER[:13])


def test_apply_order_sorts_by_stage_rank_then_key() -> None:
    shuffled = IN_ORDER.copy()
    random.Random(6).shuffle(shuffled)
    assert sorted(shuffled, key=ordering.apply_order) == IN_ORDER
    # Within one rank, keys sort by group, kind, namespace and name.
    second = key("ConfigMap", "b", namespace="shop")
    other = key("ConfigMap", "a", namespace="web")
    assert sorted([other, second, CONFIG], key=ordering.apply_order) == [CONFIG, second, other]


def test_ranks_groups_what_may_go_at_once() -> None:
    second_config = key("ConfigMap", "b", namespace="shop")
    items = [WIDGET, second_config, DEPLOYMENT, CRD, CONFIG, GADGET, NAMESPACE]
    groups = ordering.ranks(items, key_of=lambda k: k)
    assert groups == [[CRD], [NAMESPACE], [CONFIG, second_config], [DEPLOYMENT], [GADGET, WIDGET]]
    assert ordering.ranks([], key_of=lambda k: k) == []


def test_ranks_keep_the_items_and_read_their_keys() -> None:
    items = [("deploy", DEPLOYMENT), ("ns", NAMESPACE), ("config", CONFIG)]
    groups = ordering.ranks(items, key_of=lambda item: item[1])
    assert [[name for name, _ in group] for group in groups] == [["ns"], ["config"], ["deploy"]]
