"""The end of a group session, written by the facilitator or the note-taker during or after it:
notes, follow-ups (who does what, by when) and the next meeting (its date and modality).

The closing is kept in the group's session log (replacing an earlier one), which only the group's
workers see. Once the session has ended, each person's case record gets their part of it at once
(``records.write_closing``); while it goes on, they get it with the session's end. One act, under
the room's lock: the live room writes the same log.

The next meeting of a group is recorded, not planned as appointments: planning it means a new
group session (its people, their agreements, each one's invitation), which is the planning form's
job; the facilitator plans it there when the date is certain. It may also be in person.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.base import clock
from server.domain.group_closing import (
    NEXT_MODALITIES,
    FollowUp,
    Person,
    check_follow_ups,
    parse_follow_ups,
)
from server.domain.groups import GroupMember, GroupSession
from server.domain.ids import actor_of_worker
from server.domain.models import N_, Invalid, Worker, check_choice, check_is_text, check_text
from server.domain.room import RoomRef
from server.live.locks import RoomLocks
from server.services.participants import clean_text
from server.services.records import group_people, write_closing
from server.services.scheduling import AppointmentForm
from server.storage.repositories import Store

_FIELDS = frozenset({"notes", "follow_ups", "next_meeting"})
_MEETING_FIELDS = frozenset({"date", "time", "occurrence", "modality"})


class NoSession(Exception):
    """The group has no session to close yet."""


class NotAllowed(Exception):
    """Only the facilitator or the note-taker (or an administrator) writes the closing."""


def may_close(worker: Worker, group: GroupSession, members: list[GroupMember]) -> bool:
    """Whether ``worker`` writes the group's closing: its facilitator, its note-taker, or an
    administrator."""
    return worker.is_admin or worker.id == group.facilitator_id or any(
        m.worker_id == worker.id and m.role == "note_taker" for m in members)


@dataclasses.dataclass
class GroupClosingForm:
    """What the facilitator or the note-taker writes (checked as it is read; who the follow-ups
    name is checked against the group when it is recorded)."""

    notes: str
    follow_ups: list[FollowUp]
    next_meeting: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GroupClosingForm:
        _known_fields(data, _FIELDS)
        notes = check_text("notes", clean_text(check_is_text("notes", data.get("notes", ""))),
                           10_000, required=False)
        follow_ups = parse_follow_ups(data.get("follow_ups", []))
        meeting = data.get("next_meeting")
        if meeting is not None and not isinstance(meeting, dict):
            raise Invalid("next_meeting", N_("Some fields are missing or wrong."))
        _known_fields(meeting or {}, _MEETING_FIELDS)
        return cls(notes, follow_ups, meeting or None)


def _known_fields(data: dict[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise Invalid(unknown[0], N_("Unknown field."))


def next_meeting(raw: dict[str, Any] | None, group: GroupSession,
                 zone: str) -> dict[str, Any] | None:
    """The next meeting's time (read like an appointment's: the service's time zone, the days
    the clocks change, not in the past) and modality."""
    if not raw:
        return None
    modality = check_choice("modality", raw.get("modality"), NEXT_MODALITIES)
    form = AppointmentForm.from_json({
        "date": str(raw.get("date", "")), "time": str(raw.get("time", "")),
        "occurrence": raw.get("occurrence", "first"), "duration_minutes": group.duration_minutes,
        "modality": "video", "topic": group.title, "incident_phone": group.incident_phone})
    return {"starts_at": form.starts_at(zone).isoformat(), "modality": modality}


class GroupClosing:
    """Recording the end of group sessions."""

    def __init__(self, store: Store, locks: RoomLocks, zone: str) -> None:
        self.store = store
        self.locks = locks
        self.zone = zone

    async def close(self, worker: Worker, group: GroupSession, members: list[GroupMember],
                    form: GroupClosingForm) -> tuple[dict[str, Any], int]:
        """Record the closing in the group's latest session; returns it, and how many case
        records got their part of it now (0 while the session goes on)."""
        if not may_close(worker, group, members):
            raise NotAllowed()
        actor = actor_of_worker(worker.id)
        async with self.locks.hold(group.public_id):
            session = await self.store.interviews.latest_in(RoomRef.of_group(group))
            if session is None:
                raise NoSession()
            people = await group_people(self.store, group.id)
            workers = {group.facilitator_id} | {m.worker_id for m in members
                                                if m.worker_id is not None}
            check_follow_ups(form.follow_ups, workers, [
                Person(p.member_id, p.case.person_name, p.case.reference) for p in people])
            closing: dict[str, Any] = {
                "notes": form.notes, "follow_ups": [f.to_json() for f in form.follow_ups],
                "next_meeting": next_meeting(form.next_meeting, group, self.zone),
                "by": worker.id, "at": clock.now().isoformat()}
            copied = 0
            async with self.store.atomic():  # the log and every person's part: all or none
                session.log.closing = closing
                await self.store.interviews.amend(session)
                if session.status == "ended":
                    copied = await write_closing(self.store, group.id, session.log, actor)
                await self.store.audit.record(actor, "close_group_session", "ok",
                                              target=f"group:{group.id}")
        return closing, copied
