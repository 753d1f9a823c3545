"""The room clock: wall time and timers for what a room does at a given time (a group's reminders
to its host, the end of a break's countdown).

``RoomClock`` is the small interface the room uses: ``now()`` and ``call_at(when, callback)``.
``SystemRoomClock`` serves (the system's time, asyncio timers); ``ManualRoomClock`` is for tests:
its time moves only when the test moves it, and the timers that fall due run then, in order, so no
test sleeps. The app takes either (``create_app(room_clock=...)``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from server.base import clock

log = logging.getLogger("proxima.timers")

Callback = Callable[[], Awaitable[None]]


class Timer(Protocol):
    """A callback planned for later; ``cancel`` makes sure it does not run."""

    def cancel(self) -> None: ...


class RoomClock(Protocol):
    """Wall time, and callbacks at a wall time."""

    def now(self) -> dt.datetime: ...

    def call_at(self, when: dt.datetime, callback: Callback) -> Timer: ...


class SystemRoomClock:
    """The system's wall clock, and asyncio timers (the callback runs as a task)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> dt.datetime:
        return clock.now()

    def call_at(self, when: dt.datetime, callback: Callback) -> Timer:
        delay = max(0.0, (when - clock.now()).total_seconds())
        return asyncio.get_running_loop().call_later(delay, self._run, callback)

    def _run(self, callback: Callback) -> None:
        task = asyncio.get_running_loop().create_task(_logged(callback))
        self._tasks.add(task)  # kept until done: a task nobody holds may be collected
        task.add_done_callback(self._tasks.discard)


async def _logged(callback: Callback) -> None:
    try:
        await callback()
    except Exception:
        log.exception("a room timer failed")


@dataclasses.dataclass(eq=False)
class _Planned:
    when: dt.datetime
    order: int
    callback: Callback
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualRoomClock:
    """A wall clock that moves only when told to (tests): ``await advance(delta)`` runs every
    timer that falls due, in the order of their times, each to its end."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or clock.now()
        self._planned: list[_Planned] = []
        self._count = 0

    def now(self) -> dt.datetime:
        return self._now

    def call_at(self, when: dt.datetime, callback: Callback) -> Timer:
        self._count += 1
        planned = _Planned(when, self._count, callback)
        self._planned.append(planned)
        return planned

    @property
    def pending(self) -> int:
        """How many timers are planned and not cancelled."""
        return sum(1 for p in self._planned if not p.cancelled)

    async def advance(self, delta: dt.timedelta) -> None:
        await self.advance_to(self._now + delta)

    async def advance_to(self, when: dt.datetime) -> None:
        """Move to ``when``, running the timers due on the way (at their own time)."""
        while True:
            due = sorted((p for p in self._planned if not p.cancelled and p.when <= when),
                         key=lambda p: (p.when, p.order))
            if not due:
                break
            first = due[0]
            self._planned.remove(first)
            self._now = max(self._now, first.when)
            await _logged(first.callback)
        self._now = max(self._now, when)
        self._planned = [p for p in self._planned if not p.cancelled]
