"""What a live session writes to case records when it ends.

A 1:1 session's log goes to the person's case record whole. A group session's log stays with
the group (its workers see it: attendance, incidents); each person's case record gets their own
part of it — the date, the length, how many took part, their own attendance and consents, how it
ended — and never another beneficiary's name (it is someone else's personal data).
"""

from __future__ import annotations

from typing import Any

from server.domain.ids import ParticipantId
from server.domain.models import InterviewSession
from server.domain.room import RoomRef
from server.storage.repositories import Store


async def write_records(store: Store, room: RoomRef, session: InterviewSession,
                        reason: str, actor: str) -> None:
    """The session's log to the case record(s) and the audit log (inside the caller's act)."""
    if room.appointment_id is not None:
        appointment = await store.appointments.get(room.appointment_id)
        assert appointment is not None
        await store.entries.add(appointment.case_id, "session_log", session.log.to_json(),
                                appointment.id)
        await store.audit.record(actor, "end_interview", "ok", case_id=appointment.case_id,
                                 target=reason)
        return
    people = [pid for pid in session.log.participants if pid.startswith("g:")]
    for pid in people:
        own = await _appointment_of(store, ParticipantId.parse(pid))
        if own is None:
            continue
        appointment_id, case_id = own
        await store.entries.add(case_id, "group_session",
                                person_part(session, pid, len(session.log.participants)),
                                appointment_id)
        await store.audit.record(actor, "end_interview", "ok", case_id=case_id,
                                 target=f"group:{room.group_id}:{reason}")


def person_part(session: InterviewSession, participant: str, count: int) -> dict[str, Any]:
    """A person's own part of a group session's log: nobody else's name in it."""
    log = session.log
    mine = log.participants[participant].to_json()
    mine.pop("name", None)
    return {"started_at": log.started_at, "ended_at": log.ended_at,
            "duration_seconds": log.duration_seconds, "end_reason": log.end_reason,
            "participants": count, "attendance": mine,
            "consents": [c for c in log.consents if c.get("participant") == participant]}


async def _appointment_of(store: Store, browser: ParticipantId) -> tuple[int, int] | None:
    """The appointment and case a person's browser came in with."""
    found = await store.invitations.browser_access(browser.number)
    if found is None:
        return None
    appointment = await store.appointments.get(found[0].appointment_id)
    return (appointment.id, appointment.case_id) if appointment else None
