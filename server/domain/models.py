"""Proxima's domain values: workers, case records, appointments, invitations, the outbox.

Each value validates itself; a wrong value raises ``Invalid`` naming the field, which the HTTP edge
turns into a 400 with a plain message.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing
from typing import Any, Literal, TypeVar

from server.domain.session_log import SessionLog

Role = Literal["worker", "facilitator", "admin"]
ROLES: tuple[Role, ...] = typing.get_args(Role)
MODALITIES = ("video", "audio", "phone")
LANGUAGES = ("fr", "en")
PLAN_B = ("worker_calls", "person_calls")

_EMAIL_PART = r'[^@\s<>"\x00-\x1f\x7f-\x9f]+'  # no space, no control character
_EMAIL = re.compile(rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$")
_PHONE = re.compile(r"^\+?[0-9 .()-]{6,20}$")


def N_(message: str) -> str:
    """Mark a message for the translation catalogs; it is translated where it is shown."""
    return message


class Invalid(ValueError):
    """A value a person typed cannot be used; ``field`` says which.

    ``message`` is an English catalog id with ``{name}`` placeholders filled from ``params``
    after translation.
    """

    def __init__(self, field: str, message: str, **params: object) -> None:
        super().__init__(f"{field}: {message.format(**params)}")
        self.field = field
        self.message = message
        self.params = params


def check_is_text(field: str, value: object) -> str:
    """``value`` when it is text: a number, list or object sent for a text field is refused."""
    if not isinstance(value, str):
        raise Invalid(field, N_("Some fields are missing or wrong."))
    return value


def check_email(field: str, value: object, required: bool = True) -> str:
    value = check_is_text(field, value).strip()
    if not value and not required:
        return ""
    if not _EMAIL.match(value) or len(value) > 254:
        raise Invalid(field, N_("This is not a valid email address."))
    return value


def check_phone(field: str, value: object, required: bool = True) -> str:
    value = check_is_text(field, value).strip()
    if not value and not required:
        return ""
    if not _PHONE.match(value):
        raise Invalid(field, N_("This is not a valid phone number."))
    return value


def check_text(field: str, value: object, max_length: int, required: bool = True) -> str:
    value = check_is_text(field, value).strip()
    if required and not value:
        raise Invalid(field, N_("Please fill in this field."))
    if len(value) > max_length:
        raise Invalid(field, N_("This is too long (at most {max} characters)."), max=max_length)
    return value


Choice = TypeVar("Choice", bound=str)


def check_choice(field: str, value: object, choices: tuple[Choice, ...]) -> Choice:
    """``value`` when it is one of ``choices`` (as their type: a ``Literal`` stays one)."""
    for choice in choices:
        if value == choice:
            return choice
    raise Invalid(field, N_("Please choose one of: {choices}."), choices=", ".join(choices))


def _name_like(text: str) -> bool:
    """Letters with spaces, hyphens, apostrophes or dots: a family or given name."""
    return any(ch.isalpha() for ch in text) and all(ch.isalpha() or ch in " -'’." for ch in text)


@dataclasses.dataclass
class Worker:
    id: int
    email: str
    display_name: str
    phone: str
    role: Role
    must_change_password: bool
    disabled: bool
    created_at: dt.datetime
    language: str = ""  # the console's language chosen on "My account"; "" for the browser's

    def _family_given(self) -> tuple[str, str] | None:
        """The two parts of a name written "Family, Given" ("Dupont, Hélène"), else None."""
        family, comma, given = (part.strip() for part in self.display_name.partition(","))
        if comma and _name_like(family) and _name_like(given):
            return family, given
        return None

    @property
    def natural_name(self) -> str:
        """The display name in reading order, as invitations name the worker: written
        "Dupont, Hélène", it reads "Hélène Dupont"; any other name is kept as written."""
        parts = self._family_given()
        return f"{parts[1]} {parts[0]}" if parts else self.display_name.strip()

    @property
    def first_name(self) -> str:
        """The given name for short sentences on the person's pages ("Hélène will let you in"):
        what follows the comma in "Dupont, Hélène", else the first word."""
        parts = self._family_given()
        if parts:
            return parts[1]
        words = self.display_name.split()
        return words[0] if words else self.display_name

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "display_name": self.display_name,
                "phone": self.phone, "role": self.role, "disabled": self.disabled,
                "must_change_password": self.must_change_password, "language": self.language}


@dataclasses.dataclass
class Case:
    id: int
    worker_id: int | None
    reference: str
    person_name: str
    email: str
    mobile: str
    language: str
    modality: str
    accessibility: str
    created_at: dt.datetime

    def __post_init__(self) -> None:
        self.reference = check_text("reference", self.reference, 100)
        self.person_name = check_text("person_name", self.person_name, 200)
        self.email = check_email("email", self.email, required=False)
        self.mobile = check_phone("mobile", self.mobile, required=False)
        check_choice("language", self.language, LANGUAGES)
        check_choice("modality", self.modality, MODALITIES)
        self.accessibility = check_text("accessibility", self.accessibility, 2000, required=False)

    def sealed(self) -> dict[str, str]:
        return {"reference": self.reference, "person_name": self.person_name, "email": self.email,
                "mobile": self.mobile, "accessibility": self.accessibility}

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "worker_id": self.worker_id, "language": self.language,
                "modality": self.modality, "created_at": self.created_at.isoformat(),
                **self.sealed()}


def may_access(worker: Worker, case: Case) -> bool:
    """Workers see the cases assigned to them; administrators see every case."""
    return may_access_assigned(worker, case.worker_id)


def may_access_assigned(worker: Worker, assignee: int | None) -> bool:
    """``may_access`` for a case known by its assignee only (nothing of it unsealed)."""
    return worker.is_admin or assignee == worker.id


@dataclasses.dataclass
class CaseEntry:
    id: int
    case_id: int
    at: dt.datetime
    kind: str
    appointment_id: int | None
    data: dict[str, Any]

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "kind": self.kind,
                "appointment_id": self.appointment_id, "data": self.data}


@dataclasses.dataclass
class Attendee:
    name: str
    role: str

    def __post_init__(self) -> None:
        self.name = check_text("attendees.name", self.name, 200)
        self.role = check_text("attendees.role", self.role, 200)


@dataclasses.dataclass
class Appointment:
    id: int
    public_id: str
    case_id: int
    worker_id: int
    starts_at: dt.datetime
    duration_minutes: int
    modality: str
    test_minutes: int
    plan_b: str
    sms_reminder: bool
    status: str
    sequence: int
    topic: str
    attendees: list[Attendee]
    incident_phone: str
    documents: str
    created_at: dt.datetime
    group_id: int | None = None  # the group session this person's appointment belongs to
    # The interview outline, for the worker only (never in the invitation): the objectives and
    # the open questions prepared with the appointment; with ``documents``, the call panel's.
    objectives: str = ""
    questions: str = ""

    def __post_init__(self) -> None:
        if not 5 <= self.duration_minutes <= 240:
            raise Invalid("duration_minutes", N_("The duration must be between 5 and 240 minutes."))
        if not 0 <= self.test_minutes <= 120:
            raise Invalid("test_minutes",
                          N_("The connection test must be between 0 and 120 minutes before."))
        check_choice("modality", self.modality, MODALITIES)
        check_choice("plan_b", self.plan_b, PLAN_B)
        self.topic = check_text("topic", self.topic, 2000)
        self.incident_phone = check_phone("incident_phone", self.incident_phone)
        self.documents = check_text("documents", self.documents, 2000, required=False)
        self.objectives = check_text("objectives", self.objectives, 2000, required=False)
        self.questions = check_text("questions", self.questions, 2000, required=False)
        if len(self.attendees) > 10:
            raise Invalid("attendees", N_("At most 10 other attendees."))

    @property
    def ends_at(self) -> dt.datetime:
        return self.starts_at + dt.timedelta(minutes=self.duration_minutes)

    @property
    def test_opens_at(self) -> dt.datetime:
        return self.starts_at - dt.timedelta(minutes=self.test_minutes)

    def sealed(self) -> dict[str, Any]:
        return {"topic": self.topic, "incident_phone": self.incident_phone,
                "documents": self.documents,
                "attendees": [dataclasses.asdict(a) for a in self.attendees],
                "objectives": self.objectives, "questions": self.questions}

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "case_id": self.case_id, "worker_id": self.worker_id,
                "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
                "test_opens_at": self.test_opens_at.isoformat(),
                "duration_minutes": self.duration_minutes, "modality": self.modality,
                "test_minutes": self.test_minutes, "plan_b": self.plan_b,
                "sms_reminder": self.sms_reminder, "status": self.status,
                "sequence": self.sequence, "group_id": self.group_id, **self.sealed()}


@dataclasses.dataclass
class Invitation:
    id: int
    appointment_id: int
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        """'valid', 'revoked' or 'expired'."""
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        return "valid"

    def public(self, now: dt.datetime) -> dict[str, Any]:
        return {"id": self.id, "issued_at": self.issued_at.isoformat(),
                "expires_at": self.expires_at.isoformat(),
                "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
                "state": self.state(now)}


@dataclasses.dataclass
class GuestBrowser:
    id: int
    invitation_id: int
    browser: str
    device: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "invitation_id": self.invitation_id, "browser": self.browser,
                "device": self.device, "first_seen_at": self.first_seen_at.isoformat(),
                "last_seen_at": self.last_seen_at.isoformat()}


@dataclasses.dataclass
class BrowserGroup:
    """Browsers of one kind that opened a link, folded for the worker: "Chrome, Android phone
    × 3"."""

    browser: str
    device: str
    count: int
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime

    @classmethod
    def fold(cls, browsers: list[GuestBrowser]) -> list[BrowserGroup]:
        """One group per browser and device, in the order they first appeared."""
        groups: dict[tuple[str, str], BrowserGroup] = {}
        for b in browsers:
            group = groups.get((b.browser, b.device))
            if group is None:
                groups[(b.browser, b.device)] = cls(b.browser, b.device, 1, b.first_seen_at,
                                                    b.last_seen_at)
            else:
                group.count += 1
                group.first_seen_at = min(group.first_seen_at, b.first_seen_at)
                group.last_seen_at = max(group.last_seen_at, b.last_seen_at)
        return list(groups.values())

    def public(self) -> dict[str, Any]:
        return {"browser": self.browser, "device": self.device, "count": self.count,
                "first_seen_at": self.first_seen_at.isoformat(),
                "last_seen_at": self.last_seen_at.isoformat()}


@dataclasses.dataclass
class ConsentRecord:
    """What the person agreed to, when, in which language, with the exact text shown (its hash)."""

    id: int
    appointment_id: int
    guest_browser_id: int
    at: dt.datetime
    kind: str  # given, changed, withdrawn
    modality: str  # video, audio, phone, none
    audio_fallback: bool
    others_present: bool
    others: str
    language: str
    text_hash: str

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "kind": self.kind,
                "modality": self.modality, "audio_fallback": self.audio_fallback,
                "others_present": self.others_present, "others": self.others,
                "language": self.language, "text_hash": self.text_hash,
                "participant": f"g:{self.guest_browser_id}"}


@dataclasses.dataclass
class InterviewSession:
    """One live session of a room (an appointment, or a group); ``log`` goes to the case record."""

    id: int
    appointment_id: int | None  # a 1:1 appointment's session (then group_id is None)
    status: str  # active, ended
    started_at: dt.datetime
    ended_at: dt.datetime | None
    admitted: list[str]  # participant ids (wire form) of the browsers let in
    log: SessionLog
    group_id: int | None = None  # a group's session (then appointment_id is None)
