"""A sliding-window rate limiter for the sandbox's optional request budget."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Allows `per_second` requests per second and `per_minute` per minute (either may be None)."""

    def __init__(self, per_second: float | None, per_minute: int | None, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._windows: list[tuple[int, float]] = []
        if per_second is not None and per_second > 0:
            count = max(1, math.floor(per_second))
            self._windows.append((count, count / per_second))
        if per_minute is not None and per_minute > 0:
            self._windows.append((per_minute, 60.0))
        self._hits: deque[float] = deque()

    def check(self) -> int | None:
        """Record a request and return None, or return the seconds to wait if it is over budget."""
        if not self._windows:
            return None
        now = self._clock()
        longest = max(window for _, window in self._windows)
        while self._hits and self._hits[0] <= now - longest:
            self._hits.popleft()
        waits: list[float] = []
        for limit, window in self._windows:
            recent = [hit for hit in self._hits if hit > now - window]
            if len(recent) >= limit:
                waits.append(recent[-limit] + window - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._hits.append(now)
        return None

    def reset(self) -> None:
        self._hits.clear()
