"""Label and field selectors: the apiserver's grammar, its matching rules, its errors."""

import pytest

from fleet.sim import selectors, statuses

LABELS = {"app": "web", "tier": "front", "size": "3"}

MATCHING = [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app=db", False),
    ("app!=db", True),
    ("missing!=x", True),  # != matches objects without the key
    ("app in (web, db)", True),
    ("app in (db)", False),
    ("app notin (db)", True),
    ("missing notin (db)", True),
    ("app", True),
    ("missing", False),
    ("!missing", True),
    ("!app", False),
    ("app=web,tier=front", True),
    ("app=web,tier=back", False),
    ("size>2", True),
    ("size<3", False),
    ("example.com/key", False),
    (" app = web , tier in ( front ) ", True),
    ("app=", False),
]


@pytest.mark.parametrize(("text", "expected"), MATCHING)
def test_label_selector_matches_like_the_apiserver(text: str, expected: bool) -> None:
    assert selectors.parse_labels(text).matches(LABELS) is expected


@pytest.mark.parametrize(
    "text", ["app in web", "app in (a", "=web", "app=web,", "app!", "app=-bad-", "a b", "size>x"]
)
def test_malformed_label_selectors_are_400(text: str) -> None:
    with pytest.raises(statuses.ApiError) as raised:
        selectors.parse_labels(text)
    assert raised.value.code == 400
    assert "unable to parse requirement" in raised.value.message


def test_empty_value_matches_an_empty_label() -> None:
    assert selectors.parse_labels("app=").matches({"app": ""})


FIELDS = [
    ("metadata.name=web", "ns", "web", True),
    ("metadata.name==web", "ns", "web", True),
    ("metadata.name!=web", "ns", "web", False),
    ("metadata.namespace=ns,metadata.name=web", "ns", "web", True),
    ("metadata.namespace=other", "ns", "web", False),
    ("", "ns", "web", True),
]


@pytest.mark.parametrize(("text", "namespace", "name", "expected"), FIELDS)
def test_field_selector_on_name_and_namespace(
    text: str, namespace: str, name: str, expected: bool
) -> None:
    assert selectors.parse_fields(text).matches(namespace, name) is expected


def test_unsupported_field_is_400_with_the_apiserver_message() -> None:
    with pytest.raises(statuses.ApiError) as raised:
        selectors.parse_fields("spec.replicas=3")
    assert (raised.value.code, raised.value.message) == (
        400,
        "field label not supported: spec.replicas",
    )
