"""Client-side rate limiting shared by every call: N requests per second and M per minute.

Each limit is a token bucket. A caller reserves a token in every bucket at once and then sleeps
outside any lock until its reservation is due, so concurrent callers queue fairly in arrival
order and the configured rate holds however many tasks call at once. Clock and sleep are
injectable so tests never wait.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio


class TokenBucket:
    """`rate` tokens per second, holding at most `capacity`; a reservation may drive it negative."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def reserve(self, now: float) -> float:
        """Take one token; return how many seconds from `now` until it is really available."""
        elapsed = max(now - self.updated, 0.0)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RateLimiter:
    """Every bucket must allow a request before it goes out."""

    def __init__(
        self,
        per_second: float,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        now = clock()
        self._buckets = (
            TokenBucket(per_second, max(per_second, 1.0), now),
            TokenBucket(per_minute / 60.0, max(per_minute, 1.0), now),
        )
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0

    def reserve(self) -> float:
        """Reserve a slot now; return the wait in seconds (synchronous, so it cannot interleave)."""
        now = self._clock()
        return max(bucket.reserve(now) for bucket in self._buckets)

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            self.waited += delay
            await self._sleep(delay)
