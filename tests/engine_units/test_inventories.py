"""Inventories: the ConfigMap round trip, unreadable ones ignored, reading a cache, changes."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

from fleet.engine import inventories
from fleet.engine.inventories import Entry, Inventory
from fleet.planning.specs import Drift
from fleet.structs.objects import BundleName, GroupVersionKind, ObjectKey
from tests.engine_units.conftest import FakeCache

NAMESPACE = "fleet-system"
DEPLOYMENT = Entry(ObjectKey("apps", "Deployment", "shop", "web"), "apps/v1")
CONFIG = Entry(ObjectKey("", "ConfigMap", "shop", "settings"), "v1")
WIDGET = Entry(ObjectKey("example.com", "Widget", "", "gizmo"), "example.com/v1beta1")
INVENTORY = Inventory(
    BundleName("shop"), frozenset({DEPLOYMENT, CONFIG, WIDGET}), "sha256:" + "a" * 64
)


def test_a_manifest_parses_back_to_its_inventory() -> None:
    manifest = inventories.manifest(INVENTORY, namespace=NAMESPACE)
    assert inventories.parse(manifest) == INVENTORY
    assert inventories.parse(json.loads(json.dumps(manifest))) == INVENTORY


def test_the_manifest_is_a_labelled_configmap_with_sorted_rows() -> None:
    manifest = inventories.manifest(INVENTORY, namespace=NAMESPACE)
    assert manifest["metadata"] == {
        "name": "fleet-inventory-shop",
        "namespace": NAMESPACE,
        "labels": {
            "app.kubernetes.io/managed-by": "fleet",
            "fleet.dev/bundle": "shop",
            "fleet.dev/inventory": "true",
        },
    }
    assert manifest["data"] == {
        "bundle": "shop",
        "digest": INVENTORY.digest,
        "objects": '[["apps/v1","Deployment","shop","web"],'
        '["example.com/v1beta1","Widget","","gizmo"],["v1","ConfigMap","shop","settings"]]',
    }
    assert ObjectKey.from_manifest(manifest) == inventories.key_of("shop", namespace=NAMESPACE)


def test_an_empty_inventory_round_trips() -> None:
    empty = Inventory(BundleName("shop"), frozenset(), "")
    assert inventories.parse(inventories.manifest(empty, namespace=NAMESPACE)) == empty


def _edited(**data: Any) -> dict[str, Any]:
    manifest = copy.deepcopy(inventories.manifest(INVENTORY, namespace=NAMESPACE))
    manifest["data"].update(data)
    return manifest


@pytest.mark.parametrize(
    "manifest",
    [
        pytest.param(_edited(objects="[[not json"), id="not JSON"),
        pytest.param(_edited(objects='{"a": 1}'), id="a map"),
        pytest.param(_edited(objects="3"), id="a number"),
        pytest.param(_edited(objects='[["v1", "ConfigMap", "shop"]]'), id="a short row"),
        pytest.param(_edited(objects='[["v1", "ConfigMap", "shop", "a", "b"]]'), id="a long row"),
        pytest.param(
            _edited(objects='[[1, "ConfigMap", "shop", "a"]]'), id="a number for a version"
        ),
        pytest.param(
            _edited(objects='[["v1", "ConfigMap", null, "a"]]'), id="null for a namespace"
        ),
        pytest.param(_edited(objects='["abcd"]'), id="a string for a row"),
        pytest.param(_edited(objects='[{"a": 1, "b": 2, "c": 3, "d": 4}]'), id="a map for a row"),
        pytest.param({**_edited(), "data": None}, id="no data"),
        pytest.param({**_edited(), "data": {"digest": "x"}}, id="no objects"),
        pytest.param({**_edited(), "metadata": {"name": "settings"}}, id="another name"),
        pytest.param({**_edited(), "metadata": None}, id="no metadata"),
    ],
)
def test_an_unreadable_inventory_is_ignored_and_logged(
    manifest: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=inventories.__name__):
        assert inventories.parse(manifest) is None
    assert len(caplog.records) == 1
    assert "is not a readable fleet inventory" in caplog.records[0].getMessage()


def test_the_log_names_the_configmap(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=inventories.__name__):
        inventories.parse(_edited(objects="[[not json"))
    assert caplog.records[0].getMessage() == (
        "ConfigMap fleet-inventory-shop is not a readable fleet inventory; ignoring it"
    )


def test_read_all_finds_the_inventories_in_their_namespace(
    cache: FakeCache, caplog: pytest.LogCaptureFixture
) -> None:
    other = Inventory(BundleName("web"), frozenset({CONFIG}), "sha256:b")
    cache.put(inventories.manifest(INVENTORY, namespace=NAMESPACE))
    cache.put(inventories.manifest(other, namespace=NAMESPACE))
    elsewhere = inventories.manifest(
        Inventory(BundleName("stray"), frozenset(), ""), namespace="shop"
    )
    cache.put(elsewhere)
    unlabelled = inventories.manifest(
        Inventory(BundleName("plain"), frozenset(), ""), namespace=NAMESPACE
    )
    del unlabelled["metadata"]["labels"][inventories.INVENTORY_LABEL]
    cache.put(unlabelled)
    broken = inventories.manifest(
        Inventory(BundleName("broken"), frozenset(), ""), namespace=NAMESPACE
    )
    broken["data"]["objects"] = "[[not json"
    cache.put(broken)
    cache.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "fleet-inventory-secret",
                "namespace": NAMESPACE,
                "labels": {inventories.INVENTORY_LABEL: "true"},
            },
            "data": {},
        }
    )
    cache.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "bare", "namespace": NAMESPACE},
        }
    )
    with caplog.at_level(logging.WARNING, logger=inventories.__name__):
        found = inventories.read_all(cache, namespace=NAMESPACE)
    assert found == {"shop": INVENTORY, "web": other}
    assert [r.getMessage() for r in caplog.records] == [
        "ConfigMap fleet-inventory-broken is not a readable fleet inventory; ignoring it"
    ]
    assert inventories.read_all(FakeCache(), namespace=NAMESPACE) == {}


def test_changed() -> None:
    same = Inventory(BundleName("shop"), frozenset({WIDGET, CONFIG, DEPLOYMENT}), INVENTORY.digest)
    correct = Drift.CORRECT
    assert inventories.changed(None, INVENTORY, drift=correct)
    assert not inventories.changed(same, INVENTORY, drift=correct)
    assert inventories.changed(
        Inventory(BundleName("shop"), frozenset({CONFIG}), INVENTORY.digest), INVENTORY,
        drift=correct,
    )  # fmt: skip
    moved = Entry(DEPLOYMENT.key, "apps/v2")
    assert inventories.changed(
        Inventory(BundleName("shop"), frozenset({moved, CONFIG, WIDGET}), INVENTORY.digest),
        INVENTORY,
        drift=correct,
    )


def test_a_new_digest_is_written_for_an_observe_only_bundle_only() -> None:
    """Only an observe-only bundle reads the digest back; for the others a commit that
    changes values must not cost an inventory write per bundle."""
    older = Inventory(BundleName("shop"), INVENTORY.entries, "sha256:older")
    assert inventories.changed(older, INVENTORY, drift=Drift.OBSERVE)
    assert not inventories.changed(older, INVENTORY, drift=Drift.CORRECT)


def test_kinds_are_what_must_be_watched_to_prune() -> None:
    other = Inventory(BundleName("web"), frozenset({Entry(CONFIG.key, "v1")}), "")
    assert inventories.kinds([INVENTORY, other]) == {
        GroupVersionKind("apps", "v1", "Deployment"),
        GroupVersionKind("", "v1", "ConfigMap"),
        GroupVersionKind("example.com", "v1beta1", "Widget"),
    }
    assert inventories.kinds([]) == set()


def test_entries_of_manifests() -> None:
    manifest = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
    assert inventories.entries_of({DEPLOYMENT.key: manifest}) == frozenset({DEPLOYMENT})


def test_the_namespace_is_fleets_but_no_bundles() -> None:
    assert inventories.namespace_manifest(NAMESPACE) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": NAMESPACE, "labels": {"app.kubernetes.io/managed-by": "fleet"}},
    }


def test_an_inventory_shows_its_bundle_size_and_digest() -> None:
    assert repr(INVENTORY) == "Inventory(shop, 3 objects, sha256:aaaaaaaaaaaa)"
    assert DEPLOYMENT.gvk == GroupVersionKind("apps", "v1", "Deployment")
    assert INVENTORY.keys == {DEPLOYMENT.key, CONFIG.key, WIDGET.key}


def test_fleets_own_writes_count_before_the_cache_has_them() -> None:
    """A sync right after another reads the inventories that one wrote (through the live
    view), so it does not write them again; one it deleted is gone."""
    cache = FakeCache()
    stale = Inventory(BundleName("web"), frozenset({CONFIG}), "sha256:old")
    cache.put(inventories.manifest(stale, namespace=NAMESPACE))
    written = {
        inventories.key_of("shop", namespace=NAMESPACE): inventories.manifest(
            INVENTORY, namespace=NAMESPACE
        ),
    }
    found = inventories.read_all(
        cache, namespace=NAMESPACE, live=written.get, bundles=[BundleName("shop")]
    )
    assert found == {"shop": INVENTORY}
