"""A case record as an export: for the paper file (a printable page) and for other software (CSV,
JSON). No I/O: the edge reads the record (the worker's own read, audited), this module says what
each entry holds in words a reader understands.

The entries are the case page's, as stored: a group session's entry already holds only this
person's part of it (``services/records.py``), so nothing of another beneficiary appears.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from server.domain.models import N_, Case, CaseEntry

SCHEMA_VERSION = 1  # of the JSON export: a field changes meaning only with a new version

# The same words as the case page's (web/templates/console/_macros.html, entry_label).
ENTRY_LABELS = {
    "case_opened": N_("Case opened"), "case_updated": N_("Case updated"),
    "appointment_created": N_("Appointment planned"), "appointment_moved": N_("Appointment moved"),
    "appointment_cancelled": N_("Appointment cancelled"),
    "invitation_issued": N_("Invitation link created"),
    "invitation_reissued": N_("New invitation link"),
    "invitation_revoked": N_("Invitation link revoked"), "invitation_sent": N_("Message sent"),
    "invitation_failed": N_("Message not sent"), "reminder_sent": N_("SMS reminder sent"),
    "link_opened": N_("Link opened"), "test_done": N_("Connection test done"),
    "help_asked": N_("Help asked during the connection test"),
    "session_log": N_("Interview session"), "session_closing": N_("Interview notes and follow-ups"),
    "group_session": N_("Group session"),
    "group_closing": N_("Group session: follow-ups and next meeting")}
MODALITIES = {"video": N_("Video"), "audio": N_("Audio only"), "phone": N_("Phone"),
              "in_person": N_("In person")}
END_REASONS = {"ended_by_worker": N_("ended by the worker"),
               "phone_finished": N_("finished by phone"),
               "worker_left": N_("the worker left"), "abandoned": N_("everyone left"),
               "postponed": N_("postponed"), "consent_withdrawn": N_("consent withdrawn")}
# The case page's words for why a message was not sent and for a connection test's advice
# (_macros.html: delivery_reason, recommendation_label).
DELIVERY_REASONS = {
    "recipient_refused": N_("The mail server refused the address: it may not exist. Check it, "
                            "or send the link another way."),
    "message_refused": N_("The mail server refused the message. Send the link another way."),
    "mail_login_refused": N_("The mail server refused Proxima's login: an administrator must "
                             "check the mail settings. Send the link another way."),
    "sms_refused": N_("The SMS gateway refused the message: the number may be wrong. Send the "
                      "link another way."),
    "mail_server_unreachable": N_("The mail server could not be reached."),
    "mail_server_deferred": N_("The mail server could not take the message for now (for "
                               "example, a full mailbox)."),
    "sms_gateway_unreachable": N_("The SMS gateway could not be reached."),
    "sms_gateway_deferred": N_("The SMS gateway could not take the message for now."),
    "unexpected": N_("An unexpected error stopped the sending.")}
ADVICE = {"video": N_("video will work well"), "audio": N_("sound only suggested"),
          "phone": N_("too weak: call by phone")}
EVERYONE_LABEL = N_("Everyone")
THIS_PERSON_LABEL = N_("This person")

# A value of a detail: text (said as it is), a moment (formatted in the reader's zone), or a
# code to translate (a msgid).
Moment = dt.datetime


@dataclasses.dataclass(frozen=True)
class Code:
    """A word to translate (a msgid), for a modality or how a session ended."""

    msgid: str


Value = str | Moment | Code


def _moment(value: Any) -> Moment | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _code(table: dict[str, str], value: Any) -> Value:
    return Code(table[value]) if value in table else str(value or "")


def _follow_ups(data: dict[str, Any]) -> list[tuple[str, Value]]:
    out: list[tuple[str, Value]] = []
    for item in data.get("follow_ups") or []:
        who = item.get("who", "")
        named: Value = Code(EVERYONE_LABEL) if who == "everyone" else \
            Code(THIS_PERSON_LABEL) if who == "this_person" else str(who)
        out.append((N_("Who"), named))
        out.append((N_("Follow-up"), str(item.get("what", ""))))
        if item.get("by"):
            out.append((N_("By"), str(item["by"])))
    return out


def _session(data: dict[str, Any]) -> list[tuple[str, Value]]:
    """An interview or group session: when, how long, how it ended, who took part."""
    out: list[tuple[str, Value]] = []
    for label, key in ((N_("Started"), "started_at"), (N_("Ended"), "ended_at")):
        if (moment := _moment(data.get(key))) is not None:
            out.append((label, moment))
    if data.get("duration_seconds") is not None:
        out.append((N_("Minutes"), str((int(data["duration_seconds"]) + 30) // 60)))
    if data.get("end_reason"):
        out.append((N_("How it ended"), _code(END_REASONS, data["end_reason"])))
    people = data.get("participants")
    if isinstance(people, dict):  # a 1:1 session: the names of who took part
        out.append((N_("Participants"), ", ".join(str(p.get("name", ""))
                                                  for p in people.values())))
    elif people is not None:  # a group session: how many, and whether this person came
        out.append((N_("Participants"), str(people)))
        out.append((N_("Attended"), Code(N_("yes") if data.get("attended") else N_("no"))))
    return out + _follow_ups(data)


def details(entry: CaseEntry) -> list[tuple[str, Value]]:
    """What an entry holds, as (label msgid, value) pairs, in the order a reader wants them."""
    data, kind = entry.data, entry.kind
    if kind in ("session_log", "group_session"):
        return _session(data)
    out: list[tuple[str, Value]] = []
    if kind == "session_closing" or kind == "group_closing":
        if data.get("notes"):
            out.append((N_("Notes"), str(data["notes"])))
        out += _follow_ups(data)
        nxt = data.get("next_appointment") or data.get("next_meeting")
        if nxt and (moment := _moment(nxt.get("starts_at"))) is not None:
            out.append((N_("Next appointment"), moment))
        return out
    for label, key in ((N_("Date"), "starts_at"), (N_("Former time"), "from"),
                       (N_("New time"), "to")):
        if (moment := _moment(data.get(key))) is not None:
            out.append((label, moment))
    if data.get("modality"):
        out.append((N_("Modality"), _code(MODALITIES, data["modality"])))
    if data.get("by"):
        out.append((N_("By"), str(data["by"])))
    if data.get("reason"):
        out.append((N_("Reason"), _code(DELIVERY_REASONS, data["reason"])))
    if data.get("recommendation"):
        out.append((N_("Advice"), _code(ADVICE, data["recommendation"])))
    for label, key in ((N_("Browser"), "browser"), (N_("Device"), "device")):
        if data.get(key):  # words of the case page's (msgids)
            out.append((label, Code(str(data[key]))))
    return out


def as_json(case: Case, entries: list[CaseEntry], appointments: list[dict[str, Any]],
            exported_at: dt.datetime) -> dict[str, Any]:
    """The JSON export: GET /api/cases/{id}'s data, with the schema's version and the moment."""
    return {"schema_version": SCHEMA_VERSION, "exported_at": exported_at.isoformat(),
            "case": case.public(), "record": [e.public() for e in entries],
            "appointments": appointments}


def as_rows(entries: list[CaseEntry], label: Callable[[str], str],
            say: Callable[[Value], str]) -> list[list[str]]:
    """One CSV row per entry: its moment, what it is, its appointment, its details as text
    (``label`` translates a msgid, ``say`` writes a value in the reader's words)."""
    return [[say(e.at), label(ENTRY_LABELS.get(e.kind, e.kind)),
             str(e.appointment_id or ""),
             "\n".join(f"{label(name)}: {say(value)}" for name, value in details(e))]
            for e in entries]
