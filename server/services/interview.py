"""A live interview: consent, the waiting room, admission, the call, plan B by phone, the log.

The rules, whatever the transport:
- the person consents (modality, others present) before anything else, and may change or stop;
- nobody is ever admitted automatically: only the worker's ``admit`` lets a waiting browser in;
- before admission the server forwards nothing to or from that browser (no offer, candidate,
  chat or participant list);
- the session's log (times, modality timeline, consents, participants, incidents) goes to the case
  record when the session ends, whether or not the worker fills in the closing form. Never media,
  chat content or IP addresses.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
import unicodedata
from typing import Any

from server.base import clock
from server.base.settings import Config
from server.domain import protocol as p
from server.domain.consent import consent_hashes
from server.domain.models import (
    N_,
    Appointment,
    Case,
    ConsentRecord,
    GuestBrowser,
    InterviewSession,
    Worker,
)
from server.live.bus import Connection, Credential, LiveBus
from server.media.turn import ice_servers, relay_only
from server.services.live_access import LiveAccess
from server.storage.repositories import Store

log = logging.getLogger("proxima.interview")

INCIDENTS = ("reconnected", "ice_restart", "poor_quality", "connection_lost", "page_reloaded",
             "no_media")


@dataclasses.dataclass
class Participant:
    """Who is on the other end of one WebSocket."""

    id: str  # "w:<worker id>" or "g:<guest browser id>"
    role: str  # "worker" or "person"
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


class Refused(Exception):
    """A message that is valid but not allowed now; becomes an ``error`` to the sender.

    ``message`` is a catalog id (``N_("...")``): the signalling edge translates it into the
    reader's language."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _actor(part: Participant) -> str:
    """The audit log's name for who acts: the logged-in worker, or the person's browser."""
    if part.credential.worker_id is not None:
        return f"worker:{part.credential.worker_id}"
    return f"guest:{part.credential.guest_browser_id}"


def _now() -> str:
    return clock.now().isoformat()


def clean_text(text: str) -> str:
    """Chat text without control characters (newlines kept); shown with textContent anyway."""
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C").strip()


class InterviewService:
    """Handles what participants say, through the bus and the store."""

    def __init__(self, store: Store, bus: LiveBus, config: Config, access: LiveAccess) -> None:
        self.store = store
        self.bus = bus
        self.config = config
        self.access = access
        self._ready: dict[str, dict[str, Any]] = {}
        self._names: dict[str, dict[str, str]] = {}
        # One participant's message at a time per appointment: the session log is read, changed
        # and written back, and two reconnections at once must not lose each other's entries.
        self._locks: dict[str, asyncio.Lock] = collections.defaultdict(asyncio.Lock)

    # -- sending ------------------------------------------------------------------------------

    def send(self, room: str, to: str, msg: p.Message) -> bool:
        return self.bus.deliver(room, to, p.dump(msg))

    async def _in_call(self, part: Participant) -> tuple[InterviewSession | None, set[str]]:
        """The active session and everyone in the call (the worker plus admitted browsers)."""
        session = await self.store.interviews.active(part.appointment.id)
        if session is None:
            return None, set()
        return session, {f"w:{part.host.id}", *session.admitted}

    async def _require_call(self, part: Participant) -> tuple[InterviewSession, set[str]]:
        session, members = await self._in_call(part)
        if session is None or part.id not in members:
            raise Refused("not_admitted", N_("You are not in the call."))
        return session, members

    def _lobby(self, part: Participant, session: InterviewSession | None) -> p.Lobby:
        waiting = [{"id": pid, **info} for pid, info in self.bus.waiting(part.room).items()
                   if pid in self.bus.present(part.room)]
        admitted = [{"id": pid, "name": self._names.get(part.room, {}).get(pid, ""),
                     "connected": pid in self.bus.present(part.room)}
                    for pid in (session.admitted if session else [])]
        return p.Lobby(waiting=waiting, admitted=admitted)

    async def _tell_worker_lobby(self, part: Participant) -> None:
        session = await self.store.interviews.active(part.appointment.id)
        self.send(part.room, f"w:{part.host.id}", self._lobby(part, session))

    # -- joining and leaving ------------------------------------------------------------------

    async def join(self, part: Participant, connection: Connection, resume: bool) -> None:
        """A participant's hello: attach its connection and welcome it with its state.

        Attaching under the room's lock makes ``welcome`` the first message it receives."""
        async with self._locks[part.room]:
            self.bus.attach(part.room, connection)
            await self._join(part, resume)

    async def _join(self, part: Participant, resume: bool) -> None:
        self._names.setdefault(part.room, {})[part.id] = part.name
        session, members = await self._in_call(part)
        in_call = session is not None and part.id in members and (
            part.role == "worker" or part.id in session.admitted)
        if part.role == "worker":
            state = "in_call" if session is not None else "ready"
        elif in_call:
            state = "in_call"
        elif await self._consent_of(part) is not None:
            state = "waiting"
        else:
            state = "consent"
        self.send(part.room, part.id, p.Welcome(
            id=part.id, role=part.role, name=part.name, ice_servers=ice_servers(self.config),
            relay_only=relay_only(self.config), state=state,
            session=self._session_view(session)))
        if session is not None and in_call:
            self._log_join(session, part)
            if part.role == "worker":
                session.log.pop("worker_left", None)  # back in time: the session goes on
            if resume:
                self._incident(session, part, "reconnected")
            await self.store.interviews.save(session)
            if not resume:  # a fresh page: both sides start a new peer connection
                for other in members - {part.id}:
                    if other in self.bus.present(part.room):
                        polite = part.role == "person"
                        self.send(part.room, part.id, p.Admitted(
                            peer=other, peer_name=self._names.get(part.room, {}).get(other, ""),
                            polite=polite, modality=self._mode(session)))
                        self.send(part.room, other, p.Admitted(
                            peer=part.id, peer_name=part.name, polite=not polite,
                            modality=self._mode(session)))
        if part.role == "worker":
            self.send(part.room, part.id, self._lobby(part, session))
            for pid in self.bus.waiting(part.room):
                self.send(part.room, pid, p.Waiting(
                    since=self.bus.waiting(part.room)[pid]["since"], worker_present=True))
        elif state == "waiting":
            await self._wait(part)

    async def leave(self, part: Participant, connection: Connection) -> None:
        """A participant's WebSocket closed (it may come back)."""
        async with self._locks[part.room]:
            if self.bus.detach(part.room, connection):
                await self._leave(part)

    async def _leave(self, part: Participant) -> None:
        self.bus.clear_waiting(part.room, part.id)
        session, members = await self._in_call(part)
        if session is not None and part.id in members:
            self._log_leave(session, part)
            session.log["last_seen"] = _now()
            if part.role == "worker":  # the session ends if they do not come back in time
                session.log["worker_left"] = session.log["last_seen"]
            await self.store.interviews.save(session)
            for other in members - {part.id}:
                self.send(part.room, other, p.PeerLeft(peer=part.id))
        if part.role == "worker":
            for pid, info in self.bus.waiting(part.room).items():
                self.send(part.room, pid, p.Waiting(since=info["since"], worker_present=False))
        else:
            await self._tell_worker_lobby(part)

    # -- messages -----------------------------------------------------------------------------

    async def handle(self, part: Participant, msg: p.Message) -> None:
        """One parsed message from ``part``."""
        handler = getattr(self, "_on_" + msg.type, None)
        if handler is None:
            raise Refused("unexpected", N_("This message is not expected here."))
        async with self._locks[part.room]:
            await handler(part, msg)

    async def _on_ping(self, part: Participant, msg: p.Ping) -> None:
        self.send(part.room, part.id, p.Pong())

    async def _on_consent(self, part: Participant, msg: p.Consent) -> None:
        if part.role != "person" or part.guest is None:
            raise Refused("person_only", N_("Only the person gives their consent."))
        language = consent_hashes().get(msg.text_hash)
        if language is None:
            raise Refused("unknown_consent_text",
                          N_("This consent text is not known. Please reload the page."))
        previous = await self._consent_of(part)
        kind = ("withdrawn" if msg.modality == "none" else
                "given" if previous is None else "changed")
        record = await self.store.interviews.add_consent(ConsentRecord(
            id=0, appointment_id=part.appointment.id, guest_browser_id=part.guest.id,
            at=clock.now(), kind=kind, modality=msg.modality, audio_fallback=msg.audio_fallback,
            others_present=msg.others_present, others=clean_text(msg.others)[:500],
            language=language, text_hash=msg.text_hash))
        session, members = await self._in_call(part)
        if session is not None and part.id in session.admitted:
            session.log.setdefault("consents", []).append(record.public())
            if kind == "withdrawn":
                session.admitted.remove(part.id)
                self._log_leave(session, part)
                self._incident(session, part, "consent_withdrawn")
                await self.store.interviews.save(session)
                for other in members - {part.id}:
                    self.send(part.room, other, p.PeerLeft(peer=part.id))
                self.send(part.room, part.id, p.Ended(reason="consent_withdrawn"))
                await self._tell_worker_lobby(part)
                return
            if msg.modality in ("video", "audio") and msg.modality != self._mode(session):
                await self._switch(part, session, members, msg.modality, "consent_changed")
            await self.store.interviews.save(session)
            await self._tell_worker_lobby(part)
            return
        if kind == "withdrawn":
            self.bus.clear_waiting(part.room, part.id)
            self.send(part.room, part.id, p.Ended(reason="consent_withdrawn"))
            await self._tell_worker_lobby(part)
            return
        await self._wait(part)

    async def _on_ready(self, part: Participant, msg: p.Ready) -> None:
        self._worker_only(part)
        self._ready[part.room] = {"quiet": msg.quiet, "confidential": msg.confidential,
                                  "headset": msg.headset, "at": _now()}
        session = await self.store.interviews.active(part.appointment.id)
        if session is not None:
            session.log["readiness"] = self._ready[part.room]
            await self.store.interviews.save(session)

    async def _on_admit(self, part: Participant, msg: p.Admit) -> None:
        self._worker_only(part)
        waiting = self.bus.waiting(part.room)
        connection = self.bus.connection(part.room, msg.participant)
        if msg.participant not in waiting or connection is None:
            raise Refused("not_waiting", N_("This person is no longer waiting."))
        if not await self.access.allowed(part.room, connection.credential):
            # The link was revoked, replaced or has expired since they arrived: not let in.
            self.bus.clear_waiting(part.room, msg.participant)
            await self.access.cut_off(part.room, connection, part.appointment)
            await self._tell_worker_lobby(part)
            raise Refused("access_ended", N_("This person's link no longer works."))
        consent = waiting[msg.participant]["consent"]
        session = await self._session(part, first_mode=consent["modality"])
        if msg.participant not in session.admitted:
            session.admitted.append(msg.participant)
        guest_part = dataclasses.replace(part, id=msg.participant, role="person",
                                         name=waiting[msg.participant].get("name", ""))
        self._log_join(session, guest_part, device=waiting[msg.participant].get("device", ""))
        tests = [t for t in await self.store.interviews.tests(part.appointment.id)
                 if t["participant"] == msg.participant]
        if tests:
            session.log["test_result"] = {"at": tests[-1]["at"],
                                          "recommendation": tests[-1]["recommendation"],
                                          "figures": tests[-1]["figures"]}
        session.log.setdefault("consents", []).extend(
            c.public() for c in await self.store.interviews.consents(part.appointment.id)
            if f"g:{c.guest_browser_id}" == msg.participant
            and c.id not in {x["id"] for x in session.log.get("consents", [])})
        await self.store.interviews.save(session)
        await self.store.audit.record(_actor(part), "admit", "ok", case_id=part.case.id,
                                      target=msg.participant)
        self.bus.clear_waiting(part.room, msg.participant)
        mode = self._mode(session)
        if consent["modality"] == "phone":
            # The person chose a phone call: letting them in means calling them.
            if mode != "phone":
                self._timeline(session, "phone", guest_part, "consent")
                await self.store.interviews.save(session)
            self._send_phone(part, {part.id, msg.participant}, "consent")
            await self._tell_worker_lobby(part)
            return
        self.send(part.room, msg.participant, p.Admitted(
            peer=part.id, peer_name=part.host.first_name, polite=True, modality=mode))
        self.send(part.room, part.id, p.Admitted(
            peer=msg.participant, peer_name=guest_part.name, polite=False, modality=mode))
        await self._tell_worker_lobby(part)

    async def _on_decline(self, part: Participant, msg: p.Decline) -> None:
        self._worker_only(part)
        if msg.participant not in self.bus.waiting(part.room) or not msg.participant.startswith("g:"):
            raise Refused("not_waiting", N_("This person is no longer waiting."))
        await self.store.interviews.decline_browser(int(msg.participant[2:]))
        self.bus.clear_waiting(part.room, msg.participant)
        self.send(part.room, msg.participant,
                  p.Declined(phone=part.appointment.incident_phone))
        self.bus.close(part.room, msg.participant)
        await self.store.audit.record(_actor(part), "decline_browser", "ok",
                                      case_id=part.case.id, target=msg.participant)
        await self._tell_worker_lobby(part)

    async def _on_signal(self, part: Participant, msg: p.Signal) -> None:
        session, members = await self._require_call(part)
        if msg.to not in members or msg.to == part.id:
            raise Refused("unknown_peer", N_("This participant is not in the call."))
        self.send(part.room, msg.to, dataclasses.replace(msg, from_=part.id))

    async def _on_chat(self, part: Participant, msg: p.Chat) -> None:
        session, members = await self._require_call(part)
        text = clean_text(msg.text)
        if not text:
            raise Refused("bad_chat", N_("The message is empty."))
        out = p.Chat(text=text, from_=part.id, name=part.name, at=_now())
        for member in members:
            self.send(part.room, member, out)

    async def _on_media(self, part: Participant, msg: p.MediaState) -> None:
        session, members = await self._require_call(part)
        for member in members - {part.id}:
            self.send(part.room, member, dataclasses.replace(msg, from_=part.id))

    async def _on_modality(self, part: Participant, msg: p.Modality) -> None:
        session, members = await self._require_call(part)
        previous = await self._consent_of(part) if part.role == "person" else None
        if previous is not None and previous.modality != msg.mode:
            # The person changing the modality is a change of consent, recorded as such.
            record = await self.store.interviews.add_consent(dataclasses.replace(
                previous, id=0, at=clock.now(), kind="changed", modality=msg.mode))
            session.log.setdefault("consents", []).append(record.public())
        await self._switch(part, session, members, msg.mode, msg.reason or "asked")
        await self.store.interviews.save(session)

    async def _on_fallback(self, part: Participant, msg: p.Fallback) -> None:
        session, members = await self._in_call(part)
        if part.role == "worker" and session is None:
            session = await self._session(part, first_mode="phone")
            members = {part.id}
        elif session is None or part.id not in members:
            raise Refused("not_admitted", N_("You are not in the call."))
        if self._mode(session) != "phone":
            self._timeline(session, "phone", part, msg.reason or "asked")
            self._incident(session, part, "phone_fallback")
        await self.store.interviews.save(session)
        self._send_phone(part, members, msg.reason)

    def _send_phone(self, part: Participant, members: set[str], reason: str) -> None:
        """Tell everyone in the call that it continues by phone, with the numbers each needs."""
        mobile = part.case.mobile
        digits = "".join(ch for ch in mobile if ch.isdigit())
        common = dict(worker_phone=part.appointment.incident_phone,
                      service_phone=self.config.service_phone, person_phone_end=digits[-2:],
                      plan_b=part.appointment.plan_b, reason=reason)
        for member in members:
            is_worker = member.startswith("w:")
            self.send(part.room, member, p.Phone(person_phone=mobile if is_worker else "",
                                                 **common))

    async def _on_incident(self, part: Participant, msg: p.Incident) -> None:
        if msg.kind not in INCIDENTS:
            raise Refused("bad_field", N_("This kind of incident is not known."))
        session, _ = await self._require_call(part)
        self._incident(session, part, msg.kind)
        await self.store.interviews.save(session)

    async def _on_end(self, part: Participant, msg: p.End) -> None:
        self._worker_only(part)
        session, members = await self._in_call(part)
        if session is None:
            raise Refused("no_session", N_("No interview is in progress."))
        await self.finish(part.appointment, session, "phone_finished" if msg.phone_finished
                          else "ended_by_worker", members, actor=_actor(part))

    # -- the session --------------------------------------------------------------------------

    async def finish(self, appointment: Appointment, session: InterviewSession, reason: str,
                     members: set[str] | None = None, actor: str = "system",
                     at: dt.datetime | None = None) -> bool:
        """End a session (now, or ``at``) and write its log to the case record, once."""
        now = at or clock.now()
        session.ended_at = now
        for entry in session.log.get("participants", {}).values():
            for stay in entry["stays"]:
                stay.setdefault("left", now.isoformat())
        session.log.update(ended_at=now.isoformat(), end_reason=reason,
                           duration_seconds=int((now - session.started_at).total_seconds()))
        timeline = session.log.get("timeline", [])
        if timeline:
            timeline[-1].setdefault("until", now.isoformat())
        async with self.store.atomic():  # the end and the log reach the record together
            if not await self.store.interviews.finish(session):
                return False
            await self.store.entries.add(appointment.case_id, "session_log", session.log,
                                         appointment.id)
            await self.store.audit.record(actor, "end_interview", "ok",
                                          case_id=appointment.case_id, target=reason)
        room = appointment.public_id
        for member in members or set():
            self.send(room, member, p.Ended(reason=reason))
        log.info("session %s of appointment %s ended (%s)", session.id, appointment.id, reason)
        return True

    async def sweep(self) -> int:
        """End the sessions whose worker left ``session_end_minutes`` ago and did not come back.

        The worker's leaving is what ends a session: a person whose page is still open is told
        that the interview has ended (and gets the worker's number), and the log reaches the case
        record with the time the worker left as its end. A session everybody left ends the same
        way, at the time the last one left."""
        ended = 0
        for session in await self.store.interviews.all_active():
            appointment = await self.store.appointments.get(session.appointment_id)
            if appointment is None or not self._worker_gone(appointment, session):
                continue
            async with self._locks[appointment.public_id]:  # decide again, under the lock
                current = await self.store.interviews.active(appointment.id)
                if current is None or current.id != session.id:
                    continue
                since = self._worker_gone(appointment, current)
                if since is None:
                    continue
                members = set(current.admitted) & self.bus.present(appointment.public_id)
                reason = "worker_left" if members else "abandoned"
                ended += await self.finish(appointment, current, reason, members, at=since)
        return ended

    def _worker_gone(self, appointment: Appointment, session: InterviewSession,
                     ) -> dt.datetime | None:
        """When the worker left, if that was ``session_end_minutes`` ago or more; else None."""
        if f"w:{appointment.worker_id}" in self.bus.present(appointment.public_id):
            return None
        since = dt.datetime.fromisoformat(session.log.get("worker_left") or session.log.get(
            "last_seen") or session.started_at.isoformat())
        if clock.now() - since < dt.timedelta(minutes=self.config.session_end_minutes):
            return None
        return since

    async def _session(self, part: Participant, first_mode: str) -> InterviewSession:
        session = await self.store.interviews.start(part.appointment.id, {
            "started_at": _now(), "timeline": [], "participants": {}, "consents": [],
            "incidents": [], "readiness": self._ready.get(part.room), "test_result": None})
        if not session.log["timeline"]:
            mode = first_mode if first_mode in ("video", "audio", "phone") else "video"
            self._timeline(session, mode, part, "start")
            self._log_join(session, part)
        return session

    def _mode(self, session: InterviewSession) -> str:
        timeline = session.log.get("timeline", [])
        return timeline[-1]["mode"] if timeline else "video"

    async def _switch(self, part: Participant, session: InterviewSession, members: set[str],
                      mode: str, reason: str) -> None:
        if self._mode(session) != mode:
            self._timeline(session, mode, part, reason)
        for member in members:
            self.send(part.room, member, p.Modality(mode=mode, reason=reason, from_=part.id))

    def _timeline(self, session: InterviewSession, mode: str, part: Participant,
                  reason: str) -> None:
        timeline = session.log.setdefault("timeline", [])
        now = _now()
        if timeline:
            timeline[-1]["until"] = now
        timeline.append({"at": now, "mode": mode, "by": part.role, "reason": reason})

    def _incident(self, session: InterviewSession, part: Participant, kind: str) -> None:
        session.log.setdefault("incidents", []).append(
            {"at": _now(), "kind": kind, "by": part.role})

    def _log_join(self, session: InterviewSession, part: Participant, device: str = "") -> None:
        entry = session.log.setdefault("participants", {}).setdefault(
            part.id, {"name": part.name, "role": part.role, "stays": []})
        if device:
            entry["device"] = device
        stays = entry["stays"]
        if not stays or "left" in stays[-1]:
            stays.append({"joined": _now()})

    def _log_leave(self, session: InterviewSession, part: Participant) -> None:
        entry = session.log.get("participants", {}).get(part.id)
        if entry and entry["stays"] and "left" not in entry["stays"][-1]:
            entry["stays"][-1]["left"] = _now()

    def _session_view(self, session: InterviewSession | None) -> dict[str, Any]:
        if session is None:
            return {}
        return {"started_at": session.started_at.isoformat(), "mode": self._mode(session)}

    # -- the waiting room ---------------------------------------------------------------------

    async def _consent_of(self, part: Participant) -> ConsentRecord | None:
        if part.guest is None:
            return None
        mine = [c for c in await self.store.interviews.consents(part.appointment.id)
                if c.guest_browser_id == part.guest.id]
        return mine[-1] if mine and mine[-1].kind != "withdrawn" else None

    async def _wait(self, part: Participant) -> None:
        consent = await self._consent_of(part)
        assert consent is not None and part.guest is not None
        since = self.bus.waiting(part.room).get(part.id, {}).get("since", _now())
        tests = [t for t in await self.store.interviews.tests(part.appointment.id)
                 if t["participant"] == part.id]
        self.bus.set_waiting(part.room, part.id, {
            "since": since, "name": part.name, "browser": part.guest.browser,
            "device": part.guest.device,
            "test": tests[-1]["recommendation"] if tests else None,
            "consent": {"modality": consent.modality, "audio_fallback": consent.audio_fallback,
                        "others_present": consent.others_present, "others": consent.others}})
        worker_present = f"w:{part.host.id}" in self.bus.present(part.room)
        self.send(part.room, part.id, p.Waiting(since=since, worker_present=worker_present))
        await self._tell_worker_lobby(part)

    def _worker_only(self, part: Participant) -> None:
        if part.role != "worker":
            raise Refused("worker_only", N_("Only the worker can do this."))
