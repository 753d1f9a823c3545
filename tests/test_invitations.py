"""Invitations by email through a real SMTP server (aiosmtpd), with a calendar file checked by an
independent parser (icalendar); the outbox when SMTP is down; messages without SMTP."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from zoneinfo import ZoneInfo

import icalendar
from conftest import appointment_form, eventually, new_case


def parse(envelope):
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    parts = {part.get_content_type(): part for part in message.walk()}
    calendar = icalendar.Calendar.from_ical(parts["text/calendar"].get_content())
    return message, parts, calendar


def event_of(calendar):
    events = [c for c in calendar.walk() if c.name == "VEVENT"]
    assert len(events) == 1
    return events[0]


async def test_invitation_email_with_calendar_then_move_then_cancel(make_proxima, smtp_server):
    proxima = await make_proxima(smtp_url=smtp_server.url, service_phone="01 99 88 77 66")
    anne = await proxima.worker()
    case = await new_case(anne)
    form = appointment_form(time="14:30")
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments", form, status=201)
    link = created["link"]
    appointment_id = created["appointment"]["id"]

    [envelope] = await smtp_server.mailbox.wait(1)
    assert envelope.rcpt_tos == ["fatou@example.net"]
    message, parts, calendar = parse(envelope)
    assert "text/plain" in parts and "text/html" in parts
    text = parts["text/plain"].get_content()
    html = parts["text/html"].get_content()
    # The field guide's checklist, in French, in plain words.
    assert "Bonjour Fatou Diallo" in text
    assert link in text and link in html
    assert "01 23 45 67 89" in text
    assert "14:15" in text  # the connection test, 15 minutes before
    assert "14:30" in text
    assert "Paul Durand" in text and "logement" in text
    assert "Plan B" in text
    assert "<img" not in html and "http://" not in html
    assert [u for u in html.split('"') if u.startswith("https://")] == [link]

    assert calendar["METHOD"] == "REQUEST"
    event = event_of(calendar)
    start_local = dt.datetime.fromisoformat(f"{form['date']}T14:30").replace(
        tzinfo=ZoneInfo("Europe/Paris"))
    start = event.decoded("DTSTART")
    assert start == start_local and start.utcoffset() == dt.timedelta(0)
    assert event.decoded("DTEND") - start == dt.timedelta(minutes=45)
    description = str(event["DESCRIPTION"])
    assert link in description and "01 23 45 67 89" in description
    uid = str(event["UID"])
    assert int(event["SEQUENCE"]) == 0
    [alarm] = [c for c in event.walk() if c.name == "VALARM"]
    assert alarm.decoded("TRIGGER") == dt.timedelta(minutes=-15)

    # Moving sends the updated event (same UID, higher SEQUENCE) with a new link.
    moved_form = appointment_form(time="16:00")
    moved = await anne.json("PUT", f"/api/appointments/{appointment_id}", moved_form)
    assert moved["link"] != link
    await smtp_server.mailbox.wait(2)
    message2, parts2, calendar2 = parse(smtp_server.mailbox.messages[1])
    # A new message, not a copy of the first: mail systems must not fold the two.
    assert message2["Message-ID"] != message["Message-ID"]
    event2 = event_of(calendar2)
    assert calendar2["METHOD"] == "REQUEST"
    assert str(event2["UID"]) == uid and int(event2["SEQUENCE"]) == 1
    assert event2.decoded("DTSTART").astimezone(ZoneInfo("Europe/Paris")).hour == 16
    assert moved["link"] in str(event2["DESCRIPTION"])
    assert "16:00" in parts2["text/plain"].get_content()

    # Cancelling sends the cancelled event.
    await anne.json("POST", f"/api/appointments/{appointment_id}/cancel")
    await smtp_server.mailbox.wait(3)
    _, parts3, calendar3 = parse(smtp_server.mailbox.messages[2])
    event3 = event_of(calendar3)
    assert calendar3["METHOD"] == "CANCEL"
    assert str(event3["STATUS"]) == "CANCELLED"
    assert str(event3["UID"]) == uid and int(event3["SEQUENCE"]) == 2
    assert moved["link"] not in parts3["text/plain"].get_content()

    # The case record tells the story; the outbox keeps no link once sent.
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    kinds = [e["kind"] for e in record]
    for kind in ("appointment_created", "invitation_sent", "appointment_moved",
                 "appointment_cancelled"):
        assert kind in kinds
    messages = (await anne.json("GET", "/api/outbox"))["messages"]
    assert {m["status"] for m in messages} == {"sent"}
    assert all("link" not in m for m in messages)


async def test_english_invitation(make_proxima, smtp_server):
    proxima = await make_proxima(smtp_url=smtp_server.url)
    anne = await proxima.worker()
    case = await new_case(anne, language="en", email="sam@example.net")
    await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                    appointment_form(modality="audio"), status=201)
    [envelope] = await smtp_server.mailbox.wait(1)
    _, parts, _ = parse(envelope)
    text = parts["text/plain"].get_content()
    assert "Hello Fatou Diallo" in text
    assert "audio interview" in text
    assert "microphone" in text and "camera" not in text


async def test_smtp_down_then_back(make_proxima, smtp_server):
    smtp_server.stop()
    proxima = await make_proxima(smtp_url=smtp_server.url)
    anne = await proxima.worker()
    case = await new_case(anne)
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(), status=201)

    async def retried():
        [m] = (await anne.json("GET", "/api/outbox"))["messages"]
        return m if m["status"] == "pending" and m["attempts"] >= 2 else None
    waiting = await eventually(retried)
    assert "unreachable" in waiting["last_error"]
    page = await anne.request("GET", f"/appointments/{created['appointment']['id']}",
                              headers={"Accept": "text/html"})
    assert "Pas encore envoyé" in await page.text()
    record = (await anne.json("GET", f"/api/cases/{case['id']}"))["record"]
    assert "invitation_failed" in [e["kind"] for e in record]

    smtp_server.start()
    [envelope] = await smtp_server.mailbox.wait(1, timeout=15)
    assert created["link"] in envelope.content.decode()

    async def sent():
        [m] = (await anne.json("GET", "/api/outbox"))["messages"]
        return m["status"] == "sent"
    await eventually(sent)


async def test_without_smtp_the_worker_sends_the_link(proxima):
    anne = await proxima.worker()
    case = await new_case(anne, mobile="06 11 22 33 44")
    created = await anne.json("POST", f"/api/cases/{case['id']}/appointments",
                              appointment_form(sms_reminder=True), status=201)
    messages = (await anne.json("GET", "/api/outbox"))["messages"]
    by_channel = {m["channel"]: m for m in messages}
    assert by_channel["email"]["status"] == "manual"
    assert by_channel["email"]["link"] == created["link"]
    sms = by_channel["sms"]
    assert sms["status"] == "manual" and sms["recipient"] == "…44"
    # An SMS carries the time and the link, nothing else personal.
    assert created["link"] in sms["text"] and "10:00" in sms["text"]
    assert "Fatou" not in sms["text"] and "logement" not in sms["text"]
    page = await anne.request("GET", "/outbox", headers={"Accept": "text/html"})
    assert created["link"] in await page.text()
    done = await anne.json("POST", f"/api/outbox/{by_channel['email']['id']}/done")
    assert done["message"]["status"] == "sent" and "link" not in done["message"]


async def test_the_invitation_names_the_worker_in_full_and_in_reading_order(make_proxima,
                                                                             smtp_server):
    """"Dupont, Hélène" is "Hélène Dupont" in the subject, the text and the signature (not
    "avec Dupont, le …"); a name written in reading order is kept whole ("Marie Claire Martin",
    whose first word is not the whole first name). The person's page says the given name."""
    proxima = await make_proxima(smtp_url=smtp_server.url)
    for n, (written, named, given) in enumerate((
            ("Dupont, Hélène", "Hélène Dupont", "Hélène"),
            ("Marie Claire Martin", "Marie Claire Martin", "Marie"))):
        worker = await proxima.worker(f"w{n}@example.org", written)
        case = await new_case(worker)
        created = await worker.json("POST", f"/api/cases/{case['id']}/appointments",
                                    appointment_form(), status=201)
        envelope = (await smtp_server.mailbox.wait(n + 1))[n]
        message, parts, calendar = parse(envelope)
        assert message["Subject"].startswith(f"Votre rendez-vous avec {named} le "), \
            message["Subject"]
        text = parts["text/plain"].get_content().replace("\r\n", "\n")
        assert f"en vidéo avec {named} (" in text
        assert f"{named} vous appellera" in text
        assert text.rstrip().endswith(f"{named}\nService social")
        assert "Dupont," not in text and "Dupont," not in message["Subject"]
        assert str(event_of(calendar)["SUMMARY"]).startswith(f"Rendez-vous avec {named} (")

        phone = proxima.client()
        page = await phone.request("GET", created["link"].replace(proxima.url, ""),
                                   headers={"Accept": "text/html"})
        assert f"Un entretien en vidéo avec {given}." in await page.text()
