"""Who is on the other end of a room's WebSocket, and the small rules every part of a room
shares."""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Literal

from server.domain import protocol as p
from server.domain.ids import ParticipantId, actor_of_browser, actor_of_worker
from server.domain.models import N_, Appointment, Case, GuestBrowser, Worker
from server.live.bus import Credential

# The wire's names for a participant's role (``welcome.role``). The host is the appointment's
# worker; co-workers, facilitators, note-takers and technical helpers come with group sessions.
Role = Literal["worker", "person", "tester"]


@dataclasses.dataclass
class Participant:
    """One participant of one room, as its WebSocket was let in."""

    id: ParticipantId
    role: Role
    name: str
    appointment: Appointment
    case: Case
    host: Worker
    guest: GuestBrowser | None
    lang: str
    credential: Credential = dataclasses.field(default_factory=Credential)

    @property
    def room(self) -> str:
        return self.appointment.public_id

    @property
    def host_id(self) -> ParticipantId:
        """The room's host: the appointment's worker (whoever of the team opened the page)."""
        return ParticipantId.worker(self.host.id)

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
    """Refuse what only the host may do (admit, decline, readiness, end)."""
    if part.role != "worker":
        raise p.Refused("worker_only", N_("Only the worker can do this."))
