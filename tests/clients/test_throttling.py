"""The token bucket and the backoff, on a fake clock: exact waits, no sleeping."""

from __future__ import annotations

import asyncio
import random

import pytest

from fleet.clients.throttling import Backoff, TokenBucket
from tests.support.clock import FakeClock


async def test_the_bucket_allows_a_burst_then_qps() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=2.0, burst=3, clock=clock)
    done: list[float] = []

    async def take() -> None:
        await bucket.acquire()
        done.append(clock.now())

    tasks = [asyncio.create_task(take()) for _ in range(7)]
    await clock.advance(0)
    assert done == [0, 0, 0]
    await clock.advance(2.0)
    assert done == [0, 0, 0, 0.5, 1.0, 1.5, 2.0]
    await asyncio.gather(*tasks)


async def test_the_bucket_refills_up_to_the_burst_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=1.0, burst=2, clock=clock)
    await clock.advance(100)
    assert [await bucket.acquire() for _ in range(2)] == [0.0, 0.0]
    waiting = asyncio.create_task(bucket.acquire())
    await clock.advance(0.25)
    assert not waiting.done()
    await clock.advance(0.75)
    assert waiting.result() == 1.0


async def test_a_cancelled_wait_gives_its_token_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps=1.0, burst=1, clock=clock)
    await bucket.acquire()
    waiting = asyncio.create_task(bucket.acquire())
    await clock.advance(0.5)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    # The next caller waits until 1.0, when the first token is back; had the cancelled
    # reservation kept its token, it would wait until 2.0.
    after = asyncio.create_task(bucket.acquire())
    await clock.advance(0.5)
    assert after.done()
    assert after.result() == 0.5
    assert repr(bucket) == "TokenBucket(qps=1, burst=1, tokens=0.0)"


@pytest.mark.parametrize(
    ("jitter", "expected"),
    [
        (0.0, [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]),
        (0.5, [0.6, 1.2, 2.4, 4.8, 9.6, 19.2, 22.5, 22.5]),  # random() is always 0.5 here
    ],
)
def test_backoff_doubles_to_its_bound_and_starts_over(jitter: float, expected: list[float]) -> None:
    rng = random.Random()
    rng.random = lambda: 0.5  # type: ignore[method-assign]
    backoff = Backoff(initial=0.8, maximum=30.0, jitter=jitter, rng=rng)
    assert [round(backoff.next(), 6) for _ in expected] == expected
    assert repr(backoff) == "Backoff(0.8s..30s, failures=8)"
    backoff.reset()
    assert round(backoff.next(), 6) == expected[0]


def test_jitter_only_ever_shortens_a_wait() -> None:
    backoff = Backoff(initial=1.0, maximum=4.0, jitter=0.5, rng=random.Random(7))
    waits = [backoff.next() for _ in range(200)]
    assert all(0.5 <= wait <= 4.0 for wait in waits)
    assert all(2.0 <= wait <= 4.0 for wait in waits[3:])
