"""After the session: the worker's closing form — notes, follow-ups (who does what), and the next
appointment, whose invitation is sent at once. One act: all of it, or none."""

from __future__ import annotations

import dataclasses
from typing import Any

from server.domain.models import N_, Appointment, Case, Invalid, Worker, check_text
from server.services.participants import clean_text
from server.services.scheduling import AppointmentForm, Scheduling
from server.storage.repositories import Store

MAX_FOLLOW_UPS = 20


class NoSession(Exception):
    """The appointment has no session to close yet."""


@dataclasses.dataclass
class ClosingForm:
    """What the worker writes after the session (checked as it is read)."""

    notes: str
    follow_ups: list[dict[str, str]]
    next_appointment: dict[str, Any] | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClosingForm:
        notes = check_text("notes", clean_text(str(data.get("notes", ""))), 10_000,
                           required=False)
        nxt = data.get("next_appointment")
        if nxt and not isinstance(nxt, dict):
            raise Invalid("next_appointment", N_("Some fields are missing or wrong."))
        return cls(notes, _follow_ups(data.get("follow_ups", [])), nxt or None)


def _follow_ups(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or len(raw) > MAX_FOLLOW_UPS:
        raise Invalid("follow_ups", N_("Follow-ups must be a list."))
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("follow_ups", N_("Follow-ups must be a list."))
        who = check_text("follow_ups.who", str(item.get("who", "")), 200, required=False)
        what = check_text("follow_ups.what", str(item.get("what", "")), 1000, required=False)
        if who or what:
            out.append({"who": who, "what": what})
    return out


async def close_session(store: Store, scheduling: Scheduling, worker: Worker, case: Case,
                        appointment: Appointment, form: ClosingForm,
                        ) -> tuple[dict[str, Any], str | None]:
    """Write the closing to the session log and the case record; plan the next appointment.

    Returns what was recorded and the next appointment's link (None without one)."""
    session = await store.interviews.latest(appointment.id)
    if session is None:
        raise NoSession()
    next_form = None
    if form.next_appointment:
        base = {"duration_minutes": appointment.duration_minutes, "topic": appointment.topic,
                "incident_phone": appointment.incident_phone, "plan_b": appointment.plan_b,
                "attendees": [dataclasses.asdict(a) for a in appointment.attendees]}
        next_form = AppointmentForm.from_json({**base, **form.next_appointment})
    closing: dict[str, Any] = {"notes": form.notes, "follow_ups": form.follow_ups,
                               "next_appointment": None}
    link = None
    async with store.atomic():  # the notes, the next appointment and its invitation: all or none
        if next_form is not None:
            created, link = await scheduling.create(worker, case, next_form)
            closing["next_appointment"] = {"id": created.id,
                                           "starts_at": created.starts_at.isoformat(),
                                           "modality": created.modality}
        session.log.closing = closing
        await store.interviews.amend(session)
        await store.entries.add(case.id, "session_closing", closing, appointment.id)
        await store.call_notes.clear(appointment.id)  # the notes typed during the call: kept now
    return closing, link
