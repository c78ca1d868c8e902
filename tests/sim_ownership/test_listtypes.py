"""Which lists merge item by item depends on whether the kind is built in."""

from __future__ import annotations

import pytest

from fleet.sim import listtypes


@pytest.mark.parametrize(
    ("api_version", "table"),
    [
        ("v1", listtypes.BUILT_IN),
        ("apps/v1", listtypes.BUILT_IN),
        ("apiextensions.k8s.io/v1", listtypes.BUILT_IN),
        ("example.com/v1", listtypes.METADATA),
        ("gateway.networking.k8s.io/v1", listtypes.METADATA),
    ],
)
def test_custom_resources_merge_only_metadata_lists(
    api_version: str, table: listtypes.Table
) -> None:
    assert listtypes.for_api_version(api_version) is table


def test_keys_are_listed_in_the_order_an_item_spells_them() -> None:
    service_ports = listtypes.BUILT_IN.lists[("spec", "ports")]
    assert service_ports.keys == ("port", "protocol")
    assert dict(service_ports.defaults) == {"protocol": "TCP"}
    assert listtypes.BUILT_IN.lists[("metadata", "finalizers")].is_set
