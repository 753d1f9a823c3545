"""The call: admission's effects, video or sound only, plan B by phone, incidents, and the end.

The session's log goes to the case record when the session ends — by the host's ``end``, or when
the host has been gone for ``session_end_minutes`` (``sweep``) — whether or not the closing form
is filled in. Never media, chat content or IP addresses.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from server.base import clock
from server.domain import protocol as p
from server.domain.ids import ParticipantId
from server.domain.models import N_, ConsentRecord, InterviewSession
from server.domain.room import RoomRef
from server.domain.session_log import Mode, mode_of
from server.live.bus import WaitingEntry
from server.services.breaks import Breaks
from server.services.participants import Participant, worker_only
from server.services.records import write_records
from server.services.rooms import Rooms
from server.services.staff import staff_waiting

log = logging.getLogger("proxima.interview")

INCIDENTS = ("reconnected", "ice_restart", "poor_quality", "connection_lost", "no_media")


class Call:
    """What happens to the call of a room (under the room's lock)."""

    def __init__(self, rooms: Rooms, breaks: Breaks | None = None) -> None:
        self.rooms = rooms
        self.breaks = breaks or Breaks(rooms)

    # -- admission ------------------------------------------------------------------------------

    async def admit(self, part: Participant, browser: ParticipantId, entry: WaitingEntry) -> None:
        """The host (or a group's technical helper) lets ``browser`` in: into the session, its
        log, and linked to everyone; a group's co-workers waiting join as the session starts."""
        rooms, is_group = self.rooms, part.room_ref.is_group
        group = rooms.bus.group(part.room)
        phone = entry.consent["modality"] == "phone"
        first_mode = "video" if is_group else str(entry.consent["modality"])
        session = await rooms.start(part, first_mode=first_mode)
        if str(browser) not in session.admitted:
            session.admitted.append(str(browser))
        now = clock.now()
        session.log.joined(str(browser), entry.name, "person", now, device=entry.device)
        await self._admission_log(part, session, browser, entry)
        rooms.bus.set_name(part.room, browser, entry.name)
        if phone and is_group:  # in a group, they attend by phone; the others go on
            session.log.participants[str(browser)].by_phone = True
            if group is not None:
                group.phone_appointments.add(entry.appointment_id)
        elif phone and session.log.mode != "phone":
            # The person chose a phone call: letting them in means calling them.
            session.log.switch("phone", "person", "consent", now)
        staff = staff_waiting(rooms, part, session)
        replaced = self._replace_gone(part, session, browser)
        await rooms.save(part, session)
        await rooms.store.audit.record(part.actor, "admit", "ok", case_id=entry.case_id,
                                       target=str(browser))
        if replaced:  # the host's page drops their links before it links the newcomer
            rooms.tell_host_lobby(part)
        if phone:
            self.send_phone(part, {part.host_id, browser}, "consent",
                            await self._mobile(entry.case_id))
        rooms.introduce(part, staff if phone else [*staff, browser], session.log.mode)
        if group is not None:
            self.breaks.plan(part.room_ref, group)
            rooms.tell_group(part.room)

    def _replace_gone(self, part: Participant, session: InterviewSession,
                      browser: ParticipantId) -> list[ParticipantId]:
        """In a 1:1 interview, the browser let in replaces the person's browsers in the call
        whose page is gone (the laptop failed; they came back on their phone): out of the call
        (back, they wait to be let in again), and logged. A browser still connected stays."""
        if part.room_ref.is_group:
            return []
        present = self.rooms.bus.present(part.room)
        gone = [pid for pid in map(ParticipantId.parse, session.admitted)
                if pid.is_browser and pid != browser and pid not in present]
        now = clock.now()
        for pid in gone:
            session.admitted.remove(str(pid))
            session.log.left(str(pid), now)
            session.log.incident("browser_replaced", "worker", now)
        return gone

    async def _admission_log(self, part: Participant, session: InterviewSession,
                             browser: ParticipantId, entry: WaitingEntry) -> None:
        """The admitted browser's connection test and consents, into the session log."""
        rooms = self.rooms
        tests = [t for t in await rooms.store.interviews.tests(entry.appointment_id)
                 if t["participant"] == str(browser)]
        if tests and part.room_ref.is_group:
            session.log.participants[str(browser)].test = str(tests[-1]["recommendation"])
        elif tests:
            # What the test advised, for the record; not its figures (round trip, bit rates,
            # path, device), which are kept 3 months with the test itself (docs/retention.md).
            session.log.test_result = {"at": tests[-1]["at"],
                                       "recommendation": tests[-1]["recommendation"]}
        session.log.add_consents([
            rooms.consent_public(part, c)
            for c in await rooms.store.interviews.consents(entry.appointment_id)
            if c.guest_browser_id == browser.number])

    async def _mobile(self, case_id: int) -> str:
        case = await self.rooms.store.cases.get(case_id)
        return case.mobile if case else ""

    async def consent_changed(self, part: Participant, record: ConsentRecord) -> None:
        """A person in the call changes or withdraws consent."""
        rooms = self.rooms
        session = await rooms.session(part)
        assert session is not None
        session.log.add_consents([rooms.consent_public(part, record)])
        now = clock.now()
        others = rooms.members(part.room) - {part.id}
        if record.kind == "withdrawn":
            session.admitted.remove(str(part.id))
            session.log.left(str(part.id), now)
            session.log.incident("consent_withdrawn", part.role, now)
            await rooms.save(part, session)
            rooms.send_all(part.room, others, p.PeerLeft(peer=str(part.id)))
            rooms.send(part.room, part.id, p.Ended(reason="consent_withdrawn"))
            group = rooms.bus.group(part.room)
            if group is not None:
                group.forget(part.id)
                rooms.tell_group(part.room)
        else:
            if record.modality in ("video", "audio") and record.modality != session.log.mode:
                self.switch(part, session, mode_of(record.modality), "consent_changed")
            await rooms.save(part, session)
        rooms.tell_host_lobby(part)

    # -- during the call -------------------------------------------------------------------------

    async def on_modality(self, part: Participant, msg: p.Modality) -> None:
        session = await self._require(part)
        previous = await self.rooms.consent_of(part) if part.role == "person" else None
        if previous is not None and previous.modality != msg.mode:
            # The person changing the modality is a change of consent, recorded as such.
            record = await self.rooms.store.interviews.add_consent(dataclasses.replace(
                previous, id=0, at=clock.now(), kind="changed", modality=msg.mode))
            session.log.add_consents([self.rooms.consent_public(part, record)])
        self.switch(part, session, mode_of(msg.mode), msg.reason or "asked")
        await self.rooms.save(part, session)

    async def on_fallback(self, part: Participant, msg: p.Fallback) -> None:
        rooms = self.rooms
        session = await rooms.session(part)
        if part.role == "worker" and session is None and not part.room_ref.is_group:
            session = await rooms.start(part, first_mode="phone")
            members: set[ParticipantId] = {part.id}
        elif session is None or not rooms.in_call(part):
            raise p.Refused("not_admitted", N_("You are not in the call."))
        elif part.room_ref.is_group:
            # In a group, plan B is each person's own: they go on by phone, the others by video.
            if part.role != "person":
                raise p.Refused("person_only", N_("In a group, each person can continue by "
                                                  "phone on their own."))
            session.log.participants[str(part.id)].by_phone = True
            session.log.incident("phone_fallback", part.role, clock.now())
            await rooms.save(part, session)
            self.send_phone(part, {part.id, part.host_id}, msg.reason, part.own_case.mobile)
            return
        else:
            members = set(rooms.members(part.room))
        if session.log.mode != "phone":
            now = clock.now()
            session.log.switch("phone", part.role, msg.reason or "asked", now)
            session.log.incident("phone_fallback", part.role, now)
        await rooms.save(part, session)
        self.send_phone(part, members, msg.reason, part.case.mobile if part.case else "")

    async def on_incident(self, part: Participant, msg: p.Incident) -> None:
        if msg.kind not in INCIDENTS:
            raise p.Refused("bad_field", N_("This kind of incident is not known."))
        session = await self._require(part)
        session.log.incident(msg.kind, part.role, clock.now())
        await self.rooms.save(part, session)

    async def on_end(self, part: Participant, msg: p.End) -> None:
        worker_only(part)
        session = await self.rooms.session(part)
        if session is None:
            raise p.Refused("no_session", N_("No interview is in progress."))
        reason = ("postponed" if msg.postponed else
                  "phone_finished" if msg.phone_finished else "ended_by_worker")
        await self.finish(part.room_ref, session, reason, set(self.rooms.members(part.room)),
                          actor=part.actor)

    def switch(self, part: Participant, session: InterviewSession, mode: Mode,
               reason: str) -> None:
        """Everyone in the call goes on in ``mode`` (and is told, whoever asked)."""
        if session.log.mode != mode:
            session.log.switch(mode, part.role, reason, clock.now())
        self.rooms.send_all(part.room, self.rooms.members(part.room),
                            p.Modality(mode=mode, reason=reason, from_=str(part.id)))

    def send_phone(self, part: Participant, members: set[ParticipantId], reason: str,
                   mobile: str) -> None:
        """Tell these members that it goes on by phone, with the numbers each needs: the
        person's ``mobile`` in full to the workers, its last two digits to the person."""
        digits = "".join(ch for ch in mobile if ch.isdigit())
        for member in members:
            self.rooms.send(part.room, member, p.Phone(
                worker_phone=part.room_ref.incident_phone,
                service_phone=self.rooms.config.service_phone,
                person_phone=mobile if member.is_worker else "", person_phone_end=digits[-2:],
                plan_b=part.room_ref.plan_b, reason=reason))

    async def _require(self, part: Participant) -> InterviewSession:
        session = await self.rooms.session(part)
        if session is None or not self.rooms.in_call(part):
            raise p.Refused("not_admitted", N_("You are not in the call."))
        return session

    # -- the end --------------------------------------------------------------------------------

    async def finish(self, room: RoomRef, session: InterviewSession, reason: str,
                     members: set[ParticipantId] | None = None, actor: str = "system",
                     at: dt.datetime | None = None) -> bool:
        """End a session (now, or ``at``) and write its log to the case record(s), once."""
        store = self.rooms.store
        end = at or clock.now()
        session.ended_at = end
        session.log.finish(end, reason, session.started_at)
        async with store.atomic():  # the end and the log reach the record(s) together
            if not await store.interviews.finish(session):
                return False
            await write_records(store, room, session, reason, actor)
        group = self.rooms.bus.group(room.public_id)
        if group is not None:  # what the call shared ends with it; the timers too
            group.end_session()
        self.rooms.bus.cancel_timers(room.public_id)
        self.rooms.bus.set_call(room.public_id, None)
        self.rooms.send_all(room.public_id, members or set(), p.Ended(reason=reason))
        log.info("session %s of room %s ended (%s)", session.id, room.public_id, reason)
        return True

    async def sweep(self) -> int:
        """End the sessions whose host left ``session_end_minutes`` ago and did not come back.

        The host's leaving is what ends a session: a person whose page is still open is told
        that the interview has ended (and gets the worker's number), and the log reaches the case
        record with the time the host left as its end. A session everybody left ends the same
        way, at the time the last one left."""
        ended = 0
        rooms = self.rooms
        for session in await rooms.store.interviews.all_active():
            room = await rooms.room_of(session)
            if room is None or not self._host_gone(room, session):
                continue
            async with rooms.locks.hold(room.public_id):  # decide again, under the lock
                current = await rooms.store.interviews.active_in(room)
                if current is None or current.id != session.id:
                    continue
                since = self._host_gone(room, current)
                if since is None:
                    continue
                present = rooms.bus.present(room.public_id)
                members = {ParticipantId.parse(a) for a in current.admitted} & present
                reason = "worker_left" if members else "abandoned"
                ended += await self.finish(room, current, reason, members, at=since)
        return ended

    def _host_gone(self, room: RoomRef, session: InterviewSession) -> dt.datetime | None:
        """When the host left, if that was ``session_end_minutes`` ago or more; else None."""
        if self.rooms.bus.is_present(room.public_id, ParticipantId.worker(room.host_id)):
            return None
        since = dt.datetime.fromisoformat(session.log.worker_left or session.log.last_seen
                                          or session.started_at.isoformat())
        limit = dt.timedelta(minutes=self.rooms.config.session_end_minutes)
        return since if clock.now() - since >= limit else None
