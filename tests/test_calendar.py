"""Calendar files follow RFC 5545 and RFC 5546: read by two independent parsers (icalendar and the
``ics`` package), every content line at most 75 octets and ended by CRLF (the last one too),
parameter values quoted, the person as ATTENDEE of a REQUEST or CANCEL, no alarm on a CANCEL.

The files are taken from real emails received by a real SMTP server (aiosmtpd), and from the
outbox when there is no mail server."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import warnings

import icalendar
import ics
from conftest import appointment_form, new_case


def attachment(envelope) -> bytes:
    """The calendar file of an email, byte for byte."""
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    # RFC 5545's default is UTF-8, but mail libraries read text/* without a charset as ASCII.
    assert part.get_content_charset() == "utf-8"
    return part.get_payload(decode=True)


def check_lines(raw: bytes) -> None:
    """RFC 5545 §3.1: lines of at most 75 octets (CRLF excluded), each ended by CRLF."""
    assert raw.endswith(b"\r\n"), raw[-20:]
    lines = raw[:-2].split(b"\r\n")
    assert not any(b"\n" in line or b"\r" in line for line in lines), "bare LF or CR"
    too_long = [line for line in lines if len(line) > 75]
    assert not too_long, too_long[:2]
    for line in lines:
        line.decode("utf-8")  # folding never cuts a character in two


def read_both(raw: bytes) -> tuple[icalendar.Calendar, ics.Event]:
    """The file read by icalendar and by ics: both must understand it."""
    calendar = icalendar.Calendar.from_ical(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ics 0.7 warns of its own future changes
        [event] = list(ics.Calendar(raw.decode("utf-8")).events)
    return calendar, event


def the_event(calendar: icalendar.Calendar) -> icalendar.Event:
    [event] = calendar.walk("VEVENT")
    return event


def unfolded(raw: bytes) -> str:
    return raw.decode("utf-8").replace("\r\n ", "")


async def test_calendar_files_follow_rfc_5545(make_proxima, smtp_server):
    proxima = await make_proxima(smtp_url=smtp_server.url)
    helene = await proxima.worker("helene@example.org", "Dupont, Hélène")
    case = await new_case(helene, person_name="Diallo, Fatou")
    created = await helene.json("POST", f"/api/cases/{case['id']}/appointments",
                                appointment_form(time="14:30"), status=201)
    appointment_id = created["appointment"]["id"]
    await helene.json("PUT", f"/api/appointments/{appointment_id}",
                      appointment_form(time="16:00"))
    await helene.json("POST", f"/api/appointments/{appointment_id}/cancel")
    invited, moved, cancelled = await smtp_server.mailbox.wait(3)

    uids = set()
    for envelope, method, sequence, link in ((invited, "REQUEST", 0, created["link"]),
                                             (moved, "REQUEST", 1, None),
                                             (cancelled, "CANCEL", 2, None)):
        raw = attachment(envelope)
        check_lines(raw)
        calendar, event = read_both(raw)
        assert str(calendar["METHOD"]) == method
        assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
        vevent = the_event(calendar)
        uids.add(str(vevent["UID"]))
        assert event.uid == str(vevent["UID"])
        assert int(vevent["SEQUENCE"]) == sequence
        assert vevent.decoded("DTSTAMP").tzinfo is not None

        # The worker's name holds a comma: the parameter value is quoted, and both parsers read
        # the whole name back (as the invitation writes it, in reading order).
        organizer = vevent["ORGANIZER"]
        assert str(organizer) == "mailto:helene@example.org"
        assert organizer.params["CN"] == "Hélène Dupont"
        assert event.organizer.common_name == "Hélène Dupont"

        # RFC 5546: a REQUEST and a CANCEL name the attendee; the person's name, written
        # "Diallo, Fatou", is quoted.
        attendee = vevent["ATTENDEE"]
        assert str(attendee) == "mailto:fatou@example.net"
        assert attendee.params["CN"] == "Diallo, Fatou"
        assert 'CN="Diallo, Fatou"' in unfolded(raw)
        [person] = list(event.attendees)
        assert person.email == "fatou@example.net" and person.common_name == "Diallo, Fatou"

        alarms = vevent.walk("VALARM")
        if method == "CANCEL":
            assert str(vevent["STATUS"]) == "CANCELLED"
            assert alarms == [] and list(event.alarms) == []
        else:
            [alarm] = alarms
            assert alarm.decoded("TRIGGER") == dt.timedelta(minutes=-15)
            assert len(event.alarms) == 1
        if link:
            # The long description is folded, and unfolds to the whole text with the link.
            assert link in str(vevent["DESCRIPTION"]) and link in event.description
            assert "Hélène Dupont" in event.description
            assert len(str(vevent["DESCRIPTION"]).encode("utf-8")) > 500
    assert len(uids) == 1


async def test_a_case_without_email_gets_a_calendar_file_to_publish(proxima):
    """No address to send to: the worker gets the same file to send by hand, a PUBLISH, which
    RFC 5546 says names no attendee."""
    anne = await proxima.worker()
    case = await new_case(anne, email="", language="en")
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)
    [message] = (await anne.json("GET", "/api/outbox"))["messages"]
    response = await anne.request("GET", f"/api/outbox/{message['id']}/invitation.ics")
    assert response.status == 200
    raw = await response.read()
    check_lines(raw)
    calendar, event = read_both(raw)
    assert str(calendar["METHOD"]) == "PUBLISH"
    vevent = the_event(calendar)
    assert "ATTENDEE" not in vevent and not event.attendees
    assert created["link"] in event.description
    assert "Time to test your connection" in str(vevent.walk("VALARM")[0]["DESCRIPTION"])


def test_parameter_values_with_separators_are_quoted():
    """A name holding ``;`` or ``:`` (and a comma) is one quoted parameter value."""
    from server.domain.calendar import make_ics
    from server.domain.models import Appointment, Worker

    now = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)
    worker = Worker(1, "anne@example.org", "Anne Martin; CMS: Nord, Est", "01 23 45 67 89",
                    "worker", False, False, now)
    appointment = Appointment(
        1, "abc", 1, 1, now + dt.timedelta(days=2), 45, "video", 15, "worker_calls", False,
        "planned", 0, "Logement", [], "01 23 45 67 89", "", now)
    raw = make_ics(appointment, worker, "proxima.example.org", "Rendez-vous", "Texte",
                   "Alarme", person_name="Sam: O'Neil; Jr", person_email="sam@example.net",
                   stamp=now).encode("utf-8")
    check_lines(raw)
    text = unfolded(raw)
    assert 'ORGANIZER;CN="Anne Martin; CMS: Nord, Est":mailto:anne@example.org' in text
    assert 'CN="Sam: O\'Neil; Jr"' in text
    calendar, event = read_both(raw)
    assert the_event(calendar)["ORGANIZER"].params["CN"] == "Anne Martin; CMS: Nord, Est"
    assert event.organizer.common_name == "Anne Martin; CMS: Nord, Est"
    assert [a.common_name for a in event.attendees] == ["Sam: O'Neil; Jr"]
    assert the_event(calendar).decoded("DTSTAMP") == now
