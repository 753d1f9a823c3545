"""The end of a group session: follow-ups (who does what, by when) and what each person gets.

The facilitator or the note-taker writes the closing: notes, follow-ups and the next meeting. It
stays with the group's session log, which only the group's workers see. Each person's case record
gets the follow-ups that concern them — those for everyone and their own — and the next meeting,
never another beneficiary's name: a follow-up whose text names another person of the group (a word
of their name, or their case reference) is refused with a plain message, not copied to the others'
records. Notes are not copied anywhere, so they may name anyone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from typing import Any

from server.domain.models import N_, Invalid, check_text

EVERYONE = "everyone"
MAX_FOLLOW_UPS = 20  # as in the 1:1 closing form
# A group's next meeting is recorded, not planned: it may also take place in person.
NEXT_MODALITIES = ("video", "audio", "phone", "in_person")
_WHO = re.compile(r"^(everyone|worker:[1-9][0-9]{0,18}|person:[1-9][0-9]{0,18})$")
# Particles of names that are also plain words: alone, they say nothing about who is meant.
_PARTICLES = frozenset({"de", "du", "des", "la", "le", "les", "da", "di", "do", "dos", "el",
                        "al", "van", "von", "der", "den", "ben", "bin", "y", "e", "d", "l"})


@dataclasses.dataclass(frozen=True)
class FollowUp:
    """Who does what, by when: ``who`` is ``everyone``, ``worker:<worker id>`` (the facilitator
    or a co-worker) or ``person:<member id>`` (a person of the group, as the group lists them)."""

    who: str
    what: str
    by: dt.date | None = None

    @property
    def person(self) -> int | None:
        """The member id of the person it concerns, if it is one person's."""
        return int(self.who.split(":")[1]) if self.who.startswith("person:") else None

    def to_json(self) -> dict[str, Any]:
        return {"who": self.who, "what": self.what,
                "by": self.by.isoformat() if self.by else None}


def parse_follow_ups(raw: object) -> list[FollowUp]:
    """Follow-ups from a form; an entry with nothing to do (``what`` empty) is dropped, whoever
    and whenever it names."""
    if not isinstance(raw, list) or len(raw) > MAX_FOLLOW_UPS:
        raise Invalid("follow_ups", N_("Follow-ups must be a list."))
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise Invalid("follow_ups", N_("Follow-ups must be a list."))
        what = check_text("follow_ups.what", item.get("what", ""), 1000, required=False)
        by = _date(item.get("by"))
        who = item.get("who", EVERYONE)
        if not what:  # an empty row of the form (its date alone says nothing to do)
            continue
        if not isinstance(who, str) or not _WHO.fullmatch(who.strip()):
            raise Invalid("follow_ups.who", N_("Choose who does it."))
        out.append(FollowUp(who.strip(), what, by))
    return out


def _date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise Invalid("follow_ups.by", N_("Please give the date as YYYY-MM-DD."))


@dataclasses.dataclass(frozen=True)
class Person:
    """A person of the group, as the closing's check needs them."""

    member_id: int
    name: str
    reference: str


def check_follow_ups(follow_ups: list[FollowUp], workers: set[int],
                     people: list[Person]) -> None:
    """Each follow-up names someone of the group, and what goes to a person's record names no
    other person of the group."""
    known = {p.member_id for p in people}
    for n, item in enumerate(follow_ups, start=1):
        kind, _, number = item.who.partition(":")
        if (kind == "worker" and int(number) not in workers) or (
                kind == "person" and int(number) not in known):
            raise Invalid("follow_ups.who", N_("Follow-up {n} is for someone who is not in "
                                               "the group."), n=n)
        if kind == "worker":
            continue  # it stays with the group: no person's record gets it
        words = _words(item.what)
        for other in people:
            if other.member_id == item.person:
                continue
            found = _named(words, other)
            if found:
                raise Invalid("follow_ups.what", N_(
                    "Follow-up {n} contains “{word}”, from the name or case reference of "
                    "another person in the group. Each person's record gets the follow-ups for "
                    "them and for everyone: please write it without the others' names."),
                    n=n, word=found)


def _fold(text: str) -> str:
    """Lower case without accents: "Émilie" and "emilie" are one name."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", _fold(text))


def _named(words: list[str], person: Person) -> str:
    """The word of ``person``'s name (or their whole case reference) found in ``words``."""
    present = set(words)
    written: list[str] = re.findall(r"\w+", person.name)  # said as the name is written
    for word in written:
        if _fold(word) not in _PARTICLES and _fold(word) in present:
            return word
    reference = _words(person.reference)
    if reference and len("".join(reference)) >= 3:
        size = len(reference)
        for i in range(len(words) - size + 1):
            if words[i:i + size] == reference:
                return person.reference
    return ""


def for_person(closing: dict[str, Any] | None, member_id: int) -> dict[str, Any]:
    """What a person's case record gets of a closing: the follow-ups for everyone and their own
    (``who`` becomes ``everyone`` or ``this_person``), and the next meeting."""
    if not closing:
        return {"follow_ups": [], "next_meeting": None}
    mine = []
    for item in closing.get("follow_ups", []):
        who = item.get("who")
        if who == EVERYONE or who == f"person:{member_id}":
            mine.append({"who": EVERYONE if who == EVERYONE else "this_person",
                         "what": item.get("what", ""), "by": item.get("by")})
    return {"follow_ups": mine, "next_meeting": closing.get("next_meeting")}
