"""A live interview: a room of N participants, through the waiting room into the call.

``InterviewService`` is what the signalling edge talks to: a participant joins (its connection is
attached and welcomed with its state), sends messages (each handled by the waiting room, the call
or the relay), and leaves. The parts:

- ``Rooms`` (rooms.py): what every part shares — the store, the live bus, the room locks, the
  topology (who connects to whom), the call's members from live state;
- ``WaitingRoom`` (waiting_room.py): consent, readiness, waiting, admission, refusal;
- ``Call`` (call.py): admission's effects, modality, plan B, incidents, the end, the sweep;
- ``Relay`` (relay.py): negotiation, chat, media state — no lock, no storage;
- in a group session, the facilitator's tools: ``staff.py`` (co-workers, who may do what),
  ``Floor`` (floor.py: hands, the floor, muting, the sound-and-camera round), ``Facilitation``
  (facilitation.py: removing a person, the agenda item, "by phone") and ``Breaks`` (breaks.py:
  breaks and reminders, on the room clock).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from server.base import clock
from server.base.settings import Config
from server.domain import protocol as p
from server.domain.models import N_, InterviewSession
from server.live.bus import Connection, LiveBus
from server.live.locks import RoomLocks
from server.live.timers import RoomClock
from server.media.turn import ice_servers, relay_only
from server.services.breaks import Breaks
from server.services.call import INCIDENTS, Call
from server.services.facilitation import Facilitation
from server.services.floor import Floor
from server.services.live_access import LiveAccess
from server.services.participants import Participant
from server.services.relay import Relay
from server.services.rooms import Rooms
from server.services.scheduling import Scheduling
from server.services.staff import load_group
from server.services.waiting_room import WaitingRoom
from server.storage.repositories import Store

__all__ = ["INCIDENTS", "InterviewService", "Participant"]

Handler = Callable[[Participant, Any], Awaitable[None]]


class InterviewService:
    """Joins, messages and leaves of the participants of every room."""

    def __init__(self, store: Store, bus: LiveBus, config: Config, access: LiveAccess,
                 locks: RoomLocks | None = None, *, scheduling: Scheduling | None = None,
                 clock: RoomClock | None = None) -> None:
        """``scheduling`` revokes a removed person's link (one that sends nothing, if None);
        ``clock`` is the room clock (the system's if None; tests give a manual one)."""
        self.rooms = Rooms(store, bus, locks or RoomLocks(), config, access, clock=clock)
        self.breaks = Breaks(self.rooms)
        self.call = Call(self.rooms, self.breaks)
        self.waiting_room = WaitingRoom(self.rooms, self.call)
        self.relay = Relay(self.rooms)
        self.floor = Floor(self.rooms)
        self.facilitation = Facilitation(self.rooms, scheduling or Scheduling(
            store, config, notify=lambda: None, access_changed=access.recheck_appointments))
        w, c, r, f, a, b = (self.waiting_room, self.call, self.relay, self.floor,
                            self.facilitation, self.breaks)
        # Each message type: its handler, and whether it changes the room (then under its lock).
        self._handlers: dict[str, tuple[Handler, bool]] = {
            "consent": (w.on_consent, True), "ready": (w.on_ready, True),
            "admit": (w.on_admit, True), "decline": (w.on_decline, True),
            "modality": (c.on_modality, True), "fallback": (c.on_fallback, True),
            "incident": (c.on_incident, True), "end": (c.on_end, True),
            "signal": (r.on_signal, False), "chat": (r.on_chat, False),
            "media": (r.on_media, False), "ping": (r.on_ping, False),
            # a group session's tools
            "admit_all": (w.on_admit_all, True), "hand": (f.on_hand, True),
            "lower_hand": (f.on_lower_hand, True), "give_floor": (f.on_give_floor, True),
            "mute": (f.on_mute, True), "round": (f.on_round, True),
            "round_check": (f.on_round_check, True), "remove": (a.on_remove, True),
            "agenda": (a.on_agenda, True), "by_phone": (a.on_by_phone, True),
            "break_start": (b.on_break_start, True), "break_end": (b.on_break_end, True),
        }

    async def handle(self, part: Participant, msg: p.Message) -> None:
        """One parsed message from ``part``."""
        found = self._handlers.get(msg.type)
        if found is None:
            raise p.Refused("unexpected", N_("This message is not expected here."))
        handler, changes = found
        if not changes:
            await handler(part, msg)
            return
        async with self.rooms.locks.hold(part.room):
            await handler(part, msg)

    # -- joining and leaving --------------------------------------------------------------------

    async def join(self, part: Participant, connection: Connection, resume: bool) -> None:
        """A participant's hello: attach its connection and welcome it with its state.

        Attaching under the room's lock makes ``welcome`` the first message it receives."""
        async with self.rooms.locks.hold(part.room):
            await self.rooms.read_back(part.room_ref)
            self.rooms.bus.attach(part.room, connection)
            await self._join(part, resume)

    async def _join(self, part: Participant, resume: bool) -> None:
        rooms = self.rooms
        rooms.bus.set_name(part.room, part.id, part.name)
        group = await load_group(rooms, part.room_ref)
        staff = part.role in ("worker", "coworker")
        session = await rooms.session(part) if staff or rooms.in_call(part) else None
        # A group's co-worker is staff: with a session in progress, they join the call at once.
        arriving = (part.role == "coworker" and session is not None
                    and str(part.id) not in session.admitted)
        if arriving and session is not None:
            session.admitted.append(str(part.id))
        in_call = rooms.in_call(part) or arriving
        if staff:
            state = "in_call" if session is not None else "ready"
        elif in_call:
            state = "in_call"
        else:
            state = "waiting" if await rooms.consent_of(part) is not None else "consent"
        rooms.send(part.room, part.id, p.Welcome(
            id=str(part.id), role=part.role, name=part.name,
            ice_servers=ice_servers(rooms.config), relay_only=relay_only(rooms.config),
            state=state, session=self._session_view(session),
            group=group.welcome(group.role_of(part.id)) if group else {}))
        if session is not None and in_call:
            await self._back_in_call(part, session, resume and not arriving)
        if staff:
            rooms.send(part.room, part.id, rooms.lobby(part.room))
        if part.role == "worker":
            self.waiting_room.tell_waiting(part, host_present=True)
            if group is not None:
                self.breaks.plan(part.room_ref, group)  # after a restart: plan them again
        elif state == "waiting":
            await self.waiting_room.wait(part)

    async def _back_in_call(self, part: Participant, session: InterviewSession,
                            resume: bool) -> None:
        """A member of the call (back, or a co-worker arriving) in the log, and linked."""
        rooms = self.rooms
        now = clock.now()
        session.log.joined(str(part.id), part.name,
                           rooms.log_role(part.room, part.id, part.role), now)
        if part.role == "worker":
            session.log.worker_left = None  # back in time: the session goes on
        if resume:
            session.log.incident("reconnected", part.role, now)
        await rooms.save(part, session)
        if not resume:  # a fresh page: it starts a new peer connection with everyone
            rooms.connect(part, part.id, session.log.mode, rooms.members(part.room))
        rooms.tell_group(part.room, to={part.id})

    async def leave(self, part: Participant, connection: Connection) -> None:
        """A participant's WebSocket closed (it may come back)."""
        async with self.rooms.locks.hold(part.room):
            if self.rooms.bus.detach(part.room, connection):
                await self._leave(part)

    async def _leave(self, part: Participant) -> None:
        rooms = self.rooms
        rooms.bus.clear_waiting(part.room, part.id)
        if rooms.in_call(part):
            session = await rooms.session(part)
            if session is not None:
                now = clock.now()
                session.log.left(str(part.id), now)
                session.log.last_seen = now.isoformat()
                if part.role == "worker":  # the session ends if they do not come back in time
                    session.log.worker_left = session.log.last_seen
                await rooms.save(part, session)
            rooms.send_all(part.room, rooms.members(part.room) - {part.id},
                           p.PeerLeft(peer=str(part.id)))
        if part.role == "worker":
            self.waiting_room.tell_waiting(part, host_present=False)
        else:
            rooms.tell_host_lobby(part)

    # -- the session ----------------------------------------------------------------------------

    async def sweep(self) -> int:
        """End the sessions whose worker has been gone ``session_end_minutes``."""
        return await self.call.sweep()

    def _session_view(self, session: InterviewSession | None) -> dict[str, Any]:
        if session is None:
            return {}
        elapsed = (self.rooms.clock.now() - session.started_at).total_seconds()
        return {"started_at": session.started_at.isoformat(), "mode": session.log.mode,
                "elapsed_seconds": max(0, int(elapsed))}
