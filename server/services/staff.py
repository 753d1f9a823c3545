"""A group's workers in its room: who they are, what each may do, and co-workers in the call.

The facilitator hosts (``role`` "worker" on the wire); the group's other workers connect as
"coworker" (the note-taker, the technical helper, a co-worker). Co-workers are staff: no consent,
no admission. Before a session they wait with the host; when the host's first admission starts it,
those connected join the call, and one who connects during a session joins it at once. Each keeps
their role in the session log.

Who may do what (docs/protocol.md, "A group session"): the host everything; the technical helper
also admits and mutes; the others what any member of the call does.
"""

from __future__ import annotations

import datetime as dt

from server.domain import protocol as p
from server.domain.group_room import GroupRoom
from server.domain.ids import ParticipantId
from server.domain.models import N_, InterviewSession
from server.domain.room import RoomRef
from server.services.participants import Participant, worker_only
from server.services.rooms import Rooms

ADMITS_AND_MUTES = ("technical_helper",)  # besides the host


async def load_group(rooms: Rooms, room_ref: RoomRef) -> GroupRoom | None:
    """The group room's state, read from storage on the room's first join (under its lock)."""
    if room_ref.group_id is None:
        return None
    group = rooms.bus.group(room_ref.public_id)
    if group is not None:
        return group
    found = await rooms.store.groups.get(room_ref.group_id)
    if found is None:
        return None
    members = await rooms.store.groups.members(found.id)
    roles = {ParticipantId.worker(m.worker_id): str(m.role) for m in members
             if m.worker_id is not None}
    roles[ParticipantId.worker(found.facilitator_id)] = "facilitator"
    people = []
    for member in members:
        appointment = (await rooms.store.appointments.get(member.appointment_id)
                       if member.appointment_id is not None else None)
        case = await rooms.store.cases.get(appointment.case_id) if appointment else None
        if appointment is not None and case is not None:
            people.append((appointment.id, case.person_name))
    group = GroupRoom(found, roles, people, members=len(members) + 1)
    session = await rooms.store.interviews.active_in(room_ref)
    if session is not None:
        group.started_at = session.started_at
        last_break = session.log.last_break_end()
        group.stretch_since = _time(last_break) if last_break else session.started_at
        group.phone_appointments = await _phone_marks(rooms, session)
    rooms.bus.set_group(room_ref.public_id, group)
    return group


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def _phone_marks(rooms: Rooms, session: InterviewSession) -> set[int]:
    """The appointments of the persons marked as attending by phone in the session's log."""
    marked = set()
    for pid, entry in session.log.participants.items():
        if entry.by_phone:
            appointment = await appointment_of(rooms, pid)
            if appointment is not None:
                marked.add(appointment)
    return marked


async def appointment_of(rooms: Rooms, participant: str) -> int | None:
    """The appointment a person's browser (``g:…``), or a person marked by appointment
    (``a:…``), belongs to."""
    kind, _, number = participant.partition(":")
    if kind == "a" and number.isdigit():
        return int(number)
    if kind != "g" or not number.isdigit():
        return None
    found = await rooms.store.invitations.browser_access(int(number))
    return found[0].appointment_id if found is not None else None


# -- who may do what ----------------------------------------------------------------------------

def host_only(part: Participant) -> None:
    """Refuse a tool of the facilitator's to anyone else."""
    if part.role != "worker":
        raise p.Refused("host_only", N_("Only the facilitator can do this."))


def may_admit_and_mute(rooms: Rooms, part: Participant) -> None:
    """The host, or in a group the technical helper; a person gets ``worker_only`` as in 1:1."""
    if part.role == "worker":
        return
    if part.role != "coworker":
        worker_only(part)  # a person: refused as in a 1:1 interview
    group = rooms.bus.group(part.room)
    if group is None or group.role_of(part.id) not in ADMITS_AND_MUTES:
        raise p.Refused("host_only",
                        N_("Only the facilitator or the technical helper can do this."))


# -- co-workers in the call ---------------------------------------------------------------------

def staff_waiting(rooms: Rooms, part: Participant, session: InterviewSession,
                  ) -> list[ParticipantId]:
    """The group's co-workers connected but not yet in the call, added to the session (and its
    log, with their role) as it starts; the caller saves the session and introduces them."""
    if not part.room_ref.is_group:
        return []
    joining = sorted(w for w in rooms.bus.present(part.room)
                     if w.is_worker and w != part.host_id and str(w) not in session.admitted)
    now = rooms.clock.now()
    group = rooms.bus.group(part.room)
    for worker in joining:
        session.admitted.append(str(worker))
        role = group.role_of(worker) if group else "co_worker"
        session.log.joined(str(worker), rooms.bus.name(part.room, worker), role, now)
    return joining
