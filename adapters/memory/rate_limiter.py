"""Sliding-window-log rate limiter in process memory (one API replica, tests)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from domain.ports import RateDecision

_SWEEP_EVERY = 1024


class InMemoryRateLimiter:
    """Keeps the times of the allowed hits per key; denied hits are not counted, so a
    client that keeps knocking gets in as soon as the window has room again."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._calls = 0

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateDecision:
        now = self._clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY == 0:
            self._sweep(now)
        times = self._hits[key][1] if key in self._hits else deque()
        self._hits[key] = (window_seconds, times)
        while times and times[0] <= now - window_seconds:
            times.popleft()
        if len(times) < limit:
            times.append(now)
            return RateDecision(allowed=True)
        wait = times[-limit] + window_seconds - now if limit > 0 else window_seconds
        return RateDecision(allowed=False, retry_after=max(1, math.ceil(wait)))

    async def undo(self, key: str) -> None:
        if key in self._hits and self._hits[key][1]:
            self._hits[key][1].pop()

    def _sweep(self, now: float) -> None:
        """Forget keys whose every hit has left its window, so memory follows live keys."""
        stale = [key for key, (window, times) in self._hits.items()
                 if not times or times[-1] <= now - window]
        for key in stale:
            del self._hits[key]
