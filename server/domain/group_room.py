"""What a group's call shares while it goes on: raised hands, the floor, the agenda item in
progress, the sound-and-camera round and the break (the field guide's speaking rules, round and
breaks). A plain value with no I/O; the room keeps one per group room in its live state and tells
everyone in the call (``public``) each time it changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from server.domain.groups import MAX_IN_A_ROW, GroupSession
from server.domain.ids import ParticipantId

RoundStatus = Literal["waiting", "ok", "problem"]


@dataclasses.dataclass
class RoundEntry:
    """One member's turn in the sound-and-camera round."""

    participant: ParticipantId
    status: RoundStatus = "waiting"
    hears: bool = False
    sees: bool = False


@dataclasses.dataclass
class SoundRound:
    """The facilitator goes through the list; each member says whether they hear and see."""

    entries: list[RoundEntry]
    current: ParticipantId | None = None

    def entry(self, participant: ParticipantId) -> RoundEntry:
        """The member's entry (added at the end if they came after the round started)."""
        for entry in self.entries:
            if entry.participant == participant:
                return entry
        entry = RoundEntry(participant)
        self.entries.append(entry)
        return entry

    def check(self, participant: ParticipantId, hears: bool, sees: bool) -> None:
        entry = self.entry(participant)
        entry.hears, entry.sees = hears, sees
        entry.status = "ok" if hears and sees else "problem"

    def next(self, participant: ParticipantId | None = None) -> None:
        """The turn goes to ``participant``, or to the next entry not yet ``ok`` (None: all are)."""
        if participant is not None:
            self.current = self.entry(participant).participant
            return
        ids = [e.participant for e in self.entries]
        start = ids.index(self.current) + 1 if self.current in ids else 0
        for entry in self.entries[start:] + self.entries[:start]:
            if entry.status != "ok":
                self.current = entry.participant
                return
        self.current = None

    def drop(self, participant: ParticipantId) -> None:
        if self.current == participant:
            self.next()
        self.entries = [e for e in self.entries if e.participant != participant]
        if self.current == participant:
            self.current = None


@dataclasses.dataclass
class Pause:
    """A break: its length and when its countdown ends."""

    minutes: int
    until: dt.datetime

    def remaining(self, now: dt.datetime) -> int:
        return max(0, int((self.until - now).total_seconds()))


@dataclasses.dataclass
class GroupRoom:
    """A group's call, as everyone in it sees it; and what the room knows of the group."""

    group: GroupSession
    roles: dict[ParticipantId, str]  # the group's workers by participant id: their role
    people: list[tuple[int, str]]  # each person: their own appointment's id, their name
    members: int  # how many take part, the facilitator included
    hands: list[ParticipantId] = dataclasses.field(default_factory=list)
    floor: ParticipantId | None = None
    agenda_item: int = -1
    agenda_since: dt.datetime | None = None
    round: SoundRound | None = None
    pause: Pause | None = None
    started_at: dt.datetime | None = None  # the session's start (None: no session)
    stretch_since: dt.datetime | None = None  # the start of the time without a break
    phone_appointments: set[int] = dataclasses.field(default_factory=set)
    reminded: set[str] = dataclasses.field(default_factory=set)  # reminders sent, by kind

    # -- hands and the floor -------------------------------------------------------------------

    def raise_hand(self, participant: ParticipantId) -> None:
        """Up, at the end of the queue (a hand already up keeps its place)."""
        if participant not in self.hands:
            self.hands.append(participant)

    def lower_hand(self, participant: ParticipantId | None = None) -> None:
        """One hand down, or (None) every hand."""
        self.hands = [] if participant is None else [h for h in self.hands if h != participant]

    def give_floor(self, participant: ParticipantId | None) -> None:
        """``participant`` has the floor (their hand goes down); None: nobody."""
        self.floor = participant
        if participant is not None:
            self.lower_hand(participant)

    def forget(self, participant: ParticipantId) -> None:
        """A member leaves the call for good (removed, consent withdrawn)."""
        self.lower_hand(participant)
        if self.floor == participant:
            self.floor = None
        if self.round is not None:
            self.round.drop(participant)

    # -- the round, the agenda, the break --------------------------------------------------------

    def start_round(self, members: Iterable[ParticipantId]) -> None:
        """A new round through ``members`` (in the topology's order: co-workers, then persons)."""
        entries = [RoundEntry(m) for m in members]
        self.round = SoundRound(entries, entries[0].participant if entries else None)

    def set_agenda(self, item: int, now: dt.datetime) -> None:
        if item != self.agenda_item:
            self.agenda_item, self.agenda_since = item, (now if item >= 0 else None)

    def start_break(self, minutes: int, now: dt.datetime) -> None:
        self.pause = Pause(minutes, now + dt.timedelta(minutes=minutes))

    def end_break(self, now: dt.datetime) -> None:
        self.pause = None
        self.stretch_since = now
        self.reminded.discard("break_due")  # a new stretch: a new reminder after 45 minutes

    def end_session(self) -> None:
        """The session is over: what its call shared goes (the group's facts stay)."""
        self.hands, self.floor, self.round, self.pause = [], None, None, None
        self.agenda_item, self.agenda_since = -1, None
        self.started_at = self.stretch_since = None
        self.phone_appointments, self.reminded = set(), set()

    def break_due_at(self) -> dt.datetime | None:
        """When 45 minutes without a break will have passed (None during a break)."""
        if self.pause is not None or self.stretch_since is None:
            return None
        return self.stretch_since + dt.timedelta(minutes=MAX_IN_A_ROW)

    # -- what everyone in the call is shown ------------------------------------------------------

    def role_of(self, participant: ParticipantId) -> str:
        """The role in the group: a worker's (the facilitator hosts), or "person"."""
        return self.roles.get(participant, "person" if participant.is_browser else "co_worker")

    def public(self, names: Mapping[ParticipantId, str], now: dt.datetime) -> dict[str, Any]:
        """The fields of ``group_state``."""
        started_at = self.started_at or now

        def someone(pid: ParticipantId) -> dict[str, str]:
            return {"id": str(pid), "name": names.get(pid, "")}
        round_: dict[str, Any] = {}
        if self.round is not None:
            round_ = {"current": str(self.round.current) if self.round.current else "",
                      "entries": [{**someone(e.participant), "status": e.status,
                                   "hears": e.hears, "sees": e.sees}
                                  for e in self.round.entries]}
        pause = self.pause
        return {
            "started_at": started_at.isoformat(),
            "elapsed_seconds": max(0, int((now - started_at).total_seconds())),
            "hands": [someone(h) for h in self.hands],
            "floor": someone(self.floor) if self.floor is not None else {},
            "agenda_item": self.agenda_item,
            "agenda_since": self.agenda_since.isoformat() if self.agenda_since else "",
            "round": round_,
            "break_until": pause.until.isoformat() if pause else "",
            "break_minutes": pause.minutes if pause else 0,
            "break_remaining_seconds": pause.remaining(now) if pause else 0,
        }

    def welcome(self, role: str) -> dict[str, Any]:
        """``welcome.group``: what a page needs to know of the group, never anyone's name."""
        g = self.group
        return {"title": g.title, "people": self.members, "rule": g.rule,
                "speaking_rules": g.speaking_rules,
                "agenda": [{"title": a.title, "minutes": a.minutes} for a in g.agenda],
                "starts_at": g.starts_at.isoformat(), "ends_at": g.ends_at.isoformat(),
                "duration_minutes": g.duration_minutes, "role": role}
