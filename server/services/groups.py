"""Planning a group session: the facilitator, 2 to 6 participants, an agenda, roles and rules.

Each person in the group gets their own appointment, through the same machinery as a 1:1
interview (``Scheduling.create``): their own invitation, link, consent and test slot. The
invitation says how many people will take part and the group's rule, never the others' names.
A person from a colleague's case joins only with that colleague's agreement, which is recorded.
One act: the group, its members and every invitation, or nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from server.base import clock
from server.domain.groups import (
    MAX_PEOPLE,
    MIN_PEOPLE,
    WORKER_ROLES,
    AgendaItem,
    GroupMember,
    GroupRole,
    GroupSession,
)
from server.domain.ids import actor_of_worker
from server.domain.invitations import GroupInvite
from server.domain.models import (
    N_,
    Case,
    Invalid,
    Worker,
    check_choice,
    check_phone,
    check_text,
    may_access,
)
from server.services.scheduling import AppointmentForm, Scheduling
from server.storage.repositories import Store


@dataclasses.dataclass
class GroupForm:
    """What the facilitator enters; ``when`` holds the date, time and modality fields of an
    appointment form (the same rules: the time zone, clock changes, the test slot)."""

    title: str
    duration_minutes: int
    agenda: list[AgendaItem]
    rule: str
    speaking_rules: str
    incident_phone: str
    people: list[tuple[int, bool]]  # case ids, and whether their worker agreed (a colleague's)
    workers: list[tuple[int, GroupRole]]
    when: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any], phone: str) -> GroupForm:
        """The form as sent to ``POST /api/groups``; a value of the wrong type is refused, not
        coerced, and so is an unknown field. An empty incident phone is ``phone``."""
        unknown = set(data) - _FIELDS
        if unknown:
            raise Invalid(sorted(unknown)[0], N_("Unknown field."))
        for name in ("title", "date", "time", "duration_minutes", "modality"):
            if name not in data:
                raise Invalid(name, N_("Please fill in this field."))
        agenda = _objects(data.get("agenda"), "agenda", ("title", "minutes"))
        people = _objects(data.get("people"), "people", ("case_id", "agreed"))
        workers = _objects(data.get("workers", []), "workers", ("worker_id", "role"))
        if data.get("test_minutes") is not None:  # null: the service's default
            minutes = _whole("test_minutes", data["test_minutes"])
            if not 0 <= minutes <= 120:
                raise Invalid("test_minutes", N_("The connection test must be between 0 and "
                                                 "120 minutes before."))
        when = {k: data[k] for k in _WHEN if k in data}
        incident_phone = check_phone("incident_phone", data.get("incident_phone", ""),
                                     required=False)
        return cls(
            title=check_text("title", data["title"], 200),
            duration_minutes=_whole("duration_minutes", data["duration_minutes"]),
            agenda=[AgendaItem(check_text("agenda.title", a.get("title"), 200),
                               _whole("agenda.minutes", a.get("minutes"))) for a in agenda],
            rule=check_text("rule", data.get("rule", ""), 500, required=False),
            speaking_rules=check_text("speaking_rules", data.get("speaking_rules", ""), 1000,
                                      required=False),
            incident_phone=incident_phone or phone,
            people=[(_id(x.get("case_id"), "people"), _agreed(x.get("agreed", False)))
                    for x in people],
            workers=[(_id(x.get("worker_id"), "workers"), _role(x.get("role")))
                     for x in workers],
            when=when)


_MAX_ID = 2**63 - 1  # SQLite's largest INTEGER
_WHEN = ("date", "time", "occurrence", "modality", "test_minutes")
_FIELDS = frozenset({*_WHEN, "title", "duration_minutes", "agenda", "rule", "speaking_rules",
                     "incident_phone", "people", "workers"})
_LIST_PROBLEMS = {"agenda": N_("The agenda has 1 to 12 items."),
                  "people": N_("Choose 2 to 6 people."),
                  "workers": N_("Some fields are missing or wrong.")}


def _objects(value: Any, field: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """A list of JSON objects with only ``keys``, or ``Invalid`` naming ``field``."""
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise Invalid(field, _LIST_PROBLEMS[field])
    for item in value:
        unknown = set(item) - set(keys)
        if unknown:
            raise Invalid(field, N_("Unknown field."))
    return value


def _whole(field: str, value: Any) -> int:
    """A JSON integer (``3``, or ``3.0`` which JSON Schema counts as one); nothing else."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int:
        raise Invalid(field, N_("Please enter a number."))
    return value


def _id(value: Any, field: str) -> int:
    """A row id: a whole number from 1 to SQLite's largest INTEGER."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is not int or not 0 < value <= _MAX_ID:
        raise Invalid(field, N_("Some fields are missing or wrong."))
    return value


def _agreed(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("people", N_("Some fields are missing or wrong."))
    return value


def _role(value: Any) -> GroupRole:
    role = check_choice("workers.role", value, WORKER_ROLES[1:])
    return next(r for r in WORKER_ROLES if r == role)


class Groups:
    """Planning group sessions."""

    def __init__(self, store: Store, scheduling: Scheduling) -> None:
        self.store = store
        self.scheduling = scheduling

    async def create(self, facilitator: Worker, form: GroupForm, rule: str,
                     speaking_rules: str) -> tuple[GroupSession, list[tuple[int, str]]]:
        """Plan the group and invite each person; returns it with each person's appointment id
        and new link (shown once).

        ``rule`` and ``speaking_rules``: the texts used when the form gives none (the
        facilitator's language)."""
        if not MIN_PEOPLE <= len(form.people) + len(form.workers) <= MAX_PEOPLE:
            raise Invalid("people", N_("A group has 2 to 6 participants besides you."))
        if len({c for c, _ in form.people}) != len(form.people):
            raise Invalid("people", N_("Each person is in the group once."))
        if len({w for w, _ in form.workers}) != len(form.workers):
            raise Invalid("workers", N_("Each worker is in the group once."))
        cases = [await self._case(facilitator, case_id, agreed) for case_id, agreed in form.people]
        workers = [await self._worker(worker_id, facilitator) for worker_id, _ in form.workers]
        appointment_form = AppointmentForm.from_json({
            **form.when, "duration_minutes": form.duration_minutes, "topic": form.title,
            "incident_phone": form.incident_phone, "plan_b": "worker_calls", "attendees": []})
        group = GroupSession(
            id=0, public_id="", facilitator_id=facilitator.id, status="planned",
            starts_at=appointment_form.starts_at(self.scheduling.config.timezone),
            duration_minutes=form.duration_minutes, modality=appointment_form.modality,
            title=form.title, agenda=form.agenda, rule=form.rule or rule,
            speaking_rules=form.speaking_rules or speaking_rules,
            incident_phone=form.incident_phone, created_at=clock.now())
        invite = GroupInvite(group.title, len(cases) + len(workers) + 1, group.rule,
                             tuple((a.title, a.minutes) for a in group.agenda))
        actor = actor_of_worker(facilitator.id)
        links = []
        async with self.store.atomic():
            group = await self.store.groups.create(group)
            for worker, (_, role) in zip(workers, form.workers, strict=True):
                await self.store.groups.add_member(GroupMember(0, group.id, role,
                                                               worker_id=worker.id))
            for case, (_, agreed) in zip(cases, form.people, strict=True):
                appointment, link = await self.scheduling.create(
                    facilitator, case, appointment_form, group=(group.id, invite))
                agreement = None if case.worker_id == facilitator.id else {
                    "worker_id": case.worker_id, "agreed": agreed,
                    "recorded_by": facilitator.id, "at": clock.now().isoformat()}
                await self.store.groups.add_member(GroupMember(
                    0, group.id, "person", appointment_id=appointment.id, agreement=agreement))
                await self.store.audit.record(actor, "invite_to_group", "ok", case_id=case.id,
                                              target=f"group:{group.id}")
                links.append((appointment.id, link))
            await self.store.audit.record(actor, "create_group", "ok",
                                          target=f"group:{group.id}")
        return group, links

    async def _case(self, facilitator: Worker, case_id: int, agreed: bool) -> Case:
        """A case the facilitator may invite: theirs, or a colleague's who agreed."""
        case = await self.store.cases.get(case_id)
        if case is None:
            raise Invalid("people", N_("There is no case number {id}."), id=case_id)
        if may_access(facilitator, case):
            return case
        if case.worker_id is None:
            raise Invalid("people", N_("Case number {id} has no worker to agree: an "
                                       "administrator must assign it first."), id=case_id)
        if not agreed:
            await self.store.audit.record(actor_of_worker(facilitator.id), "invite_to_group",
                                          "denied", case_id=case.id)
            raise Invalid("people", N_("Case number {id} is a colleague's: their worker must "
                                       "agree first."), id=case_id)
        return case

    async def _worker(self, worker_id: int, facilitator: Worker) -> Worker:
        if worker_id == facilitator.id:
            raise Invalid("workers", N_("You lead the group: you are in it already."))
        worker = await self.store.workers.get(worker_id)
        if worker is None or worker.disabled:
            raise Invalid("workers", N_("This worker does not exist."))
        return worker


async def group_for(store: Store, worker: Worker, group_id: int,
                    ) -> tuple[GroupSession, list[GroupMember]] | None:
    """A group the worker may see (they lead it, are a member, or are an administrator)."""
    group = await store.groups.get(group_id)
    if group is None:
        return None
    members = await store.groups.members(group.id)
    if worker.is_admin or group.facilitator_id == worker.id or any(
            m.worker_id == worker.id for m in members):
        return group, members
    return None
