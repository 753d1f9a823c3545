"""Invitation messages: the email (text, HTML, .ics) and the SMS reminder, in the person's language.

The text follows the field guide's "before the interview" checklist: what, when, when to test the
connection, what will be discussed, who will attend, what is needed, the link, the phone number for
incidents, and plan B. Written in easy-to-read language (FALC): short sentences, one idea a line.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from server.base import clock, i18n
from server.base.settings import Config
from server.domain.calendar import calendar_method, make_ics
from server.domain.models import Appointment, Case, Worker


@dataclasses.dataclass(frozen=True)
class GroupInvite:
    """What a person's invitation to a group session says of the group: its name, how many will
    take part, its rule and its agenda (shared beforehand, as the field guide asks). Never the
    others' names (someone else's personal data)."""

    title: str
    people: int  # everyone who takes part, the workers included
    rule: str
    agenda: tuple[tuple[str, int], ...] = ()  # each item and its minutes


def join_link(config: Config, token: str) -> str:
    return config.effective_public_url.rstrip("/") + "/j/" + token


def _context(config: Config, appointment: Appointment, case: Case, worker: Worker,
             link: str | None, lang: str, group: GroupInvite | None = None) -> dict[str, Any]:
    fmt = i18n.Formatter(lang, config.timezone)
    return {
        "appointment": appointment, "case": case, "worker": worker, "link": link,
        "group": group,
        "service_name": config.service_name, "service_phone": config.service_phone,
        "date": fmt.date(appointment.starts_at), "start": fmt.time(appointment.starts_at),
        "test_time": fmt.time(appointment.test_opens_at), "end": fmt.time(appointment.ends_at),
    }


def compose_email(kind: str, config: Config, appointment: Appointment, case: Case,
                  worker: Worker, link: str | None,
                  group: GroupInvite | None = None) -> dict[str, Any]:
    """The email for ``kind`` ('invitation', 'moved' or 'cancelled') as a payload for the outbox.

    Composed once, when the message is queued: the calendar file's DTSTAMP is that moment, so
    every attempt sends the same message. A case without an email address gets the same text
    and a calendar file to publish, for the worker to send by hand.

    The worker is named by their display name in reading order (``Worker.natural_name``), not
    by a first name guessed from its first word: that guess gives "Dupont," for
    "Dupont, Hélène" and "Marie" for "Marie Claire Martin", and the person, who may not have
    met the worker yet, needs the full name to recognise them and to ask for them.
    """
    lang = case.language
    tr = i18n.translations(lang)
    ctx = _context(config, appointment, case, worker, link, lang, group)
    cancelled = kind == "cancelled"
    subjects = {
        "invitation": tr.gettext("Your appointment with {name} on {date}"),
        "moved": tr.gettext("New time for your appointment with {name}: {date}"),
        "cancelled": tr.gettext("Cancelled: your appointment with {name} on {date}"),
    }
    subject = subjects[kind].format(name=worker.natural_name, date=ctx["date"])
    body_text = i18n.render(lang, "mail/_lines.txt", kind=kind, **ctx)
    text = i18n.render(lang, "mail/invitation.txt", kind=kind, body_text=body_text, **ctx)
    html = i18n.render(lang, "mail/invitation.html", kind=kind, subject=subject,
                       body_text=body_text, **ctx)
    summary = tr.gettext("Appointment with {name} ({service})").format(
        name=worker.natural_name, service=config.service_name)
    host = urlsplit(config.effective_public_url).hostname or "proxima"
    ics_text = make_ics(appointment, worker, host, summary, body_text.strip(),
                        tr.gettext("Time to test your connection"),
                        person_name=case.person_name, person_email=case.email,
                        stamp=clock.now(), cancelled=cancelled)
    return {"to": case.email, "subject": subject, "text": text, "html": html, "ics": ics_text,
            "method": calendar_method(case.email, cancelled), "link": link, "lang": lang}


def compose_sms(config: Config, appointment: Appointment, case: Case, link: str) -> dict[str, Any]:
    """The SMS reminder: the time and the link, nothing else personal."""
    tr = i18n.translations(case.language)
    fmt = i18n.Formatter(case.language, config.timezone)
    text = tr.gettext("Reminder: appointment {date} at {time}. Link: {link}").format(
        date=fmt.date(appointment.starts_at), time=fmt.time(appointment.starts_at), link=link)
    return {"to": case.mobile, "text": text, "link": link}


def mask(contact: str) -> str:
    """What the outbox shows of an address or number: enough to recognise it, no more."""
    if "@" in contact:
        user, _, domain = contact.partition("@")
        return user[:2] + "…@" + domain
    digits = "".join(ch for ch in contact if ch.isdigit())
    return "…" + digits[-2:] if digits else ""
