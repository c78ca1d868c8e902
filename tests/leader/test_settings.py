"""`settings.leader`: client-go's defaults and rules, and how flags and variables set it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from fleet.runtime import configuring
from fleet.structs import errors
from fleet.structs.settings import LeaderSettings, Settings


def test_the_defaults_are_client_gos() -> None:
    leader = Settings().leader
    assert leader == LeaderSettings()
    assert not leader.enabled
    assert (leader.lease_duration, leader.renew_deadline, leader.retry_period) == (15, 10.0, 2.0)
    assert (leader.namespace, leader.lease_name, leader.identity) == ("fleet-system", "fleet", "")
    assert (leader.kubeconfig, leader.context) == (None, None)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"lease_duration": 0}, "leader.lease_duration: must be at least 1, not 0"),
        (
            {"renew_deadline": 15.0},
            "leader.renew_deadline: must be above 0 and below lease_duration",
        ),
        ({"renew_deadline": 0.0}, "leader.renew_deadline: must be above 0"),
        (
            {"retry_period": 9.0},
            "leader.retry_period: must be above 0 and below renew_deadline / 1.2",
        ),
        ({"retry_period": float("nan")}, "leader.retry_period: must be above 0"),
        ({"lease_name": "Fleet"}, "leader.lease_name: must be a DNS subdomain"),
        ({"namespace": "fleet.system"}, "leader.namespace: must be a namespace name"),
        ({"context": "prod"}, "leader.context: needs leader.kubeconfig"),
    ],
)
def test_values_that_could_let_two_replicas_lead_are_refused(
    given: dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.UserError) as raised:
        LeaderSettings(**given)
    assert str(raised.value).startswith(message), str(raised.value)


@pytest.fixture
def parser() -> argparse.ArgumentParser:
    built = argparse.ArgumentParser(prog="fleet run")
    configuring.add_arguments(built, into=Settings)
    return built


def test_leader_elect_and_the_variables(parser: argparse.ArgumentParser) -> None:
    args = parser.parse_args(["--leader-elect", "true", "--leader-kubeconfig", "/etc/kube/mgmt"])
    env = {"FLEET_LEADER_IDENTITY": "fleet-7d9f-abcde", "FLEET_LEADER_NAMESPACE": "ops"}
    leader = configuring.load(args, env, into=Settings).leader
    assert leader.enabled
    assert leader.kubeconfig == Path("/etc/kube/mgmt")
    assert (leader.identity, leader.namespace) == ("fleet-7d9f-abcde", "ops")
    from_env = configuring.load(None, {"FLEET_LEADER_ENABLED": "yes"}, into=Settings).leader
    assert from_env.enabled


def test_a_bad_leader_value_names_the_flag(parser: argparse.ArgumentParser) -> None:
    args = parser.parse_args(["--leader-renew-deadline", "20"])
    with pytest.raises(errors.UserError, match=r"^--leader-renew-deadline: must be above 0 and"):
        configuring.load(args, {}, into=Settings)
