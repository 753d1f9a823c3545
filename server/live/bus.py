"""Live state behind a small interface: who is connected to which room, who is waiting, who is in
the call, the names and the worker's readiness; and delivery of a frame to a participant wherever
it is connected.

This is the in-process implementation; a Redis one (pub/sub for delivery, keys with expiry for
the state) implements the same methods for several processes. Room code never reaches into
another connection's object: it asks the bus to deliver or to close. A room is named by its
appointment's public id. The call's members are written through to the database by the room
(``InterviewSession.admitted``) and read back from it after a restart; here they are what the
relay reads on every message, without touching storage.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from server.domain.group_room import GroupRoom
from server.domain.ids import ParticipantId
from server.domain.session_log import Readiness
from server.live.timers import Timer


@dataclasses.dataclass(frozen=True)
class Credential:
    """What let a connection in, so its access can be checked again while it stays open.

    A worker: their login session (by the hash of its cookie) and account. A person's browser:
    its guest browser id (which names its invitation)."""

    worker_id: int | None = None
    session_hash: str = ""
    guest_browser_id: int | None = None


CloseReason = tuple[int, bytes]
ACCESS_ENDED: CloseReason = (4403, b"access ended")  # the link or account no longer gives access
Outgoing = str | CloseReason | None  # a frame; a close with its code; None: close with 4001


@dataclasses.dataclass(eq=False)
class Connection:
    """One WebSocket of one participant: the queue its writer drains.

    Items are frames (text); None closes the socket (replaced, declined); a (code, reason) pair
    closes it with that code, once everything before it is sent.
    """

    participant: ParticipantId
    credential: Credential = dataclasses.field(default_factory=Credential)
    queue: asyncio.Queue[Outgoing] = dataclasses.field(
        default_factory=lambda: asyncio.Queue(256))


@dataclasses.dataclass(frozen=True)
class WaitingEntry:
    """A person's browser in the waiting room, as the worker's lobby shows it."""

    since: str
    name: str
    browser: str
    device: str
    test: str | None
    consent: dict[str, Any]
    appointment_id: int = 0  # the person's own appointment (and case): not shown in the lobby
    case_id: int = 0

    def to_json(self, participant: ParticipantId) -> dict[str, Any]:
        shown = {k: v for k, v in dataclasses.asdict(self).items()
                 if k not in ("appointment_id", "case_id")}
        return {"id": str(participant), **shown}


@dataclasses.dataclass(frozen=True)
class Call:
    """The call in progress in a room: its session and who is in it (the host worker included)."""

    session_id: int
    members: frozenset[ParticipantId]


class LiveBus:
    """In-process presence, waiting room, room state and delivery."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[ParticipantId, Connection]] = {}
        self._waiting: dict[str, dict[ParticipantId, WaitingEntry]] = {}
        self._names: dict[str, dict[ParticipantId, str]] = {}
        self._readiness: dict[str, Readiness] = {}
        self._calls: dict[str, Call | None] = {}  # a room absent here: not read back yet
        self._groups: dict[str, GroupRoom] = {}  # a group room's shared state and facts
        self._timers: dict[str, dict[str, Timer]] = {}  # a room's planned reminders, by kind

    # -- presence ------------------------------------------------------------------------------

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

    def present(self, room: str) -> set[ParticipantId]:
        return set(self._rooms.get(room, {}))

    def is_present(self, room: str, participant: ParticipantId) -> bool:
        return participant in self._rooms.get(room, {})

    def rooms(self) -> list[str]:
        """The rooms with at least one connection."""
        return list(self._rooms)

    def connection(self, room: str, participant: ParticipantId) -> Connection | None:
        return self._rooms.get(room, {}).get(participant)

    def connections(self, room: str) -> list[Connection]:
        """The live connections of a room (to check their access again)."""
        return list(self._rooms.get(room, {}).values())

    # -- delivery ------------------------------------------------------------------------------

    def deliver(self, room: str, participant: ParticipantId, text: str) -> bool:
        """Queue a frame for a participant; False when it is not connected (or too far behind)."""
        connection = self._rooms.get(room, {}).get(participant)
        if connection is None:
            return False
        try:
            connection.queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    def close(self, room: str, participant: ParticipantId, why: CloseReason | None = None) -> None:
        """Ask a participant's connection to close (with ``why``: a close code and reason)."""
        connection = self._rooms.get(room, {}).get(participant)
        if connection is not None:
            _close(connection, why)

    def disconnect(self, connection: Connection, why: CloseReason | None = None) -> None:
        """Ask this very connection to close (not a newer one of the same participant)."""
        _close(connection, why)

    # -- the waiting room ----------------------------------------------------------------------

    def set_waiting(self, room: str, participant: ParticipantId, entry: WaitingEntry) -> None:
        self._waiting.setdefault(room, {})[participant] = entry

    def clear_waiting(self, room: str, participant: ParticipantId) -> None:
        waiting = self._waiting.get(room, {})
        waiting.pop(participant, None)
        if not waiting:
            self._waiting.pop(room, None)

    def waiting(self, room: str) -> dict[ParticipantId, WaitingEntry]:
        return dict(self._waiting.get(room, {}))

    # -- the room's state ----------------------------------------------------------------------

    def set_name(self, room: str, participant: ParticipantId, name: str) -> None:
        self._names.setdefault(room, {})[participant] = name

    def name(self, room: str, participant: ParticipantId) -> str:
        return self._names.get(room, {}).get(participant, "")

    def set_readiness(self, room: str, readiness: Readiness) -> None:
        self._readiness[room] = readiness

    def readiness(self, room: str) -> Readiness | None:
        return self._readiness.get(room)

    def set_call(self, room: str, call: Call | None) -> None:
        """The call in progress, or None (then an empty room's state is forgotten)."""
        self._calls[room] = call
        if call is None and room not in self._rooms:
            self.forget(room)

    def call(self, room: str) -> Call | None:
        return self._calls.get(room)

    def knows(self, room: str) -> bool:
        """Whether the room's call was read back (from storage, after a start or a restart)."""
        return room in self._calls

    def forget(self, room: str) -> None:
        """Drop a room's state (nobody is connected and no call is in progress)."""
        self._calls.pop(room, None)
        self._names.pop(room, None)
        self._readiness.pop(room, None)
        self._groups.pop(room, None)
        self.cancel_timers(room)

    def names(self, room: str) -> dict[ParticipantId, str]:
        return dict(self._names.get(room, {}))

    # -- a group room: its shared state, its timers --------------------------------------------

    def group(self, room: str) -> GroupRoom | None:
        """A group room's state (None: not loaded yet, or not a group)."""
        return self._groups.get(room)

    def set_group(self, room: str, group: GroupRoom) -> None:
        self._groups[room] = group

    def set_timer(self, room: str, kind: str, timer: Timer | None) -> None:
        """Plan (or, with None, forget) the room's timer of this kind; the one before is
        cancelled."""
        timers = self._timers.setdefault(room, {})
        old = timers.pop(kind, None)
        if old is not None:
            old.cancel()
        if timer is not None:
            timers[kind] = timer
        elif not timers:
            self._timers.pop(room, None)

    def has_timer(self, room: str, kind: str) -> bool:
        return kind in self._timers.get(room, {})

    def cancel_timers(self, room: str) -> None:
        for timer in self._timers.pop(room, {}).values():
            timer.cancel()


def _close(connection: Connection, why: CloseReason | None = None) -> None:
    """Queue the close; a connection too far behind loses its backlog, not its close."""
    while True:
        try:
            connection.queue.put_nowait(why)
            return
        except asyncio.QueueFull:
            connection.queue.get_nowait()
