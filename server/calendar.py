"""Calendar files (.ics) for appointments, made with the ``ics`` package.

One stable UID per appointment; each change raises SEQUENCE; a move is sent as METHOD:REQUEST,
a cancellation as METHOD:CANCEL with STATUS:CANCELLED. The alarm rings when the connection test
opens.
"""

from __future__ import annotations

import datetime as dt
import warnings

import ics
from ics.grammar.parse import ContentLine

from . import clock
from .models import Appointment, Worker


def event_uid(appointment: Appointment, host: str) -> str:
    return f"appointment-{appointment.public_id}@{host}"


def make_ics(appointment: Appointment, worker: Worker, host: str, summary: str,
             description: str, alarm_text: str, cancelled: bool = False) -> str:
    """The calendar file for ``appointment`` in its current state."""
    event = ics.Event(
        name=summary,
        begin=appointment.starts_at,
        end=appointment.ends_at,
        uid=event_uid(appointment, host),
        description=description,
        status="CANCELLED" if cancelled else "CONFIRMED",
        organizer=ics.Organizer(email=worker.email, common_name=worker.display_name),
        alarms=[ics.DisplayAlarm(
            trigger=dt.timedelta(minutes=-appointment.test_minutes), display_text=alarm_text)],
    )
    event.extra.append(ContentLine(name="SEQUENCE", value=str(appointment.sequence)))
    event.extra.append(ContentLine(
        name="DTSTAMP", value=clock.now().strftime("%Y%m%dT%H%M%SZ")))
    calendar = ics.Calendar(creator="-//Proxima//Proxima//EN")
    calendar.extra.append(ContentLine(name="METHOD", value="CANCEL" if cancelled else "REQUEST"))
    calendar.events.add(event)
    with warnings.catch_warnings():
        # ics 0.7 serialises alarms through str(), which warns about a future change.
        warnings.simplefilter("ignore", FutureWarning)
        return calendar.serialize()
