"""The waiting room: consent first, then waiting, and nobody let in but by the host's own act.

- the person consents (modality, others present) before anything else, and may change or stop;
- nobody is ever admitted automatically: only the host's ``admit`` lets a waiting browser in, and
  its access (a link revoked, replaced, expired...) is checked again at that very moment;
- before admission nothing is forwarded to or from that browser;
- in a group, the person also accepts the group's rule and the others' presence, and the host (or
  the technical helper) may let everyone waiting in at once.
"""

from __future__ import annotations

from server.base import clock
from server.domain import protocol as p
from server.domain.consent import consent_hashes
from server.domain.ids import ParticipantId
from server.domain.models import N_, ConsentRecord
from server.domain.session_log import Readiness
from server.live.bus import WaitingEntry
from server.services.call import Call
from server.services.participants import Participant, clean_text, worker_only
from server.services.rooms import Rooms
from server.services.staff import may_admit_and_mute


class WaitingRoom:
    """Consent, the readiness checklist, waiting, admission and refusal."""

    def __init__(self, rooms: Rooms, call: Call) -> None:
        self.rooms = rooms
        self.call = call

    async def on_consent(self, part: Participant, msg: p.Consent) -> None:
        if part.role != "person" or part.guest is None:
            raise p.Refused("person_only", N_("Only the person gives their consent."))
        if part.room_ref.is_group and msg.modality != "none":
            _group_consent(msg)
        language = consent_hashes().get(msg.text_hash)
        if language is None:
            raise p.Refused("unknown_consent_text",
                            N_("This consent text is not known. Please reload the page."))
        previous = await self.rooms.consent_of(part)
        kind = ("withdrawn" if msg.modality == "none" else
                "given" if previous is None else "changed")
        record = await self.rooms.store.interviews.add_consent(ConsentRecord(
            id=0, appointment_id=part.own_appointment.id, guest_browser_id=part.guest.id,
            at=clock.now(), kind=kind, modality=msg.modality, audio_fallback=msg.audio_fallback,
            others_present=msg.others_present, others=clean_text(msg.others)[:500],
            language=language, text_hash=msg.text_hash))
        if self.rooms.in_call(part):
            await self.call.consent_changed(part, record)
        elif kind == "withdrawn":
            self.rooms.bus.clear_waiting(part.room, part.id)
            self.rooms.send(part.room, part.id, p.Ended(reason="consent_withdrawn"))
            self.rooms.tell_host_lobby(part)
        else:
            await self.wait(part)

    async def on_ready(self, part: Participant, msg: p.Ready) -> None:
        worker_only(part)
        readiness = Readiness(msg.quiet, msg.confidential, msg.headset, clock.now().isoformat())
        self.rooms.bus.set_readiness(part.room, readiness)
        session = await self.rooms.session(part)
        if session is not None:
            session.log.readiness = readiness
            await self.rooms.save(part, session)

    async def on_admit(self, part: Participant, msg: p.Admit) -> None:
        may_admit_and_mute(self.rooms, part)
        browser = _browser(msg.participant)
        if not await self._admit(part, browser):
            raise p.Refused("access_ended", N_("This person's link no longer works."))

    async def on_admit_all(self, part: Participant, msg: p.AdmitAll) -> None:
        """Everyone waiting and connected, in the order they arrived (one admission each)."""
        may_admit_and_mute(self.rooms, part)
        present = self.rooms.bus.present(part.room)
        waiting = sorted(((entry.since, browser) for browser, entry
                          in self.rooms.bus.waiting(part.room).items() if browser in present))
        if not waiting:
            raise p.Refused("not_waiting", N_("Nobody is waiting."))
        for _, browser in waiting:
            await self._admit(part, browser)

    async def _admit(self, part: Participant, browser: ParticipantId) -> bool:
        """Let one waiting browser in; False (and cut off) if its link no longer works."""
        rooms, room = self.rooms, part.room
        entry = rooms.bus.waiting(room).get(browser)
        connection = rooms.bus.connection(room, browser)
        if entry is None or connection is None:
            raise p.Refused("not_waiting", N_("This person is no longer waiting."))
        if not await rooms.access.allowed(room, connection.credential):
            # The link was revoked, replaced or has expired since they arrived: not let in.
            rooms.bus.clear_waiting(room, browser)
            await rooms.access.cut_off(room, connection, entry.case_id or None)
            rooms.tell_host_lobby(part)
            return False
        await self.call.admit(part, browser, entry)
        rooms.bus.clear_waiting(room, browser)
        rooms.tell_host_lobby(part)
        return True

    async def on_decline(self, part: Participant, msg: p.Decline) -> None:
        worker_only(part)
        browser = _browser(msg.participant)
        if browser not in self.rooms.bus.waiting(part.room) or not browser.is_browser:
            raise p.Refused("not_waiting", N_("This person is no longer waiting."))
        entry = self.rooms.bus.waiting(part.room)[browser]
        await self.rooms.store.interviews.decline_browser(browser.number)
        self.rooms.bus.clear_waiting(part.room, browser)
        self.rooms.send(part.room, browser, p.Declined(phone=part.room_ref.incident_phone))
        self.rooms.bus.close(part.room, browser)
        await self.rooms.store.audit.record(part.actor, "decline_browser", "ok",
                                            case_id=entry.case_id or None, target=str(browser))
        self.rooms.tell_host_lobby(part)

    async def wait(self, part: Participant) -> None:
        """``part`` (who consented) waits to be let in; the host's lobby shows them."""
        consent = await self.rooms.consent_of(part)
        assert consent is not None and part.guest is not None
        waiting = self.rooms.bus.waiting(part.room).get(part.id)
        since = waiting.since if waiting else clock.now().isoformat()
        appointment = part.own_appointment
        tests = [t for t in await self.rooms.store.interviews.tests(appointment.id)
                 if t["participant"] == str(part.id)]
        self.rooms.bus.set_waiting(part.room, part.id, WaitingEntry(
            since=since, name=part.name, browser=part.guest.browser, device=part.guest.device,
            test=tests[-1]["recommendation"] if tests else None,
            consent={"modality": consent.modality, "audio_fallback": consent.audio_fallback,
                     "others_present": consent.others_present, "others": consent.others},
            appointment_id=appointment.id, case_id=appointment.case_id))
        present = self.rooms.bus.is_present(part.room, part.host_id)
        self.rooms.send(part.room, part.id, p.Waiting(since=since, worker_present=present))
        self.rooms.tell_host_lobby(part)

    def tell_waiting(self, part: Participant, host_present: bool) -> None:
        """Everyone waiting learns whether the host is connected."""
        for browser, entry in self.rooms.bus.waiting(part.room).items():
            self.rooms.send(part.room, browser, p.Waiting(since=entry.since,
                                                          worker_present=host_present))


def _group_consent(msg: p.Consent) -> None:
    """In a group, consent also accepts the group's rule and the others' presence."""
    if not msg.rule_accepted:
        raise p.Refused("rule_not_accepted", N_(
            "Please accept the group's rule: what is said in the group stays in the group."))
    if not msg.others_accepted:
        raise p.Refused("others_not_accepted", N_(
            "Please accept that other people take part in the group."))


def _browser(text: str) -> ParticipantId:
    try:
        return ParticipantId.parse(text)
    except ValueError:
        raise p.Refused("not_waiting", N_("This person is no longer waiting.")) from None
