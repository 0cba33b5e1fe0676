"""Client-side rate limiting shared by every call: N requests per second and M per minute.

`RateLimiter` is the in-process limiter. Each limit is a token bucket; a caller reserves a token
in every bucket at once and then sleeps outside any lock until its reservation is due, so
concurrent callers queue in arrival order and the configured rate holds however many tasks call
at once. Clock and sleep are injectable so tests never wait.

`SharedRateLimiter` keeps the budget in the state store, so every process and replica using one
partner token shares it (Altegio counts per partner token). Inside the global budget each caller
(one Altegio user) gets a fair share: the per-second and per-minute rates divided by the number of
callers active in the last few seconds, in a bucket of its own. One caller alone gets the whole
budget; with two busy callers each gets 45% (the shares keep 10% headroom so the global bucket is
never the contended stage), so a caller flooding the server cannot make another wait behind it. When the store is unreachable, reads fall back to the in-process limiter
and writes fail closed (`StateStoreUnreachable`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

import anyio

from altegio_mcp.errors import StateStoreUnreachable
from altegio_mcp.state import Bucket, StateStore, StateUnavailable

log = logging.getLogger(__name__)

ACTIVE_WINDOW = 5.0
"""A caller counts as active for this many seconds after its last request."""
REFRESH = 1.0
"""How often (seconds) a process re-counts the active callers and re-marks its own as active."""
MIN_WAIT = 0.005
FAIR_HEADROOM = 0.9
"""With several active callers, their shares add up to this fraction of the global rate: a fully
loaded global bucket would be won by whichever caller has the most requests waiting."""


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

    async def acquire(self, caller: str = "", *, write: bool = False) -> None:
        """Wait for a slot. `caller` and `write` matter only to the shared limiter."""
        delay = self.reserve()
        if delay > 0:
            self.waited += delay
            await self._sleep(delay)


def fingerprint(secret: str) -> str:
    """A short, non-reversible name for a token, usable in a store key."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class SharedRateLimiter:
    """The global budget per partner token and each caller's fair share of it, in the state store."""

    def __init__(
        self,
        store: StateStore,
        partner: str,
        per_second: float,
        per_minute: float,
        *,
        local: RateLimiter,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.per_second = per_second
        self.per_minute = per_minute
        self.local = local
        self._prefix = f"rl:{partner}:"
        self._sleep = sleep
        self._clock = clock
        self._active = 1
        self._counted_at = -REFRESH
        self._marked: dict[str, float] = {}
        self._degraded = False
        self._lines: dict[str, anyio.Lock] = {}
        self.waited = 0.0

    def _line(self, caller: str) -> anyio.Lock:
        """One queue per caller in this process: only its head asks the store, so a caller with
        many waiting requests does not flood the store (and the others' requests) with polls."""
        line = self._lines.get(caller)
        if line is None:
            if len(self._lines) > 1024:
                self._lines = {
                    k: v for k, v in self._lines.items() if v.locked() or v.statistics().tasks_waiting
                }
            line = self._lines[caller] = anyio.Lock()
        return line

    async def acquire(self, caller: str = "", *, write: bool = False) -> None:
        caller = caller or "anonymous"
        try:
            async with self._line(caller):
                await self._acquire_shared(caller)
        except StateUnavailable as exc:
            if write:
                raise StateStoreUnreachable(str(exc)) from exc
            if not self._degraded:
                log.warning("state store unreachable (%s): reads use the in-process rate limit", exc)
                self._degraded = True
            await self.local.acquire()
            return
        if self._degraded:
            log.warning("state store reachable again: the shared rate limit is back")
            self._degraded = False

    async def active_callers(self, caller: str) -> int:
        """Callers active in the last `ACTIVE_WINDOW` seconds (this one included), re-counted at
        most once per `REFRESH` seconds per process."""
        now = self._clock()
        last = self._marked.get(caller)
        if last is None or now - last >= REFRESH:
            await self.store.put(f"{self._prefix}active:{caller}", b"1", ttl=ACTIVE_WINDOW)
            self._marked[caller] = now
            if len(self._marked) > 1024:
                self._marked = {k: v for k, v in self._marked.items() if now - v < ACTIVE_WINDOW}
        # A caller new to this process changes the count at once, not a refresh later.
        if last is None or now - self._counted_at >= REFRESH:
            self._active = max(1, len(await self.store.scan(f"{self._prefix}active:")))
            self._counted_at = now
        return self._active

    async def _acquire_shared(self, caller: str) -> None:
        active = await self.active_callers(caller)
        share = 1.0 if active == 1 else FAIR_HEADROOM / active
        per_second, per_minute = self.per_second * share, self.per_minute * share
        buckets = [
            Bucket(f"{self._prefix}c:{caller}:s", per_second, max(per_second, 1.0)),
            Bucket(f"{self._prefix}c:{caller}:m", per_minute / 60, max(per_minute, 1.0)),
            Bucket(f"{self._prefix}s", self.per_second, max(self.per_second, 1.0)),
            Bucket(f"{self._prefix}m", self.per_minute / 60, max(self.per_minute, 1.0)),
        ]
        while True:
            wait = await self.store.acquire_all(buckets)
            if wait <= 0:
                return
            wait = max(wait, MIN_WAIT)
            self.waited += wait
            await self._sleep(wait)
