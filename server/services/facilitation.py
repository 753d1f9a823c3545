"""The facilitator's other tools in a group's room: removing a person, the agenda item in
progress, and the attendance sheet's "by phone".

Removing a person revokes their invitation through Scheduling (every browser that opened it loses
access; their case record says so), closes their live connections at once with 4403, and is
written to the audit log: they cannot come back without a new invitation.
"""

from __future__ import annotations

from server.domain import protocol as p
from server.domain.ids import ParticipantId
from server.domain.models import N_
from server.services.participants import Participant
from server.services.rooms import Rooms
from server.services.scheduling import Scheduling
from server.services.staff import appointment_of, host_only


class Facilitation:
    """``remove``, ``agenda`` and ``by_phone`` (the host's, in a group)."""

    def __init__(self, rooms: Rooms, scheduling: Scheduling) -> None:
        self.rooms = rooms
        self.scheduling = scheduling

    # -- removing a person ---------------------------------------------------------------------

    async def on_remove(self, part: Participant, msg: p.Remove) -> None:
        group = self.rooms.group(part)
        host_only(part)
        rooms, room = self.rooms, part.room
        around = {b for b in rooms.members(room) | set(rooms.bus.waiting(room)) if b.is_browser}
        try:
            browser = ParticipantId.parse(msg.participant)
        except ValueError:
            browser = None
        found = await appointment_of(rooms, str(browser)) if browser in around else None
        appointment = await rooms.store.appointments.get(found) if found else None
        case = await rooms.store.cases.get(appointment.case_id) if appointment else None
        if appointment is None or case is None:
            raise p.Refused("unknown_peer", N_("This person is not in the call."))
        theirs = [b for b in sorted(around) if await appointment_of(rooms, str(b)) == found]
        for b in theirs:  # told first: revoking the link closes their sockets at once (4403)
            rooms.send(room, b, p.Ended(reason="removed"))
        await self.scheduling.revoke(case, appointment)  # the link, for every browser of theirs
        await rooms.store.audit.record(part.actor, "remove_participant", "ok", case_id=case.id,
                                       target=f"group:{part.room_ref.group_id}:{browser}")
        session = await rooms.session(part)
        left = [b for b in theirs if session is not None and str(b) in session.admitted]
        if session is not None and left:
            now = rooms.clock.now()
            for b in left:
                session.admitted.remove(str(b))
                session.log.left(str(b), now)
            session.log.incident("removed", "worker", now)
            await rooms.save(part, session)
        for b in theirs:
            group.forget(b)
            rooms.bus.clear_waiting(room, b)
            connection = rooms.bus.connection(room, b)
            if connection is not None:  # still there (the revocation's check closes them too)
                await rooms.access.cut_off(room, connection, case.id)  # closed with 4403
        for b in left:
            rooms.send_all(room, rooms.members(room), p.PeerLeft(peer=str(b)))
        rooms.tell_host_lobby(part)
        rooms.tell_group(room)

    # -- the agenda item in progress -----------------------------------------------------------

    async def on_agenda(self, part: Participant, msg: p.Agenda) -> None:
        group = self.rooms.group(part)
        host_only(part)
        if group.started_at is None:
            raise p.Refused("no_session", N_("No interview is in progress."))
        if msg.item >= len(group.group.agenda):
            raise p.Refused("bad_field", N_("This agenda item does not exist."))
        group.set_agenda(msg.item, self.rooms.clock.now())
        self.rooms.tell_group(part.room)

    # -- attending by phone --------------------------------------------------------------------

    async def on_by_phone(self, part: Participant, msg: p.ByPhone) -> None:
        """Mark (or unmark) a person as attending by phone: a browser of theirs in the log, or
        their appointment (an entry of its own, ``a:<appointment id>``, with a stay)."""
        group = self.rooms.group(part)
        host_only(part)
        rooms = self.rooms
        session = await rooms.session(part)
        if session is None:
            raise p.Refused("no_session", N_("No interview is in progress."))
        log, now = session.log, rooms.clock.now()
        if msg.participant:
            key = msg.participant
            if key not in log.participants or not key.startswith("g:"):
                raise p.Refused("unknown_peer", N_("This participant is not in the call."))
        else:
            names = dict(group.people)
            if msg.appointment not in names:
                raise p.Refused("unknown_peer", N_("This person is not in the group."))
            key = f"a:{msg.appointment}"
            if msg.by_phone:
                log.joined(key, names[msg.appointment], "person", now)
            elif key in log.participants:
                log.left(key, now)
        if key in log.participants:
            log.participants[key].by_phone = msg.by_phone
        appointment = await appointment_of(rooms, key)
        if appointment is not None and msg.by_phone:
            group.phone_appointments.add(appointment)
        elif appointment is not None:
            group.phone_appointments.discard(appointment)
        await rooms.save(part, session)
        rooms.tell_host_lobby(part)
