"""What a live session writes to case records when it ends.

A 1:1 session's log goes to the person's case record whole. A group session's log stays with
the group (its workers see it: attendance, incidents, the closing's notes); each person's case
record gets their own part of it — the date, the length, how many took part, their own attendance
and consents, how it ended, the follow-ups for them or for everyone and the next meeting — and
never another beneficiary's name (it is someone else's personal data). A person invited who did
not come gets their part too (not attended), unless their appointment was cancelled.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.domain.group_closing import for_person
from server.domain.ids import ParticipantId
from server.domain.models import Appointment, Case, InterviewSession
from server.domain.room import RoomRef
from server.domain.session_log import SessionLog
from server.storage.repositories import Store


@dataclasses.dataclass(frozen=True)
class GroupPerson:
    """A person of a group: their member id, their own appointment and its case."""

    member_id: int
    appointment: Appointment
    case: Case


async def group_people(store: Store, group_id: int) -> list[GroupPerson]:
    """The persons of a group, in the order they were added."""
    people = []
    for member in await store.groups.members(group_id):
        if member.appointment_id is None:
            continue
        appointment = await store.appointments.get(member.appointment_id)
        case = await store.cases.get(appointment.case_id) if appointment else None
        if appointment is not None and case is not None:
            people.append(GroupPerson(member.id, appointment, case))
    return people


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
    assert room.group_id is not None
    people = await recipients(store, room.group_id, session.log)
    count = _attended(session.log, people)
    for person, browsers in people:
        await store.entries.add(person.case.id, "group_session",
                                person_part(session.log, browsers, count, person.member_id),
                                person.appointment.id)
        await store.audit.record(actor, "end_interview", "ok", case_id=person.case.id,
                                 target=f"group:{room.group_id}:{reason}")


async def write_closing(store: Store, group_id: int, log: SessionLog, actor: str) -> int:
    """A closing written after the session ended: each person's part of it to their case record
    (inside the caller's act). Returns how many records got it."""
    people = await recipients(store, group_id, log)
    for person, _ in people:
        await store.entries.add(person.case.id, "group_closing", {
            "started_at": log.started_at, **for_person(log.closing, person.member_id)},
            person.appointment.id)
        await store.audit.record(actor, "close_group_session", "ok", case_id=person.case.id,
                                 target=f"group:{group_id}")
    return len(people)


async def recipients(store: Store, group_id: int, log: SessionLog,
                     ) -> list[tuple[GroupPerson, list[str]]]:
    """The persons whose case record gets the session, each with their browsers in the log
    (and their own entry, ``a:<appointment id>``, if the facilitator marked them as attending by
    phone without a browser)."""
    browsers: dict[int, list[str]] = {}
    for pid in log.participants:
        appointment_id = await _appointment_of(store, pid)
        if appointment_id is not None:
            browsers.setdefault(appointment_id, []).append(pid)
    return [(p, browsers.get(p.appointment.id, [])) for p in await group_people(store, group_id)
            if p.appointment.id in browsers or p.appointment.status != "cancelled"]


def _attended(log: SessionLog, people: list[tuple[GroupPerson, list[str]]]) -> int:
    """How many took part: the workers in the log, and each person once (whatever their
    browsers)."""
    workers = sum(1 for pid in log.participants if pid.startswith("w:"))
    return workers + sum(1 for _, browsers in people if browsers)


def person_part(log: SessionLog, browsers: list[str], count: int,
                member_id: int) -> dict[str, Any]:
    """A person's own part of a group session's log: nobody else's name in it."""
    mine = [log.participants[b] for b in browsers if b in log.participants]
    stays = sorted((s.to_json() for p in mine for s in p.stays), key=lambda s: s["joined"])
    attendance: dict[str, Any] = {"role": "person", "stays": stays}
    devices = sorted({p.device for p in mine if p.device})
    if devices:
        attendance["device"] = ", ".join(devices)
    tests = [p.test for p in mine if p.test]
    if tests:
        attendance["test"] = tests[-1]
    if any(p.by_phone for p in mine):
        attendance["by_phone"] = True
    return {"started_at": log.started_at, "ended_at": log.ended_at,
            "duration_seconds": log.duration_seconds, "end_reason": log.end_reason,
            "participants": count, "attended": bool(mine), "attendance": attendance,
            "consents": [c for c in log.consents if c.get("participant") in browsers],
            **for_person(log.closing, member_id)}


async def _appointment_of(store: Store, participant: str) -> int | None:
    """The appointment a person's browser (``g:…``) came in with, or that a person marked by
    appointment (``a:…``) has; None for a worker."""
    kind, _, number = participant.partition(":")
    if kind == "a" and number.isdigit():
        return int(number)
    if kind != "g":
        return None
    found = await store.invitations.browser_access(ParticipantId.parse(participant).number)
    return found[0].appointment_id if found is not None else None
