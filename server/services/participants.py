"""Who is on the other end of a room's WebSocket, and the small rules every part of a room
shares."""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Literal

from server.domain import protocol as p
from server.domain.ids import ParticipantId, actor_of_browser, actor_of_worker
from server.domain.models import N_, Appointment, Case, GuestBrowser, Worker
from server.domain.room import RoomRef
from server.live.bus import Credential

# The wire's names for a participant's role (``welcome.role``): the host ("worker": the
# appointment's worker or the group's facilitator), a group's other workers ("coworker": the
# note-taker, the technical helper...), a person's browser, and its connection-test socket.
Role = Literal["worker", "coworker", "person", "tester"]


@dataclasses.dataclass
class Participant:
    """One participant of one room, as its WebSocket was let in."""

    id: ParticipantId
    role: Role
    name: str
    room_ref: RoomRef
    appointment: Appointment | None  # a person's own appointment (and a 1:1 worker's)
    case: Case | None  # that appointment's case
    host: Worker
    guest: GuestBrowser | None
    lang: str
    credential: Credential = dataclasses.field(default_factory=Credential)

    @property
    def room(self) -> str:
        return self.room_ref.public_id

    @property
    def host_id(self) -> ParticipantId:
        """The room's host: the appointment's worker or the group's facilitator (whoever of
        the team opened the page)."""
        return ParticipantId.worker(self.room_ref.host_id)

    @property
    def own_appointment(self) -> Appointment:
        """A person's (or a 1:1 worker's) appointment; a group's workers have none of their own."""
        if self.appointment is None:
            raise p.Refused("person_only", N_("Only the person gives their consent."))
        return self.appointment

    @property
    def own_case(self) -> Case:
        if self.case is None:
            raise p.Refused("person_only", N_("Only the person gives their consent."))
        return self.case

    @property
    def actor(self) -> str:
        """The audit log's name for who acts: the logged-in worker, or the person's browser."""
        if self.credential.worker_id is not None:
            return actor_of_worker(self.credential.worker_id)
        return actor_of_browser(self.credential.guest_browser_id)


def clean_text(text: str) -> str:
    """Chat text without control characters (newlines kept); shown with textContent anyway."""
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C").strip()


def worker_only(part: Participant) -> None:
    """Refuse what only the host may do (admit, decline, readiness, end): a person gets
    ``worker_only``, a group's co-worker ``host_only``."""
    if part.role == "coworker":
        raise p.Refused("host_only", N_("Only the facilitator can do this."))
    if part.role != "worker":
        raise p.Refused("worker_only", N_("Only the worker can do this."))
