"""Two replicas, one Lease: exactly one leads; a leader that cannot renew steps down
before anyone takes over; a graceful release hands over at once; a 409 is a lost race,
never a crash. Times are exact, on the fake clock; requests are real, to the simulator.

In most tests "a" starts at 0 and leads, and "b" starts at 1: with the retry period of
2 s, a renews at even seconds and b looks at odd ones, so neither races the other.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from fleet.clients import leasing
from fleet.clients.leasing import Standing
from fleet.sim import faults, serving
from fleet.structs import errors
from tests.leader import support
from tests.leader.support import CLUSTER, LEASE, Electors, step, until
from tests.support import simulator
from tests.support.clock import FakeClock

FAILING = faults.Faults(error_rate=1.0, error_codes=(503,))


async def leader_and_follower(
    electors: Electors, clock: FakeClock
) -> tuple[leasing.LeaderElector, leasing.LeaderElector]:
    """a leads from 0, b follows from 1; both have acted up to 5 s (b last saw a's
    renewal of 4 s at 5 s)."""
    a = await electors("a")
    assert a.leading, a
    await step(clock, [a], 1)
    b = await electors("b")
    await until(clock, 5, [a, b])
    assert (a.standing, b.standing, b.holder) == (Standing.LEADING, Standing.CANDIDATE, "a")
    return a, b


async def test_of_two_candidates_exactly_one_leads(
    electors: Electors, clock: FakeClock, api: simulator.ApiSession
) -> None:
    a, b = await electors.prepare("a"), await electors.prepare("b")
    await electors.start(a)
    await electors.start(b)  # both look for the Lease at once; each may find none
    await step(clock, [a, b], 0)
    (leader,) = [e for e in (a, b) if e.leading]
    (follower,) = [e for e in (a, b) if not e.leading]
    await leader.acquired()
    for _ in range(40):  # well past lease_duration: the leader renews, nobody takes over
        await step(clock, [a, b], 1)
        assert leader.leading, leader
        assert follower.standing is Standing.CANDIDATE, follower
        assert follower.holder == leader.identity
    spec = (await support.lease(api))["spec"]
    assert spec == {
        "holderIdentity": leader.identity,
        "leaseDurationSeconds": 15,
        "leaseTransitions": 0,
        "acquireTime": "2030-01-01T00:00:00.000000Z",
        "renewTime": leasing.micro_time(clock.utcnow()),
    }
    assert electors.sample(leader.identity, "fleet_leader") == 1
    assert electors.sample(follower.identity, "fleet_leader") == 0
    acquired = "fleet_leader_transitions_total"
    assert electors.sample(leader.identity, acquired, change="acquired") == 1
    assert electors.sample(follower.identity, acquired, change="acquired") == 0
    assert repr(leader).startswith(
        f"LeaderElector(fleet-system/fleet as {leader.identity}, leading, held by"
        f" {leader.identity}, "
    )


async def test_a_leader_that_cannot_renew_stops_before_the_other_takes_over(
    electors: Electors, clock: FakeClock, sim: serving.Simulator, api: simulator.ApiSession
) -> None:
    a, b = await leader_and_follower(electors, clock)
    lost = asyncio.create_task(a.lost())
    sim.set_faults(FAILING, CLUSTER)  # a's renewals fail from 6 s on; its last was at 4 s
    await until(clock, 13, [a, b])
    assert a.leading
    assert not lost.done()
    await step(clock, [a, b], 1)  # 4 s + renew_deadline
    assert a.standing is Standing.LOST
    await lost
    assert electors.sample("a", "fleet_leader") == 0
    assert electors.sample("a", "fleet_leader_transitions_total", change="lost") == 1
    sim.set_faults(faults.NONE, CLUSTER)
    # b last saw the Lease change at 5 s, so it may take over from 20 s: at 21 s.
    await until(clock, 20, [a, b])
    assert b.standing is Standing.CANDIDATE
    assert (await support.lease(api))["spec"]["holderIdentity"] == "a"
    await step(clock, [a, b], 1)
    assert b.leading, b
    spec = (await support.lease(api))["spec"]
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)
    assert spec["acquireTime"] == leasing.micro_time(clock.utcnow())


async def test_the_deadline_ends_leadership_even_while_a_renewal_hangs(
    electors: Electors, clock: FakeClock, sim: serving.Simulator
) -> None:
    a = await electors("a")
    sim.set_faults(faults.Faults(latency=5.0), CLUSTER)  # real seconds: far past this test
    await clock.advance(2)
    assert a.attempting  # the renewal of 2 s waits for its answer
    await clock.advance(7.9)
    assert a.leading
    await clock.advance(0.1)  # acquired at 0 s, so the deadline is 10 s
    assert (a.standing, a.attempting) == (Standing.LOST, False)  # the renewal was cut off
    sim.set_faults(faults.NONE, CLUSTER)


async def test_a_graceful_release_hands_over_at_once(
    electors: Electors, clock: FakeClock, api: simulator.ApiSession
) -> None:
    a, b = await leader_and_follower(electors, clock)
    await electors.stop(a)
    assert a.standing is Standing.STOPPED
    spec = (await support.lease(api))["spec"]
    assert (spec["holderIdentity"], spec["leaseDurationSeconds"]) == ("", 1)
    assert electors.sample("a", "fleet_leader_transitions_total", change="released") == 1
    assert electors.sample("a", "fleet_leader") == 0
    await step(clock, [b], 2)  # b's next look, at 7 s, not lease_duration later
    assert b.leading, b
    spec = (await support.lease(api))["spec"]
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("b", 1)


async def test_two_candidates_racing_for_a_free_lease_one_gets_409_and_waits(
    electors: Electors, clock: FakeClock, sim: serving.Simulator, api: simulator.ApiSession
) -> None:
    released = {"holderIdentity": "", "leaseDurationSeconds": 1, "leaseTransitions": 3}
    body = {"metadata": {"name": "fleet"}, "spec": released}
    assert (await api.request("POST", LEASE.rsplit("/", 1)[0], body=body)).status == 201
    # Both read before either writes: each request waits 50 ms before the server acts.
    sim.set_faults(faults.Faults(latency=0.05), CLUSTER)
    a, b = await electors.prepare("a"), await electors.prepare("b")
    await electors.start(a)
    await electors.start(b)
    await step(clock, [a, b], 0)
    (winner,) = [e for e in (a, b) if e.leading]
    (loser,) = [e for e in (a, b) if not e.leading]
    assert (loser.standing, loser.conflicts, loser.holder) == (
        Standing.CANDIDATE, 1, winner.identity)  # fmt: skip
    assert winner.conflicts == 0
    assert sim.counters(CLUSTER)["update"] == 2
    sim.set_faults(faults.NONE, CLUSTER)
    attempts = loser.attempts
    await until(clock, 10, [a, b])
    assert winner.leading
    assert not loser.leading
    assert loser.attempts > attempts  # it goes on trying, as a candidate
    assert (await support.lease(api))["spec"]["leaseTransitions"] == 4


async def put_lease(api: simulator.ApiSession, change: dict[str, Any]) -> None:
    """Another client's update of the Lease, with its current resourceVersion."""
    current = await support.lease(api)
    metadata = {**current["metadata"], **change.get("metadata", {})}
    spec = {**current["spec"], **change.get("spec", {})}
    response = await api.request("PUT", LEASE, body={**current, "metadata": metadata, "spec": spec})
    assert response.status == 200, response


async def test_a_leader_whose_lease_was_taken_stops_at_its_next_renewal(
    electors: Electors,
    clock: FakeClock,
    api: simulator.ApiSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = await electors("a")
    await step(clock, [a], 1)
    await put_lease(api, {"spec": {"holderIdentity": "intruder"}})
    with caplog.at_level(logging.INFO, logger="fleet.clients"):
        await step(clock, [a], 1)  # the renewal of 2 s meets a 409, reads, sees the intruder
    assert a.standing is Standing.LOST
    assert a.conflicts == 1
    assert "a stopped leading (Lease fleet-system/fleet): intruder holds it now" in caplog.text


async def test_a_leader_renews_over_another_clients_change_to_the_lease(
    electors: Electors, clock: FakeClock, api: simulator.ApiSession
) -> None:
    a = await electors("a")
    await step(clock, [a], 1)
    await put_lease(api, {"metadata": {"annotations": {"example.com/note": "hello"}}})
    await step(clock, [a], 1)
    assert (a.standing, a.conflicts) == (Standing.LEADING, 1)
    stored = await support.lease(api)
    assert stored["metadata"]["annotations"] == {"example.com/note": "hello"}
    assert stored["spec"]["renewTime"] == leasing.micro_time(clock.utcnow())


async def test_a_candidate_that_stops_before_leading_says_so(
    electors: Electors, clock: FakeClock
) -> None:
    a, b = await leader_and_follower(electors, clock)
    waiting = asyncio.create_task(b.acquired())
    await electors.stop(b)
    with pytest.raises(errors.FleetError, match="ended before this process led"):
        await waiting
    await b.lost()  # returns: it will not lead in this term
    assert electors.sample("b", "fleet_leader_transitions_total", change="released") == 0
    assert a.leading


async def test_a_lease_without_holder_fields_is_free_to_take(
    electors: Electors, clock: FakeClock, api: simulator.ApiSession
) -> None:
    body = {"metadata": {"name": "fleet"}, "spec": {}}
    assert (await api.request("POST", LEASE.rsplit("/", 1)[0], body=body)).status == 201
    await clock.advance(1.5)
    a = await electors("a")
    assert a.leading
    spec = (await support.lease(api))["spec"]
    assert spec["acquireTime"] == spec["renewTime"] == "2030-01-01T00:00:01.500000Z"
    assert spec["leaseTransitions"] == 1
