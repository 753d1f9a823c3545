"""Counters and limits behind one small interface (in process now; Redis later).

Login throttling: each failure on a key (an account or an address) is counted; past the free
attempts, every further attempt must wait a delay that doubles with each failure. An attempt made
before the delay is over is refused (HTTP 429) with the number of seconds left.

An account is throttled after a few failures; an address only after many more
(``address_free_attempts``), because a whole office, or every user behind a reverse proxy, shares
one: one person mistyping must not lock their colleagues out, while a password sprayer trying
many accounts from one address is still stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class _Entry:
    failures: int = 0
    blocked_until: float = 0.0
    touched: float = field(default_factory=time.monotonic)


class LoginThrottle:
    """Growing delay after repeated failures, per key."""

    FORGET_AFTER = 3600.0

    def __init__(self, free_attempts: int, first_delay: float,
                 clock: Callable[[], float] = time.monotonic, max_delay: float = 900.0,
                 address_free_attempts: int | None = None) -> None:
        self.free_attempts = free_attempts
        self.address_free_attempts = (free_attempts if address_free_attempts is None
                                      else address_free_attempts)
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._clock = clock
        self._entries: dict[str, _Entry] = {}

    def retry_after(self, *keys: str) -> float:
        """Seconds to wait before an attempt on any of ``keys`` is allowed (0 when allowed)."""
        now = self._clock()
        waits = [self._entries[k].blocked_until - now for k in keys if k in self._entries]
        return max([0.0, *waits])

    def failed(self, *keys: str) -> float:
        """Count a failure; returns the delay now imposed."""
        now = self._clock()
        self._forget_old(now)
        delay = 0.0
        for key in keys:
            entry = self._entries.setdefault(key, _Entry())
            entry.failures += 1
            entry.touched = now
            free = self.address_free_attempts if key.startswith("ip:") else self.free_attempts
            over = entry.failures - free
            if over > 0:
                d = min(self.first_delay * 2 ** (over - 1), self.max_delay)
                entry.blocked_until = now + d
                delay = max(delay, d)
        return delay

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    def _forget_old(self, now: float) -> None:
        old = [k for k, e in self._entries.items()
               if now - e.touched > self.FORGET_AFTER and e.blocked_until < now]
        for k in old:
            del self._entries[k]


class TokenBucket:
    """A per-connection message rate limit: ``rate`` messages a second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic,
                 ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
