"""Time in a group session: breaks and the reminders to the facilitator.

The field guide: sessions of 1 h 30 at most, no more than 45 minutes in a row, cameras and
microphones off during the break. The facilitator starts a break of so many minutes: every page
turns its camera and microphone off and shows a countdown (``break_started``); the facilitator
brings everyone back with one click (``break_over``: each page turns back on only what its person
had on). The facilitator is reminded (``reminder``) after 45 minutes without a break, 10 minutes
before the planned end, and when a break's countdown is over.

The timers run on the room clock (``Rooms.clock``): the system's in service, a manual one in the
tests. They are planned when a session starts (or when its host comes back after a restart) and
cancelled when it ends.
"""

from __future__ import annotations

import datetime as dt

from server.domain import protocol as p
from server.domain.group_room import GroupRoom
from server.domain.ids import ParticipantId
from server.domain.models import N_, InterviewSession
from server.domain.room import RoomRef
from server.services.participants import Participant
from server.services.rooms import Rooms
from server.services.staff import host_only

END_SOON = dt.timedelta(minutes=10)


class Breaks:
    """``break_start``, ``break_end``, and the room's reminders."""

    def __init__(self, rooms: Rooms) -> None:
        self.rooms = rooms

    async def _session(self, part: Participant) -> InterviewSession:
        session = await self.rooms.session(part)
        if session is None:
            raise p.Refused("no_session", N_("No interview is in progress."))
        return session

    async def on_break_start(self, part: Participant, msg: p.BreakStart) -> None:
        group = self.rooms.group(part)
        host_only(part)
        session = await self._session(part)
        now = self.rooms.clock.now()
        group.start_break(msg.minutes, now)
        session.log.break_started(msg.minutes, now)
        await self.rooms.save(part, session)
        for kind in ("break_due", "break_time_up"):  # a new countdown, even during a break
            self.rooms.bus.set_timer(part.room, kind, None)
        self.plan(part.room_ref, group)
        self.rooms.send_all(part.room, self.rooms.members(part.room),
                            self.rooms.break_started(group))
        self.rooms.tell_group(part.room)

    async def on_break_end(self, part: Participant, msg: p.BreakEnd) -> None:
        group = self.rooms.group(part)
        host_only(part)
        if group.pause is None:
            raise p.Refused("no_break", N_("There is no break in progress."))
        session = await self._session(part)
        now = self.rooms.clock.now()
        group.end_break(now)
        session.log.break_ended(now)
        await self.rooms.save(part, session)
        self.rooms.bus.set_timer(part.room, "break_time_up", None)
        self.plan(part.room_ref, group)
        self.rooms.send_all(part.room, self.rooms.members(part.room), p.BreakOver())
        self.rooms.tell_group(part.room)

    # -- reminders -----------------------------------------------------------------------------

    def plan(self, room: RoomRef, group: GroupRoom) -> None:
        """Plan the reminders due in this session that are not planned (or sent) yet."""
        if group.started_at is None:
            return
        now = self.rooms.clock.now()
        due = group.break_due_at()
        if due is not None:
            self._plan(room, "break_due", due, 45)
        if now < room.ends_at:
            self._plan(room, "end_soon", max(now, room.ends_at - END_SOON), 10)
        if group.pause is not None:
            self._plan(room, "break_time_up", group.pause.until, group.pause.minutes)

    def _plan(self, room: RoomRef, kind: str, when: dt.datetime, minutes: int) -> None:
        bus = self.rooms.bus
        group = bus.group(room.public_id)
        if bus.has_timer(room.public_id, kind) or group is None or kind in group.reminded:
            return

        async def remind() -> None:
            await self._remind(room, kind, minutes)
        bus.set_timer(room.public_id, kind, self.rooms.clock.call_at(when, remind))

    async def _remind(self, room: RoomRef, kind: str, minutes: int) -> None:
        """A timer fell due: the reminder to the host, if it still holds (under the lock)."""
        async with self.rooms.locks.hold(room.public_id):
            group = self.rooms.bus.group(room.public_id)
            self.rooms.bus.set_timer(room.public_id, kind, None)
            if group is None or group.started_at is None or kind in group.reminded:
                return
            if kind == "break_time_up" and group.pause is None:
                return
            if kind == "break_due" and group.pause is not None:
                return
            if kind != "break_time_up":  # a break's own: once per break, planned with it
                group.reminded.add(kind)
            self.rooms.send(room.public_id, _host(room), p.Reminder(kind=kind, minutes=minutes))


def _host(room: RoomRef) -> ParticipantId:
    return ParticipantId.worker(room.host_id)
