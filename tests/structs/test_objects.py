"""Keys and kinds parse the way the Kubernetes API spells them."""

import pytest

from fleet.structs.objects import GroupVersionKind, ObjectKey


@pytest.mark.parametrize(
    ("api_version", "kind", "expected"),
    [
        ("v1", "ConfigMap", GroupVersionKind("", "v1", "ConfigMap")),
        ("apps/v1", "Deployment", GroupVersionKind("apps", "v1", "Deployment")),
        (
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            GroupVersionKind("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        ),
    ],
)
def test_group_version_kind_round_trips_api_version(
    api_version: str, kind: str, expected: GroupVersionKind
) -> None:
    gvk = GroupVersionKind.from_api_version(api_version, kind)
    assert gvk == expected
    assert gvk.api_version == api_version


@pytest.mark.parametrize(
    ("manifest", "expected", "text"),
    [
        (
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
            },
            ObjectKey("apps", "Deployment", "shop", "web"),
            "Deployment.apps shop/web",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
            ObjectKey("", "Namespace", "", "shop"),
            "Namespace shop",
        ),
    ],
)
def test_object_key_ignores_version_and_prints_like_kubectl(
    manifest: dict[str, object], expected: ObjectKey, text: str
) -> None:
    key = ObjectKey.from_manifest(manifest)
    assert key == expected
    assert str(key) == text


def test_object_keys_sort_by_group_kind_namespace_name() -> None:
    keys = [
        ObjectKey("apps", "Deployment", "b", "x"),
        ObjectKey("", "ConfigMap", "a", "y"),
        ObjectKey("apps", "Deployment", "a", "z"),
    ]
    assert sorted(keys) == [keys[1], keys[2], keys[0]]
