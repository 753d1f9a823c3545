"""The limits of server/live/limits.py on a clock the test moves: the message rate limit, the login
throttle's growing delay, and the signalling limits the app is given (as docs/protocol.md says)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ManualClock

from server.live.limits import LoginThrottle, SignallingLimits, TokenBucket

PROTOCOL_DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


def test_a_bucket_gives_its_burst_then_refills_at_its_rate():
    clock = ManualClock()
    bucket = TokenBucket(rate=30.0, burst=120.0, clock=clock)
    assert [bucket.take() for _ in range(121)] == [True] * 120 + [False]
    clock.advance(0.1)  # three messages' worth
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.advance(3600)  # never more than the burst
    assert sum(bucket.take() for _ in range(200)) == 120


def test_the_login_delay_doubles_and_ends_on_the_throttle_clock():
    clock = ManualClock()
    throttle = LoginThrottle(free_attempts=3, first_delay=1.0, clock=clock)
    assert [throttle.failed("account:bob") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert throttle.failed("account:bob") == 1.0
    assert throttle.retry_after("account:bob") == 1.0
    clock.advance(0.75)
    assert throttle.retry_after("account:bob") == 0.25
    clock.advance(0.25)
    assert throttle.retry_after("account:bob") == 0.0
    assert throttle.failed("account:bob") == 2.0
    # An hour after its last failure, an account that is not blocked is forgotten: free again.
    clock.advance(LoginThrottle.FORGET_AFTER + 3)
    throttle.failed("account:other")
    assert [throttle.failed("account:bob") for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("values, named", [
    ({"rate": 0}, "rate"), ({"burst": 0.5}, "burst"), ({"handshake_seconds": -1}, "handshake"),
    ({"heartbeat_seconds": 0}, "heartbeat"), ({"max_refused_in_a_row": -1}, "max_refused"),
])
def test_signalling_limits_refuse_values_that_would_stop_everything(values, named):
    with pytest.raises(ValueError, match=named):
        SignallingLimits(**values)


def test_the_default_signalling_limits_are_those_the_protocol_documents():
    doc = PROTOCOL_DOC.read_text(encoding="utf-8")
    limits = SignallingLimits()

    def number(pattern: str) -> float:
        found = re.search(pattern, doc)
        assert found, pattern
        return float(found.group(1))

    assert limits.rate == number(r"\| Message rate, per connection \| (\d+) messages/s")
    assert limits.burst == number(r"messages/s, bursts of up to (\d+)")
    assert limits.handshake_seconds == number(r"`hello` within (\d+) s")
    assert limits.heartbeat_seconds == number(r"received nothing for \*\*(\d+) s\*\*")
    assert limits.max_refused_in_a_row == number(r"after more than (\d+) refused in a row")
