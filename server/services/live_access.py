"""Who may stay connected: a live connection loses its access the moment its link or account does.

Every signalling and connection-test socket carries the ``Credential`` that let it in (a worker's
login session, or a person's browser under an invitation). The same rule decides at the upgrade,
at admission, and again whenever access may have changed:

- a person's browser: its invitation is still valid (not revoked, replaced or expired), belongs to
  this appointment, the browser was not declined, and the appointment is still planned;
- a worker: the login session still exists (not logged out, not past its absolute lifetime), the
  account is enabled, and the case is (still) theirs — or they are an administrator.

Acts that change access (revoke, re-issue, move, cancel, disable an account, reassign a case)
call ``recheck`` at once; a background job calls it every ``RECHECK_SECONDS`` too, for changes made
elsewhere (``proxima disable-worker``, another process) and for links that expire. A connection
that fails the rule is closed with ``ACCESS_ENDED``: the page then reloads and shows why.
"""

from __future__ import annotations

import datetime as dt
import logging

from server.base import clock
from server.base.settings import Config
from server.domain.groups import GroupSession
from server.domain.models import Appointment, Worker, may_access_assigned
from server.live.bus import ACCESS_ENDED, Connection, Credential, LiveBus
from server.storage.repositories import Store

log = logging.getLogger("proxima.access")

RECHECK_SECONDS = 15.0


class LiveAccess:
    """Checks, and checks again, the access of live connections."""

    def __init__(self, store: Store, bus: LiveBus, config: Config) -> None:
        self.store = store
        self.bus = bus
        self.config = config

    async def allowed(self, room: str, credential: Credential) -> bool:
        """Whether ``credential`` gives access to the room ``room`` (its public id) now."""
        target = await self._room(room)
        return target is not None and await self._allowed(target, credential, {})

    async def _room(self, room: str) -> Appointment | GroupSession | None:
        """A room by its public id: a 1:1 appointment or a group session."""
        appointment = await self.store.appointments.by_public_id(room)
        if appointment is not None:
            return appointment
        return await self.store.groups.by_public_id(room)

    async def _allowed(self, room: Appointment | GroupSession, credential: Credential,
                       memo: dict[object, object]) -> bool:
        if room.status != "planned":
            return False
        if credential.guest_browser_id is not None:
            return await self._guest_allowed(room, credential.guest_browser_id)
        if credential.worker_id is not None:
            return await self._worker_allowed(room, credential, memo)
        return False

    async def _guest_allowed(self, room: Appointment | GroupSession, browser_id: int) -> bool:
        """The browser's invitation is valid, for this appointment (or, in a group, for a
        planned appointment of this group), and the browser was not declined."""
        found = await self.store.invitations.browser_access(browser_id)
        if found is None:
            return False
        invitation, declined = found
        if declined or invitation.state(clock.now()) != "valid":
            return False
        if isinstance(room, Appointment):
            return invitation.appointment_id == room.id
        own = await self.store.appointments.get(invitation.appointment_id)
        return own is not None and own.group_id == room.id and own.status == "planned"

    async def _worker_allowed(self, room: Appointment | GroupSession, credential: Credential,
                              memo: dict[object, object]) -> bool:
        """The worker's session and account (looked up once per check of many rooms); the case
        is theirs, or the group is theirs to lead or to be a member of."""
        key = ("worker", credential.session_hash, credential.worker_id)
        if key not in memo:
            memo[key] = await self._worker_of(credential)
        worker = memo[key]
        if not isinstance(worker, Worker):
            return False
        if isinstance(room, GroupSession):
            members = await self.store.groups.members(room.id)
            return worker.is_admin or room.facilitator_id == worker.id or any(
                m.worker_id == worker.id for m in members)
        exists, assignee = await self.store.cases.assignee(room.case_id)
        return exists and may_access_assigned(worker, assignee)

    async def _worker_of(self, credential: Credential) -> Worker | None:
        session = await self.store.sessions.get(credential.session_hash)
        if session is None or session["worker_id"] != credential.worker_id:
            return None
        lifetime = dt.timedelta(hours=self.config.session_max_hours)
        if clock.now() - session["created_at"] > lifetime:
            return None
        worker = await self.store.workers.get(session["worker_id"])
        if worker is None or worker.disabled or worker.must_change_password:
            return None
        return worker

    async def recheck(self, room: str | None = None) -> int:
        """Close every live connection (of ``room``, or of all rooms) that lost its access."""
        closed = 0
        memo: dict[object, object] = {}
        for name in [room] if room is not None else self.bus.rooms():
            connections = self.bus.connections(name)
            if not connections:
                continue
            target = await self._room(name)
            for connection in connections:
                if target is None or not await self._allowed(target, connection.credential,
                                                             memo):
                    case_id = target.case_id if isinstance(target, Appointment) else None
                    await self.cut_off(name, connection, case_id)
                    closed += 1
        return closed

    async def recheck_appointments(self, appointments: list[Appointment]) -> int:
        """Check the rooms of these appointments (a group's room for a person in a group)."""
        closed = 0
        for appointment in appointments:
            room = appointment.public_id
            if appointment.group_id is not None:
                group = await self.store.groups.get(appointment.group_id)
                room = group.public_id if group else room
            closed += await self.recheck(room)
        return closed

    async def cut_off(self, room: str, connection: Connection, case_id: int | None) -> None:
        """Close one connection whose access ended, and say so in the audit log."""
        self.bus.disconnect(connection, ACCESS_ENDED)
        credential = connection.credential
        actor = (f"worker:{credential.worker_id}" if credential.worker_id is not None
                 else f"guest:{credential.guest_browser_id}")
        await self.store.audit.record(actor, "live_access_ended", "closed", case_id=case_id,
                                      target=str(connection.participant))
        log.info("closed a live connection of %s: access ended", connection.participant)
