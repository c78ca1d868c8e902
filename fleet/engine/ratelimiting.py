"""Rate limiters: how long a key waits before it is retried.

The model is client-go's `workqueue` rate limiters. Each limiter answers three verbs:
`when(key)` (a failure happened: how many seconds until the retry), `forget(key)` (the
key succeeded or gave up: stop tracking it) and `num_requeues(key)`. Because they share
the verbs they compose: the default is `MaxOf(ItemExponentialFailure, Bucket)`, a
per-key exponential backoff that protects one broken cluster from a hot loop, under an
overall token bucket that protects every cluster from a storm of retries after a
shared outage.

`when()` has a side effect on purpose, as in client-go: it counts the failure (or takes
the token) that it prices. So `MaxOf` asks every limiter, not only until one says
"wait"; each limiter must see each failure.

Limiters read time from a `Clock` (the bucket) and randomness from an injected
`random.Random` (the jitter), so tests pin both.
"""

from __future__ import annotations

import random
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from fleet.structs.clock import Clock
from fleet.structs.settings import QueueSettings

K = TypeVar("K", bound=Hashable)
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)


class RateLimiter(Protocol[K_contra]):
    """The three verbs of a client-go rate limiter."""

    def when(self, key: K_contra) -> float:
        """Record a failure of ``key``; return the seconds to wait before retrying it."""
        ...

    def forget(self, key: K_contra) -> None:
        """Stop tracking ``key`` (it succeeded, or will not be retried)."""
        ...

    def num_requeues(self, key: K_contra) -> int:
        """How many failures of ``key`` are being tracked."""
        ...


class ItemExponentialFailure(Generic[K]):
    """Per key: ``base * 2**failures`` seconds, at most ``cap``, shortened by up to ``jitter``.

    The first failure waits ``base``. Jitter shortens rather than lengthens, so that
    ``cap`` really is the longest wait, and keys that reach the cap together still
    spread out instead of retrying in one instant.
    """

    def __init__(
        self,
        *,
        base: float,
        cap: float,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self._base = base
        self._cap = cap
        self._jitter = jitter
        # Jitter spreads retries; it is not security-sensitive.
        self._rng = rng or random.Random()  # noqa: S311
        self._failures: dict[K, int] = {}

    def when(self, key: K) -> float:
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        # 2.0**1024 overflows a float; long before that the cap applies anyway.
        delay = min(self._base * 2.0 ** min(failures, 1023), self._cap)
        return delay * (1.0 - self._jitter * self._rng.random())

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        return self._failures.get(key, 0)

    def __repr__(self) -> str:
        return (
            f"ItemExponentialFailure(base={self._base:g}, cap={self._cap:g}, "
            f"jitter={self._jitter:g}, failing={len(self._failures)})"
        )


class Bucket:
    """Over all keys: a token bucket of ``burst`` tokens refilled at ``qps`` per second.

    As `golang.org/x/time/rate`'s reservations: every `when()` takes a token, and when
    none is left it takes one on credit and says how long until that token exists, so
    that waiting callers line up ``1/qps`` apart. It tracks no key: `forget` does
    nothing and `num_requeues` is always 0.
    """

    def __init__(self, *, qps: float, burst: int, clock: Clock) -> None:
        self._qps = qps
        self._burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock.now()

    def when(self, key: object) -> float:
        now = self._clock.now()
        self._tokens = min(float(self._burst), self._tokens + (now - self._last) * self._qps)
        self._last = now
        self._tokens -= 1.0
        return max(0.0, -self._tokens / self._qps)

    def forget(self, key: object) -> None:
        pass

    def num_requeues(self, key: object) -> int:
        return 0

    def __repr__(self) -> str:
        return f"Bucket(qps={self._qps:g}, burst={self._burst}, tokens={self._tokens:g})"


class MaxOf(Generic[K]):
    """Several limiters at once: the longest wait, the most requeues; forget in all."""

    def __init__(self, *limiters: RateLimiter[K]) -> None:
        if not limiters:
            raise ValueError("MaxOf needs at least one limiter")
        self._limiters = limiters

    def when(self, key: K) -> float:
        # A list, not a generator: every limiter must count the failure.
        return max([limiter.when(key) for limiter in self._limiters])

    def forget(self, key: K) -> None:
        for limiter in self._limiters:
            limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return max(limiter.num_requeues(key) for limiter in self._limiters)

    def __repr__(self) -> str:
        return f"MaxOf({', '.join(map(repr, self._limiters))})"


def from_settings(
    settings: QueueSettings, *, clock: Clock, rng: random.Random | None = None
) -> MaxOf[K]:
    """The default limiter: exponential per-key backoff, maxed with the overall bucket."""
    return MaxOf(
        ItemExponentialFailure(
            base=settings.base_delay, cap=settings.max_delay, jitter=settings.jitter, rng=rng
        ),
        Bucket(qps=settings.qps, burst=settings.burst, clock=clock),
    )
