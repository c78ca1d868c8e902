"""The walk that apply and update share, and pruning, below the ownership rules."""

from __future__ import annotations

from fleet.sim import listtypes, merging


def test_a_walk_that_changes_nothing_returns_the_base_itself() -> None:
    base = {"spec": {"containers": [{"name": "web", "image": "web:1"}], "replicas": 2}}
    walked = merging.walk(
        {"spec": {"containers": [{"name": "web", "image": "web:1"}]}},
        base,
        table=listtypes.BUILT_IN,
        strict=True,
    )
    assert walked.merged is base
    assert walked.changed == frozenset()
    assert not walked.reshaped


def test_a_merge_copies_only_the_branch_that_changes() -> None:
    base = {"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 2}}
    walked = merging.walk({"spec": {"replicas": 3}}, base, table=listtypes.BUILT_IN, strict=True)
    assert walked.merged == {"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 3}}
    assert walked.merged["metadata"] is base["metadata"]
    assert base["spec"] == {"replicas": 2}
    assert walked.changed == {("f:spec", "f:replicas")}


def test_pruning_keeps_what_it_does_not_touch() -> None:
    obj = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 2}}
    pruned = merging.prune(obj, [("f:metadata", "f:labels", "f:a")], table=listtypes.BUILT_IN)
    assert pruned == {"metadata": {"labels": {"b": "2"}}, "spec": {"replicas": 2}}
    assert pruned["spec"] is obj["spec"]


def test_the_walker_says_what_it_found() -> None:
    walker = merging._Walker(table=listtypes.BUILT_IN, strict=False)
    walker.map({"data": {"a": "1", "b": "2"}}, {"data": {"a": "1"}}, (), "")
    assert repr(walker) == "_Walker(2 paths, 1 changed)"
