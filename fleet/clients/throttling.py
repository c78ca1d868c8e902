"""How fast fleet may talk to one cluster: a token bucket, and backoff after failures.

Both take their time from a `Clock`, so tests drive them with a fake clock and check
exact waits without sleeping. They do no I/O and own no task: the request path and the
informers call them inline, which keeps their cost per cluster to a few numbers.

The bucket is client-go's (``flowcontrol.NewTokenBucketRateLimiter(qps, burst)``), with
reservations: a caller that finds the bucket empty takes a token anyway, driving the
count below zero, and sleeps until its token would have arrived. Waiters are thereby
served in arrival order without a queue, and a burst of callers spreads out at exactly
``qps``.
"""

from __future__ import annotations

import asyncio
import random

from fleet.structs.clock import Clock
from fleet.structs.settings import ClientSettings


class TokenBucket:
    """``burst`` requests at once, then ``qps`` per second; `acquire()` waits for a token."""

    def __init__(self, *, qps: float, burst: int, clock: Clock) -> None:
        self._qps = qps
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.now()

    def _refill(self) -> None:
        now = self._clock.now()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._qps)
        self._last = now

    async def acquire(self) -> float:
        """Take one token, waiting for it if there is none; return the seconds waited."""
        self._refill()
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        wait = -self._tokens / self._qps
        try:
            await self._clock.sleep(wait)
        except asyncio.CancelledError:
            self._tokens += 1  # the reservation was not used: give it back
            raise
        return wait

    def __repr__(self) -> str:
        self._refill()
        return f"TokenBucket(qps={self._qps:g}, burst={self._burst:g}, tokens={self._tokens:.1f})"


class Backoff:
    """Exponential waits from ``initial`` to ``maximum``, each shortened at random by up to
    ``jitter`` (never lengthened, so ``maximum`` is a real bound); `reset()` after success."""

    def __init__(
        self, *, initial: float, maximum: float, jitter: float, rng: random.Random
    ) -> None:
        self._initial = initial
        self._maximum = maximum
        self._jitter = jitter
        self._rng = rng
        self.failures = 0

    def next(self) -> float:
        """The wait after one more failure."""
        delay = min(self._maximum, self._initial * 2.0 ** min(self.failures, 64))
        self.failures += 1
        return delay * (1.0 - self._jitter * self._rng.random())

    def reset(self) -> None:
        self.failures = 0

    def __repr__(self) -> str:
        return f"Backoff({self._initial:g}s..{self._maximum:g}s, failures={self.failures})"


RETRY_JITTER = 0.5
"""How much a retry of one request is shortened at random, at most."""


def reconnecting(settings: ClientSettings, rng: random.Random) -> Backoff:
    """The backoff between attempts to reach a cluster (watches, the start-up probe)."""
    return Backoff(
        initial=settings.reconnect_initial,
        maximum=settings.reconnect_max,
        jitter=settings.reconnect_jitter,
        rng=rng,
    )


def retrying(settings: ClientSettings, rng: random.Random) -> Backoff:
    """The backoff between retries of one request."""
    return Backoff(
        initial=settings.retry_initial, maximum=settings.retry_max, jitter=RETRY_JITTER, rng=rng
    )
