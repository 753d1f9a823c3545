"""Group sessions of 2 to 6 participants: the facilitator's room, its agenda, roles and rules.

The field guide's "Fiche pratique : la visioconférence en groupe": an agenda shared beforehand, a
facilitator, a note-taker and someone for the technical side, speaking rules, breaks (1 h 30 at
most, no more than 45 minutes in a row), an attendance sheet. Each person in the group has their
own appointment (their own invitation, link, consent and test slot); the group holds what they
share. Another beneficiary's name is never shown to a person, nor written to their case record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Literal

from server.domain.models import (
    MODALITIES,
    N_,
    Invalid,
    check_choice,
    check_phone,
    check_text,
)

GroupRole = Literal["facilitator", "note_taker", "technical_helper", "co_worker", "person"]
WORKER_ROLES: tuple[GroupRole, ...] = ("facilitator", "note_taker", "technical_helper",
                                       "co_worker")
MIN_PEOPLE, MAX_PEOPLE = 2, 6  # participants besides the facilitator
MAX_MINUTES = 90  # "des réunions d'1H30"
MAX_IN_A_ROW = 45  # "et pas plus de 45 min consécutives"
DEFAULT_RULE = N_("What is said in the group stays in the group.")
DEFAULT_SPEAKING_RULES = N_("Raise your hand to speak. You can also write in the chat. "
                            "Turn off your microphone when you are not speaking.")


@dataclasses.dataclass
class AgendaItem:
    """One item of the agenda, with the minutes planned for it."""

    title: str
    minutes: int

    def __post_init__(self) -> None:
        self.title = check_text("agenda.title", self.title, 200)
        if not isinstance(self.minutes, int) or not 1 <= self.minutes <= MAX_MINUTES:
            raise Invalid("agenda.minutes", N_("Each item takes 1 to {max} minutes."),
                          max=MAX_MINUTES)


@dataclasses.dataclass
class GroupSession:
    """A group session: who leads it, when, for how long, and what it will be about."""

    id: int
    public_id: str
    facilitator_id: int
    status: str  # planned, cancelled
    starts_at: dt.datetime
    duration_minutes: int
    modality: str
    title: str
    agenda: list[AgendaItem]
    rule: str  # the confidentiality rule everyone accepts
    speaking_rules: str
    incident_phone: str
    created_at: dt.datetime

    def __post_init__(self) -> None:
        self.title = check_text("title", self.title, 200)
        if not 15 <= self.duration_minutes <= MAX_MINUTES:
            raise Invalid("duration_minutes",
                          N_("A group session lasts 15 to {max} minutes."), max=MAX_MINUTES)
        check_choice("modality", self.modality, MODALITIES)
        if not 1 <= len(self.agenda) <= 12:
            raise Invalid("agenda", N_("The agenda has 1 to 12 items."))
        if sum(item.minutes for item in self.agenda) > self.duration_minutes:
            raise Invalid("agenda", N_("The agenda takes longer than the session."))
        self.rule = check_text("rule", self.rule, 500)
        self.speaking_rules = check_text("speaking_rules", self.speaking_rules, 1000)
        self.incident_phone = check_phone("incident_phone", self.incident_phone)

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    def sealed(self) -> dict[str, Any]:
        return {"title": self.title, "agenda": [dataclasses.asdict(a) for a in self.agenda],
                "rule": self.rule, "speaking_rules": self.speaking_rules,
                "incident_phone": self.incident_phone}

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "facilitator_id": self.facilitator_id, "status": self.status,
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "duration_minutes": self.duration_minutes, "modality": self.modality,
                "created_at": self.created_at.isoformat(), **self.sealed()}


@dataclasses.dataclass
class GroupMember:
    """A member of a group: a worker with a role, or a person through their own appointment.

    ``agreement`` records, for a person from a colleague's case, which colleague agreed and when.
    """

    id: int
    group_id: int
    role: GroupRole
    worker_id: int | None = None
    appointment_id: int | None = None
    agreement: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.worker_id is None) == (self.appointment_id is None):
            raise ValueError("a group member is a worker or a person's appointment")
        if self.worker_id is not None and self.role not in WORKER_ROLES:
            raise Invalid("role", N_("Please choose one of: {choices}."),
                          choices=", ".join(WORKER_ROLES))

    @property
    def is_person(self) -> bool:
        return self.appointment_id is not None

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "role": self.role, "worker_id": self.worker_id,
                "appointment_id": self.appointment_id, "agreement": self.agreement}
