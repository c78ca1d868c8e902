"""Rate limiters: the exponential sequence and its cap, jitter, the bucket, and MaxOf."""

from __future__ import annotations

import random

import pytest

from fleet.engine import ratelimiting
from fleet.structs.settings import QueueSettings
from tests.support.clock import FakeClock


class FixedRandom(random.Random):
    """Always draws the same number, so that a jittered delay is exact."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_exponential_failure_doubles_from_base_up_to_cap() -> None:
    limiter: ratelimiting.ItemExponentialFailure[str] = ratelimiting.ItemExponentialFailure(
        base=0.005, cap=1.0
    )
    delays = [limiter.when("a") for _ in range(10)]
    assert delays == [0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.0, 1.0]
    assert limiter.num_requeues("a") == 10


def test_exponential_failure_counts_each_key_alone_and_forget_resets_it() -> None:
    limiter: ratelimiting.ItemExponentialFailure[str] = ratelimiting.ItemExponentialFailure(
        base=1.0, cap=100.0
    )
    assert [limiter.when("a"), limiter.when("a"), limiter.when("b")] == [1.0, 2.0, 1.0]
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.num_requeues("b") == 1
    assert limiter.when("a") == 1.0


def test_exponential_failure_stays_at_cap_however_long_a_key_fails() -> None:
    limiter: ratelimiting.ItemExponentialFailure[str] = ratelimiting.ItemExponentialFailure(
        base=0.005, cap=300.0
    )
    for _ in range(2000):
        delay = limiter.when("a")
    assert delay == 300.0


@pytest.mark.parametrize(
    ("draw", "first", "capped"),
    [
        (0.0, 1.0, 8.0),  # the unjittered delay is the longest possible
        (0.5, 0.95, 7.6),  # jitter 0.1 at a middle draw shortens by 5 %
        (0.999, 0.9001, 7.2008),  # never shorter than (1 - jitter) of the delay
    ],
)
def test_jitter_shortens_a_delay_within_its_fraction(
    draw: float, first: float, capped: float
) -> None:
    limiter: ratelimiting.ItemExponentialFailure[str] = ratelimiting.ItemExponentialFailure(
        base=1.0, cap=8.0, jitter=0.1, rng=FixedRandom(draw)
    )
    delays = [limiter.when("a") for _ in range(5)]
    assert delays[0] == pytest.approx(first)
    assert delays[-1] == pytest.approx(capped)


def test_jittered_delays_of_keys_that_fail_together_differ() -> None:
    limiter: ratelimiting.ItemExponentialFailure[str] = ratelimiting.ItemExponentialFailure(
        base=300.0, cap=300.0, jitter=0.1, rng=random.Random(7)
    )
    delays = {limiter.when(f"cluster-{n}") for n in range(20)}
    assert len(delays) == 20
    assert all(270.0 <= delay <= 300.0 for delay in delays)


async def test_bucket_allows_a_burst_then_spaces_at_its_rate(clock: FakeClock) -> None:
    bucket = ratelimiting.Bucket(qps=2.0, burst=3, clock=clock)
    assert [bucket.when(n) for n in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]
    await clock.advance(1)  # two tokens come back, both already promised
    assert bucket.when("x") == 0.5
    await clock.advance(60)  # refills only up to the burst
    assert [bucket.when(n) for n in range(4)] == [0.0, 0.0, 0.0, 0.5]


def test_bucket_tracks_no_key(clock: FakeClock) -> None:
    bucket = ratelimiting.Bucket(qps=1.0, burst=1, clock=clock)
    bucket.when("a")
    bucket.forget("a")
    assert bucket.num_requeues("a") == 0
    assert bucket.when("a") == 1.0  # forgetting a key gives no token back


def test_max_of_takes_the_longest_wait_and_every_limiter_counts_each_failure(
    clock: FakeClock,
) -> None:
    exponential: ratelimiting.ItemExponentialFailure[str] = ratelimiting.ItemExponentialFailure(
        base=0.25, cap=10.0
    )
    bucket = ratelimiting.Bucket(qps=1.0, burst=1, clock=clock)
    limiter = ratelimiting.MaxOf(exponential, bucket)
    assert limiter.when("a") == 0.25  # the bucket's one token: exponential is longer
    assert limiter.when("a") == 1.0  # bucket empty: its wait is longer
    assert limiter.when("a") == 2.0  # bucket owes 2 s, exponential says 1 s
    assert exponential.num_requeues("a") == 3
    assert limiter.num_requeues("a") == 3
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_max_of_needs_a_limiter() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ratelimiting.MaxOf[str]()


def test_from_settings_builds_the_default_pair_and_reprs_say_their_state(
    clock: FakeClock,
) -> None:
    limiter: ratelimiting.MaxOf[str] = ratelimiting.from_settings(QueueSettings(), clock=clock)
    assert repr(limiter) == (
        "MaxOf(ItemExponentialFailure(base=0.005, cap=300, jitter=0.1, failing=0), "
        "Bucket(qps=10, burst=100, tokens=100))"
    )
    limiter.when("a")
    assert repr(limiter) == (
        "MaxOf(ItemExponentialFailure(base=0.005, cap=300, jitter=0.1, failing=1), "
        "Bucket(qps=10, burst=100, tokens=99))"
    )
