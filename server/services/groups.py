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
from server.domain.models import N_, Case, Invalid, Worker, check_choice, may_access
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
        agenda = data.get("agenda")
        if not isinstance(agenda, list) or not all(isinstance(a, dict) for a in agenda):
            raise Invalid("agenda", N_("The agenda has 1 to 12 items."))
        people = data.get("people")
        if not isinstance(people, list) or not all(isinstance(x, dict) for x in people):
            raise Invalid("people", N_("Choose 2 to 6 people."))
        workers = data.get("workers", [])
        if not isinstance(workers, list) or not all(isinstance(x, dict) for x in workers):
            raise Invalid("workers", N_("Some fields are missing or wrong."))
        duration = data.get("duration_minutes")
        if not isinstance(duration, int) or isinstance(duration, bool):
            raise Invalid("duration_minutes", N_("Please enter a number."))
        when: dict[str, Any] = {k: data[k] for k in ("date", "time", "occurrence", "modality",
                                                      "test_minutes") if k in data}
        return cls(
            title=str(data.get("title", "")), duration_minutes=duration,
            agenda=[AgendaItem(str(a.get("title", "")), a.get("minutes")) for a in agenda],
            rule=str(data.get("rule") or ""), speaking_rules=str(data.get("speaking_rules") or ""),
            incident_phone=str(data.get("incident_phone") or phone),
            people=[(_id(x.get("case_id"), "people"), x.get("agreed") is True) for x in people],
            workers=[(_id(x.get("worker_id"), "workers"),
                      _role(x.get("role"))) for x in workers],
            when=when)


def _id(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise Invalid(field, N_("Some fields are missing or wrong."))
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
                     speaking_rules: str) -> tuple[GroupSession, list[str]]:
        """Plan the group and invite each person; returns it with the new links (shown once).

        ``rule`` and ``speaking_rules``: the texts used when the form gives none (the
        facilitator's language)."""
        if not MIN_PEOPLE <= len(form.people) + len(form.workers) <= MAX_PEOPLE:
            raise Invalid("people", N_("A group has 2 to 6 participants besides you."))
        if len({c for c, _ in form.people}) != len(form.people):
            raise Invalid("people", N_("Each person is in the group once."))
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
        invite = GroupInvite(group.title, len(cases) + len(workers) + 1, group.rule)
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
                links.append(link)
            await self.store.audit.record(actor_of_worker(facilitator.id), "create_group", "ok",
                                          target=f"group:{group.id}")
        return group, links

    async def _case(self, facilitator: Worker, case_id: int, agreed: bool) -> Case:
        """A case the facilitator may invite: theirs, or a colleague's who agreed."""
        case = await self.store.cases.get(case_id)
        if case is None:
            raise Invalid("people", N_("This case does not exist."))
        if not may_access(facilitator, case) and not agreed:
            raise Invalid("people", N_("This person's worker must agree first."))
        return case

    async def _worker(self, worker_id: int, facilitator: Worker) -> Worker:
        worker = await self.store.workers.get(worker_id)
        if worker is None or worker.disabled or worker.id == facilitator.id:
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
