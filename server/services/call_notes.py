"""The worker's private notes typed during an interview (issue 11, the call panel).

A draft per appointment, sealed at rest like every note, saved as the worker types (the page
sends the whole text a moment after the last key) and offered in the closing form's summary
notes. Only the appointment's own worker reads or writes it: not a colleague who opens the case,
not an administrator (the notes become the case's when the worker puts them in the closing form).
Every read is audited; the draft is dropped once the closing form is saved.
"""

from __future__ import annotations

import datetime as dt

from server.domain.models import Appointment, Worker, check_is_text, check_text
from server.services.participants import clean_text
from server.storage.repositories import Store

MAX_NOTES = 10_000  # as the closing form's notes, where they go


class NotYourNotes(Exception):
    """The notes of an appointment are its own worker's only."""


def may_keep_notes(worker: Worker, appointment: Appointment) -> bool:
    """Whether ``worker`` writes and reads the notes of this appointment's interview."""
    return appointment.worker_id == worker.id


async def read_notes(store: Store, worker: Worker, appointment: Appointment,
                     ) -> tuple[str, dt.datetime | None]:
    """The draft and when it was saved ("", None without one); the read is audited."""
    actor = f"worker:{worker.id}"
    if not may_keep_notes(worker, appointment):
        await store.audit.record(actor, "read_call_notes", "denied", case_id=appointment.case_id,
                                 target=f"appointment:{appointment.id}")
        raise NotYourNotes()
    found = await store.call_notes.get(appointment.id)
    await store.audit.record(actor, "read_call_notes", "ok", case_id=appointment.case_id,
                             target=f"appointment:{appointment.id}")
    return found if found is not None else ("", None)


async def save_notes(store: Store, worker: Worker, appointment: Appointment,
                     text: object) -> tuple[str, dt.datetime]:
    """Replace the draft with ``text`` (checked: text, at most ``MAX_NOTES`` characters,
    control characters but newlines removed); returns what was kept and when."""
    if not may_keep_notes(worker, appointment):
        await store.audit.record(f"worker:{worker.id}", "save_call_notes", "denied",
                                 case_id=appointment.case_id,
                                 target=f"appointment:{appointment.id}")
        raise NotYourNotes()
    notes = check_text("notes", clean_text(check_is_text("notes", text)), MAX_NOTES,
                       required=False)
    return notes, await store.call_notes.save(appointment.id, worker.id, notes)
