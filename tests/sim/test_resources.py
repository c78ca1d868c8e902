"""The kinds table, CRD-defined kinds, and version order."""

from fleet.sim import resources
from tests.sim.manifests import widget_crd


def test_versions_sort_the_kubernetes_way() -> None:
    versions = ["v1alpha1", "v1", "foo", "v2beta1", "v1beta2", "v2", "v1beta1", "bar"]
    assert sorted(versions, key=resources.version_priority) == [
        "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "bar", "foo",
    ]  # fmt: skip


def test_a_crd_adds_one_kind_per_served_version() -> None:
    crd = widget_crd(
        {"name": "v1", "served": True, "storage": True, "subresources": {"scale": {}}},
        {"name": "v2alpha1", "served": False, "storage": False},
    )
    (row,) = resources.from_crd(crd)
    assert (row.api_version, row.kind, row.plural, row.list_kind) == (
        "example.com/v1", "Widget", "widgets", "WidgetList",
    )  # fmt: skip
    assert row.subresources == {resources.SCALE}
    assert row.custom
    assert row.generation
    assert row.namespaced
    assert row.storage_key == "widgets.example.com"
    assert row.prefix == b'{"kind":"Widget","apiVersion":"example.com/v1",'


def test_catalogs_are_replaced_not_changed() -> None:
    rows = resources.from_crd(widget_crd())
    with_widgets = resources.BUILTIN_CATALOG.with_crd("widgets.example.com", rows)
    assert resources.BUILTIN_CATALOG.resource("example.com", "v1", "widgets") is None
    assert with_widgets.resource("example.com", "v1", "widgets") == rows[0]
    assert with_widgets.groups()["example.com"] == ["v1"]
    assert repr(with_widgets) == "Catalog(18 kinds, 1 CRDs)"
    without = with_widgets.with_crd("widgets.example.com", ())
    assert repr(without) == "Catalog(17 kinds, 0 CRDs)"


def test_a_crd_cannot_take_over_a_built_in_collection() -> None:
    crd = widget_crd()
    crd["spec"]["group"] = "apps"
    crd["spec"]["names"]["plural"] = "deployments"
    catalog = resources.BUILTIN_CATALOG.with_crd("deployments.apps", resources.from_crd(crd))
    assert catalog.resource("apps", "v1", "deployments") is resources.BUILTIN_CATALOG.resource(
        "apps", "v1", "deployments"
    )
