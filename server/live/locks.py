"""One room's changes at a time: the room lock, behind a small interface.

Joining, leaving, consent, admission, modality changes and the end of a session read and change
the room's state and its session log; two of them at once in one room (two reconnections, say)
would lose each other's changes. This is the in-process implementation; with several processes
a Redis lock (or a version column with compare-and-set) takes its place, with the same ``hold``.
Relaying a signal, a chat line or a media state needs no lock: it only reads who is in the call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class RoomLocks:
    """In-process locks, one per room, dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, room: str) -> AsyncIterator[None]:
        """Hold ``room``'s lock for the block."""
        lock = self._locks.setdefault(room, asyncio.Lock())
        self._users[room] = self._users.get(room, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[room] -= 1
            if not self._users[room]:
                del self._users[room]
                del self._locks[room]

    def held(self) -> int:
        """How many rooms have a lock held or awaited (for tests: none are left behind)."""
        return len(self._locks)
