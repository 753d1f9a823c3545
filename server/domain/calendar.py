"""Calendar files (.ics) for appointments, written with ``icalendar`` to RFC 5545 and RFC 5546.

One stable UID per appointment; each change raises SEQUENCE. Sent by email, the file is a
METHOD:REQUEST (a move is a REQUEST with the same UID) or a METHOD:CANCEL with STATUS:CANCELLED,
with the person as ATTENDEE, as RFC 5546 requires. A person without an email address gets the
file by hand from the worker: it is then a METHOD:PUBLISH, which names no attendee. The alarm
rings when the connection test opens; a cancelled event has none.

``icalendar`` folds content lines at 75 octets (never inside a UTF-8 character), ends every line
with CRLF and quotes parameter values holding ``,`` ``;`` or ``:`` (a worker named
"Dupont, Hélène"). DTSTAMP is given by the caller: the time the message was queued, so that every
attempt to send it carries the same file (docs/delivery.md).
"""

from __future__ import annotations

import datetime as dt

import icalendar

from server.domain.models import Appointment, Worker

PRODID = "-//Proxima//Proxima//EN"


def event_uid(appointment: Appointment, host: str) -> str:
    return f"appointment-{appointment.public_id}@{host}"


def calendar_method(person_email: str, cancelled: bool) -> str:
    """REQUEST or CANCEL for a file sent to the person's address; PUBLISH for one given by hand."""
    if not person_email:
        return "PUBLISH"
    return "CANCEL" if cancelled else "REQUEST"


def make_ics(appointment: Appointment, worker: Worker, host: str, summary: str,
             description: str, alarm_text: str, *, person_name: str, person_email: str,
             stamp: dt.datetime, cancelled: bool = False) -> str:
    """The calendar file for ``appointment`` in its current state, as text with CRLF line ends."""
    method = calendar_method(person_email, cancelled)
    event = icalendar.Event()
    event.add("uid", event_uid(appointment, host))
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("sequence", appointment.sequence)
    event.add("dtstart", appointment.starts_at.astimezone(dt.UTC))
    event.add("dtend", appointment.ends_at.astimezone(dt.UTC))
    event.add("summary", summary)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", f"mailto:{worker.email}", parameters={"CN": worker.natural_name})
    if method != "PUBLISH":
        # Proxima reads no calendar replies: the person is not asked to answer (RSVP=FALSE).
        event.add("attendee", f"mailto:{person_email}", parameters={
            "CN": person_name, "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION",
            "RSVP": "FALSE"})
    if not cancelled:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", alarm_text)
        alarm.add("trigger", dt.timedelta(minutes=-appointment.test_minutes))
        event.add_component(alarm)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical.decode("utf-8")
