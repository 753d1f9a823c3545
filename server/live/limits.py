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
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
"""Seconds from a monotonic clock: ``time.monotonic`` when serving; tests pass one they move."""


@dataclass
class _Entry:
    touched: float  # the clock's time of the last failure
    failures: int = 0
    blocked_until: float = 0.0


class LoginThrottle:
    """Growing delay after repeated failures, per key."""

    FORGET_AFTER = 3600.0

    def __init__(self, free_attempts: int, first_delay: float,
                 clock: Clock = time.monotonic, max_delay: float = 900.0,
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
            entry = self._entries.setdefault(key, _Entry(touched=now))
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

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
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


@dataclass(frozen=True)
class SignallingLimits:
    """The signalling WebSocket's limits, given to the app (``create_app(limits=...)``).

    Values, not module constants: a test that needs a short deadline or a fast rate passes its own
    instead of patching a module."""

    handshake_seconds: float = 10.0  # the hello must arrive within this
    heartbeat_seconds: float = 15.0  # a client that misses a pong for this long is closed
    rate: float = 30.0               # messages a second, per connection...
    burst: float = 120.0             # ...in bursts up to this many (ICE candidates come in bursts)
    max_refused_in_a_row: int = 50   # rate-limited messages in a row before closing (1008)

    def __post_init__(self) -> None:
        for name in ("handshake_seconds", "heartbeat_seconds", "rate", "burst"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"SignallingLimits.{name} must be above 0, not {value!r}")
        if self.burst < 1:
            raise ValueError(f"SignallingLimits.burst must allow one message, not {self.burst!r}")
        if self.max_refused_in_a_row < 0:
            raise ValueError("SignallingLimits.max_refused_in_a_row must not be negative, not "
                             f"{self.max_refused_in_a_row!r}")

    def bucket(self, clock: Clock = time.monotonic) -> TokenBucket:
        """A new connection's message rate limit."""
        return TokenBucket(self.rate, self.burst, clock)
