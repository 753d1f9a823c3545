"""Where a live session happens: a 1:1 appointment, or a group session of several people.

A room is named by its public id (the appointment's, or the group's), has one host (the
appointment's worker, the group's facilitator) and what its participants need to know of it:
the phone number for incidents and who calls whom if the connection fails. Each person in a group
still has their own appointment (invitation, consent, test); the room is the group's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from server.domain.groups import GroupSession
from server.domain.models import Appointment


@dataclasses.dataclass(frozen=True)
class RoomRef:
    """A room: its public id, its host, and what a 1:1 appointment or a group says of it."""

    public_id: str
    host_id: int  # the worker who hosts: the appointment's worker, the group's facilitator
    incident_phone: str
    plan_b: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    appointment_id: int | None = None
    group_id: int | None = None
    status: str = "planned"

    @classmethod
    def of_appointment(cls, appointment: Appointment) -> RoomRef:
        return cls(appointment.public_id, appointment.worker_id, appointment.incident_phone,
                   appointment.plan_b, appointment.starts_at, appointment.ends_at,
                   appointment_id=appointment.id, status=appointment.status)

    @classmethod
    def of_group(cls, group: GroupSession) -> RoomRef:
        return cls(group.public_id, group.facilitator_id, group.incident_phone, "worker_calls",
                   group.starts_at, group.ends_at, group_id=group.id, status=group.status)

    @property
    def is_group(self) -> bool:
        return self.group_id is not None
