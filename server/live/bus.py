"""Live state behind a small interface: who is connected to which appointment, who is waiting,
and delivery of a message to a participant wherever it is connected.

This is the in-process implementation; a Redis one (pub/sub plus keys with expiry) can replace it
for several processes. Signalling code never reaches into another connection's object: it asks
the bus to deliver.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Credential:
    """What let a connection in, so its access can be checked again while it stays open.

    A worker: their login session (by the hash of its cookie) and account. A person's browser:
    its guest browser id (which names its invitation)."""

    worker_id: int | None = None
    session_hash: str = ""
    guest_browser_id: int | None = None


ACCESS_ENDED = (4403, b"access ended")  # the link or the account no longer gives access


@dataclasses.dataclass
class Connection:
    """One WebSocket of one participant: the queue its writer drains.

    Items are frames (text); None closes the socket (replaced, declined); a (code, reason) pair
    closes it with that code, once everything before it is sent.
    """

    participant: str
    credential: Credential = dataclasses.field(default_factory=Credential)
    queue: asyncio.Queue[str | tuple[int, bytes] | None] = dataclasses.field(
        default_factory=lambda: asyncio.Queue(256))


class LiveBus:
    """In-process presence, waiting room and delivery."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, Connection]] = {}
        self._waiting: dict[str, dict[str, dict[str, Any]]] = {}

    # presence
    def attach(self, room: str, connection: Connection) -> None:
        """Register a connection; an older one of the same participant is asked to close."""
        members = self._rooms.setdefault(room, {})
        old = members.get(connection.participant)
        members[connection.participant] = connection
        if old is not None:
            _close(old)

    def detach(self, room: str, connection: Connection) -> bool:
        """Forget a connection; False when a newer one of the same participant took its place."""
        members = self._rooms.get(room, {})
        if members.get(connection.participant) is not connection:
            return False
        del members[connection.participant]
        if not members:
            self._rooms.pop(room, None)
        return True

    def present(self, room: str) -> set[str]:
        return set(self._rooms.get(room, {}))

    def rooms(self) -> list[str]:
        return list(self._rooms)

    # delivery
    def deliver(self, room: str, participant: str, text: str) -> bool:
        """Queue a frame for a participant; False when it is not connected (or too far behind)."""
        connection = self._rooms.get(room, {}).get(participant)
        if connection is None:
            return False
        try:
            connection.queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    def close(self, room: str, participant: str,
              why: tuple[int, bytes] | None = None) -> None:
        """Ask a participant's connection to close (with ``why``: a close code and reason)."""
        connection = self._rooms.get(room, {}).get(participant)
        if connection is not None:
            _close(connection, why)

    def disconnect(self, connection: Connection, why: tuple[int, bytes] | None = None) -> None:
        """Ask this very connection to close (not a newer one of the same participant)."""
        _close(connection, why)

    def connection(self, room: str, participant: str) -> Connection | None:
        return self._rooms.get(room, {}).get(participant)

    def connections(self, room: str) -> list[Connection]:
        """The live connections of a room (to check their access again)."""
        return list(self._rooms.get(room, {}).values())

    # waiting room
    def set_waiting(self, room: str, participant: str, info: dict[str, Any]) -> None:
        self._waiting.setdefault(room, {})[participant] = info

    def clear_waiting(self, room: str, participant: str) -> None:
        waiting = self._waiting.get(room, {})
        waiting.pop(participant, None)
        if not waiting:
            self._waiting.pop(room, None)

    def waiting(self, room: str) -> dict[str, dict[str, Any]]:
        return dict(self._waiting.get(room, {}))


def _close(connection: Connection, why: tuple[int, bytes] | None = None) -> None:
    """Queue the close; a connection too far behind loses its backlog, not its close."""
    while True:
        try:
            connection.queue.put_nowait(why)
            return
        except asyncio.QueueFull:
            connection.queue.get_nowait()
