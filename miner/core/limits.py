"""Staying inside the APIs' limits.

:class:`Pacer` is a token bucket at the configured rate (Reddit: 100 requests a minute per
OAuth client by default) with a small burst allowance: time the harvest spends between
requests (writing a page, praw's own header-driven delays) is credited back instead of lost,
so a long harvest runs close to the limit on average. praw's limiter follows the server's
``x-ratelimit-*`` headers on top of this, and a 429 that still happens waits for the reset
the server gives (see ``RetryPolicy``).
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class Pacer:
    """At most ``per_minute`` calls a minute on average, bursts of at most ``burst``; thread-safe."""

    def __init__(self, per_minute: float, *, burst: int = 5, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = 1.0  # start with one call allowed, not a full burst
        self._last = clock()
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until a call is allowed; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if delay > 0:
            self._sleep(delay)
        return delay
