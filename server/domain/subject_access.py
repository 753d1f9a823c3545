"""A person's data, as the right of access hands it over (GDPR art. 15): no I/O.

One file for the person: a zip holding ``donnees.json`` (everything, for software) and
``donnees.html`` (the same, to read and print: self-contained, its style inline, no asset from
anywhere). Everything Proxima holds about the person of a case: the case's details, its record
(a group session's entry already holds only this person's part), the appointments, the
invitations sent (never a link: only when and their state), the consents given, the messages
sent and their state (never their text, which holds the link), the browsers let in (never their
cookie), the connection tests' results, the group sessions they were invited to (the group's
name and time, never another member) and the legal hold, if any.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import zipfile
from typing import Any

from server.domain.groups import GroupSession
from server.domain.models import (
    Appointment,
    Case,
    CaseEntry,
    ConsentRecord,
    GuestBrowser,
    Invitation,
)
from server.domain.outbox import OutboxMessage

SCHEMA_VERSION = 1
JSON_NAME = "donnees.json"
HTML_NAME = "donnees.html"


@dataclasses.dataclass
class AppointmentData:
    """One appointment of the case and what hangs on it."""

    appointment: Appointment
    invitations: list[Invitation]
    browsers: list[GuestBrowser]
    consents: list[ConsentRecord]
    messages: list[OutboxMessage]
    tests: list[dict[str, Any]]
    call_notes: str | None = None
    group: GroupSession | None = None


def message(m: OutboxMessage) -> dict[str, Any]:
    """A message as the person may see it: what, when, to whom (masked), its state; never its
    text or link."""
    return {"id": m.id, "channel": m.channel, "kind": m.kind, "recipient": m.recipient_hint,
            "status": m.status, "attempts": m.attempts, "reason": m.last_error,
            "created_at": m.created_at.isoformat(),
            "sent_at": m.sent_at.isoformat() if m.sent_at else None}


def browser(b: GuestBrowser) -> dict[str, Any]:
    return {"browser": b.browser, "device": b.device,
            "first_seen_at": b.first_seen_at.isoformat(),
            "last_seen_at": b.last_seen_at.isoformat()}


def group(g: GroupSession) -> dict[str, Any]:
    """A group session the person was invited to: its name and time, nobody's name."""
    return {"id": g.id, "title": g.title, "starts_at": g.starts_at.isoformat(),
            "duration_minutes": g.duration_minutes, "modality": g.modality, "status": g.status,
            "rule": g.rule}


def appointment(item: AppointmentData, now: dt.datetime) -> dict[str, Any]:
    out = {**item.appointment.public(),
           "invitations": [i.public(now) for i in item.invitations],
           "browsers": [browser(b) for b in item.browsers],
           "consents": [c.public() for c in item.consents],
           "messages": [message(m) for m in item.messages],
           "connection_tests": item.tests,
           "group_session": group(item.group) if item.group else None}
    if item.call_notes:
        out["call_notes"] = item.call_notes
    return out


def as_json(case: Case, entries: list[CaseEntry], items: list[AppointmentData],
            hold: dict[str, Any] | None, exported_at: dt.datetime) -> dict[str, Any]:
    """Everything held about the person of ``case``."""
    return {"schema_version": SCHEMA_VERSION, "exported_at": exported_at.isoformat(),
            "case": case.public(), "legal_hold": hold,
            "appointments": [appointment(i, exported_at) for i in items],
            "record": [e.public() for e in entries]}


def as_zip(data: dict[str, Any], html: str) -> bytes:
    """The one file handed over: the JSON and the printable page, in a zip."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(JSON_NAME, json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr(HTML_NAME, html)
    return out.getvalue()
