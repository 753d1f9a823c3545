"""What every part of a live interview shares: the room.

A room is one appointment's live interview, or a group session's: a call of N participants (the
host worker, the persons' browsers let in, a group's co-workers), a waiting room, and a session
whose log goes to the case record(s). ``Rooms`` holds what the waiting room, the call and the
relay need in common: the store, the live bus (who is present, who is in the call, a group's
shared state), the room locks, the topology (who connects to whom), the room clock, and sending.

Who is in the call lives in the bus, written through to the database whenever it changes
(``InterviewSession.admitted``) and read back on a room's first join after a start or a restart,
so the relay reads it without touching storage.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.base import clock
from server.base.settings import Config
from server.domain import protocol as p
from server.domain.group_room import GroupRoom
from server.domain.ids import ParticipantId
from server.domain.models import N_, ConsentRecord, InterviewSession
from server.domain.room import RoomRef
from server.domain.session_log import Mode, SessionLog, mode_of
from server.domain.topology import Mesh
from server.live.bus import Call, LiveBus
from server.live.locks import RoomLocks
from server.live.timers import RoomClock, SystemRoomClock
from server.services.live_access import LiveAccess
from server.services.participants import Participant
from server.storage.repositories import Store


class Rooms:
    """The shared state and helpers of every room."""

    def __init__(self, store: Store, bus: LiveBus, locks: RoomLocks, config: Config,
                 access: LiveAccess, topology: Mesh | None = None,
                 clock: RoomClock | None = None) -> None:
        self.store = store
        self.bus = bus
        self.locks = locks
        self.config = config
        self.access = access
        self.topology = topology or Mesh()
        self.clock = clock or SystemRoomClock()  # a group's timers and elapsed time

    # -- sending -------------------------------------------------------------------------------

    def send(self, room: str, to: ParticipantId, msg: p.Message) -> bool:
        return self.bus.deliver(room, to, p.dump(msg))

    def send_all(self, room: str, to: set[ParticipantId] | frozenset[ParticipantId],
                 msg: p.Message) -> None:
        text = p.dump(msg)
        for member in to:
            self.bus.deliver(room, member, text)

    # -- the call's members, from live state ---------------------------------------------------

    async def read_back(self, room_ref: RoomRef) -> None:
        """After a start or a restart: the call in progress, from storage (under the lock)."""
        room = room_ref.public_id
        if self.bus.knows(room):
            return
        session = await self.store.interviews.active_in(room_ref)
        self.bus.set_call(room, None if session is None else self.call_of(room_ref, session))

    async def room_of(self, session: InterviewSession) -> RoomRef | None:
        """The room a stored session belongs to (an appointment's, or a group's)."""
        if session.appointment_id is not None:
            appointment = await self.store.appointments.get(session.appointment_id)
            return RoomRef.of_appointment(appointment) if appointment else None
        if session.group_id is not None:
            group = await self.store.groups.get(session.group_id)
            return RoomRef.of_group(group) if group else None
        return None

    @staticmethod
    def call_of(room_ref: RoomRef, session: InterviewSession) -> Call:
        members = {ParticipantId.worker(room_ref.host_id)}
        members.update(ParticipantId.parse(a) for a in session.admitted)
        return Call(session.id, frozenset(members))

    def members(self, room: str) -> frozenset[ParticipantId]:
        """Everyone in the call (the host included); empty when no call is in progress."""
        call = self.bus.call(room)
        return call.members if call else frozenset()

    def in_call(self, part: Participant) -> bool:
        return part.id in self.members(part.room)

    # -- the session, in storage ---------------------------------------------------------------

    async def session(self, part: Participant) -> InterviewSession | None:
        """The active session with its log (read when it is about to change)."""
        return await self.store.interviews.active_in(part.room_ref)

    async def save(self, part: Participant, session: InterviewSession) -> None:
        """Write the session (log and admissions) and the call's members through to live state."""
        await self.store.interviews.save(session)
        self.bus.set_call(part.room, self.call_of(part.room_ref, session))

    async def start(self, part: Participant, first_mode: str) -> InterviewSession:
        """The active session, started (by the host) if there is none."""
        now = clock.now()
        session = await self.store.interviews.start(part.room_ref, SessionLog(
            started_at=now.isoformat(), readiness=self.bus.readiness(part.room)))
        if not session.log.timeline:
            session.log.switch(mode_of(first_mode), "worker", "start", now)
            host = part.host_id  # who starts it may be a group's technical helper
            if part.id == host or self.bus.is_present(part.room, host):
                session.log.joined(str(host), self.bus.name(part.room, host) or part.name,
                                   self.log_role(part.room, host, "worker"), now)
        group = self.bus.group(part.room)
        if group is not None and group.started_at is None:
            group.started_at = session.started_at
            group.stretch_since = self.clock.now()
        return session

    def log_role(self, room: str, participant: ParticipantId, role: str) -> str:
        """The role the session log keeps: in a group, a worker's role there (facilitator,
        note_taker, technical_helper, co_worker); otherwise the wire's ``role``."""
        group = self.bus.group(room)
        return group.role_of(participant) if group is not None else role

    @staticmethod
    def mode(session: InterviewSession | None) -> Mode:
        return session.log.mode if session else "video"

    # -- links between members ----------------------------------------------------------------

    def introduce(self, part: Participant, newcomers: list[ParticipantId], mode: Mode) -> None:
        """Link each newcomer with the members before it (one ``admitted`` per link and end)."""
        known = set(self.members(part.room)) - set(newcomers)
        for newcomer in newcomers:
            self.connect(part, newcomer, mode, known)
            known.add(newcomer)

    def connect(self, part: Participant, newcomer: ParticipantId, mode: Mode,
                with_members: set[ParticipantId] | frozenset[ParticipantId]) -> None:
        """Tell both ends of each of ``newcomer``'s links (to members present) to connect."""
        room = part.room
        for link in self.topology.links_for(newcomer, with_members & self.bus.present(room)):
            other = link.other(newcomer)
            self.send(room, newcomer, p.Admitted(
                peer=str(other), peer_name=self.bus.name(room, other),
                polite=link.is_polite(newcomer), modality=mode))
            self.send(room, other, p.Admitted(
                peer=str(newcomer), peer_name=self.bus.name(room, newcomer),
                polite=link.is_polite(other), modality=mode))

    # -- the lobby ------------------------------------------------------------------------------

    def lobby(self, room: str) -> p.Lobby:
        present = self.bus.present(room)
        waiting = [entry.to_json(pid) for pid, entry in self.bus.waiting(room).items()
                   if pid in present]
        admitted = [{"id": str(pid), "name": self.bus.name(room, pid),
                     "connected": pid in present}
                    for pid in sorted(self.members(room)) if not pid.is_worker]
        group = self.bus.group(room)
        people = [] if group is None else [
            {"appointment": appointment, "name": name,
             "by_phone": appointment in group.phone_appointments}
            for appointment, name in group.people]
        return p.Lobby(waiting=waiting, admitted=admitted, people=people)

    def tell_host_lobby(self, part: Participant) -> None:
        """The lobby to the host, and in a group to every worker of it who is connected."""
        lobby = self.lobby(part.room)
        staff = {w for w in self.bus.present(part.room) if w.is_worker} | {part.host_id}
        self.send_all(part.room, staff, lobby)

    # -- a group's shared state -------------------------------------------------------------

    def group(self, part: Participant) -> GroupRoom:
        """The group room's state; refused in a 1:1 interview."""
        group = self.bus.group(part.room)
        if group is None:
            raise p.Refused("group_only", N_("This is only for group sessions."))
        return group

    def group_state(self, room: str) -> p.GroupState | None:
        group = self.bus.group(room)
        if group is None or group.started_at is None:
            return None
        return p.GroupState(**group.public(self.bus.names(room), self.clock.now()))

    def tell_group(self, room: str, to: set[ParticipantId] | None = None) -> None:
        """``group_state`` to everyone in the call (or to ``to``); and, during a break, to a
        newcomer (``to``) the break too, so that its page turns camera and microphone off."""
        state = self.group_state(room)
        group = self.bus.group(room)
        if state is None or group is None:
            return
        self.send_all(room, to if to is not None else self.members(room), state)
        if to is not None and group.pause is not None:
            self.send_all(room, to, self.break_started(group))

    def break_started(self, group: GroupRoom) -> p.BreakStarted:
        assert group.pause is not None
        return p.BreakStarted(minutes=group.pause.minutes, until=group.pause.until.isoformat(),
                              remaining_seconds=group.pause.remaining(self.clock.now()))

    # -- consent ---------------------------------------------------------------------------------

    def consent_public(self, part: Participant, record: ConsentRecord) -> dict[str, Any]:
        """A consent record as the session log keeps it: in a group, with the rule and the
        others' presence accepted (a group's consent is refused without them)."""
        public = record.public()
        if part.room_ref.is_group and record.kind != "withdrawn":
            public.update(rule_accepted=True, others_accepted=True)
        return public

    async def consent_of(self, part: Participant) -> ConsentRecord | None:
        """A person's latest consent under their own appointment, unless withdrawn."""
        if part.guest is None or part.appointment is None:
            return None
        mine = [c for c in await self.store.interviews.consents(part.appointment.id)
                if c.guest_browser_id == part.guest.id]
        return mine[-1] if mine and mine[-1].kind != "withdrawn" else None

    @staticmethod
    def as_person(part: Participant, browser: ParticipantId, name: str) -> Participant:
        """A waiting browser as a participant of the host's room (for the log)."""
        return dataclasses.replace(part, id=browser, role="person", name=name)
